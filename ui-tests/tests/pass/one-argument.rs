//! A function of one argument.

use std::time::Duration;

use mproc::prelude::*;

#[process]
fn square(x: u64) -> u64 {
    x * x
}

fn main() {
    let child = square::spawn(12).expect("start");
    let got = child
        .join_timeout(Duration::from_secs(30))
        .expect("joined in time");
    assert_eq!(got, 144);
}
