use mproc::prelude::*;
use mproc::topology::process;

#[process]
fn relay(_a: u8, _b: u8) {}

fn main() {
    let _ = process! {
        queue jobs: Queue<u64>;
        queue jobs: Queue<String>;
        relay: relay(jobs.reader(), jobs.writer());
    };
}
