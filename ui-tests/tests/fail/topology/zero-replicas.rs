use mproc::prelude::*;
use mproc::topology::process;

#[process]
fn produce(_jobs: u8) {}

#[process]
fn consume(_jobs: u8) {}

fn main() {
    let _ = process! {
        queue jobs: Queue<u64>;
        producer: produce(jobs.writer()) * 0;
        consumer: consume(jobs.reader());
    };
}
