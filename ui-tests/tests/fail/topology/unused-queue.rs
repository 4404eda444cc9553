use mproc::prelude::*;
use mproc::topology::process;

#[process]
fn tick() {}

fn main() {
    let _ = process! {
        queue jobs: JoinableQueue<u64>;
        ticker: tick();
    };
}
