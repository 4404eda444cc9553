//! A function without arguments, returning `()`.

use std::time::Duration;

use mproc::prelude::*;

#[process]
fn tick() {}

fn main() {
    let child = tick::spawn().expect("start");
    child
        .join_timeout(Duration::from_secs(30))
        .expect("joined in time");
}
