use mproc::prelude::*;
use mproc::topology::process;

#[process]
fn relay(_jobs: u8, _index: usize) {}

fn main() {
    let _ = process! {
        queue jobs: Queue<u64>;
        relay[jobs]: relay(jobs, 0) * 2;
    };
}
