use mproc::prelude::*;
use mproc::topology::process;

#[process]
fn relay(_jobs: u8) {}

fn main() {
    let _ = process! {
        queue jobs: Queue<u64>;
        relay: relay(jobs), daemon, daemon;
    };
}
