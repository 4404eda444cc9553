use mproc::prelude::*;
use mproc::topology::process;

#[process]
fn work(_a: u8) {}

fn main() {
    let _ = process! {
        queue jobs: SimpleQueue<u64>;
        pipe link: Pipe<u8>;
        worker: work(jobs.reader()) daemon;
        other: work(jobs.writer())
    };
}
