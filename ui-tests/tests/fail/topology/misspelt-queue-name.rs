use mproc::prelude::*;
use mproc::topology::process;

#[process]
fn produce(_jobs: u8) {}

#[process]
fn drain(_jobs: u8) {}

fn main() {
    let _ = process! {
        queue jobs: Queue<u64>;
        producer: produce(jobs.writer());
        drainer: drain(jbos);
    };
}
