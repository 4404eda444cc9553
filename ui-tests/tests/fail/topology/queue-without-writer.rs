use mproc::prelude::*;
use mproc::topology::process;

#[process]
fn consume(_jobs: u8) {}

fn main() {
    let _ = process! {
        queue jobs: Queue<u64>;
        consumer: consume(jobs.reader()) * 2;
    };
}
