//! `Process::new` takes a closure that captures nothing.

use std::time::Duration;

use mproc::Process;

fn main() {
    let child = Process::new(|(a, b): (u32, u32)| a * b, (6, 7))
        .start()
        .expect("start");
    let got = child
        .join_timeout(Duration::from_secs(30))
        .expect("joined in time");
    assert_eq!(got, 42);
}
