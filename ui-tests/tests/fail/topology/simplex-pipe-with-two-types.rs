use mproc::prelude::*;
use mproc::topology::process;

#[process]
fn listen(_rx: u8) {}

#[process]
fn notify(_tx: u8) {}

fn main() {
    let _ = process! {
        pipe (rx, tx): Pipe<String, u64>, simplex;
        listener: listen(rx);
        notifier: notify(tx);
    };
}
