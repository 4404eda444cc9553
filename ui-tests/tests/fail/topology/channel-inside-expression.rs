use mproc::prelude::*;
use mproc::topology::process;

#[process]
fn produce(_jobs: Option<u8>) {}

#[process]
fn consume(_jobs: u8) {}

fn main() {
    let _ = process! {
        queue jobs: Queue<u64>;
        producer: produce(Some(jobs.writer()));
        consumer: consume(jobs.reader());
    };
}
