//! `mut` bindings: the child owns its arguments and may change them.

use std::time::Duration;

use mproc::prelude::*;

#[process]
fn sorted(mut values: Vec<i32>, mut extra: i32) -> Vec<i32> {
    extra *= 2;
    values.push(extra);
    values.sort_unstable();
    values
}

fn main() {
    let child = sorted::spawn(vec![3, 1, 2], 5).expect("start");
    let got = child
        .join_timeout(Duration::from_secs(30))
        .expect("joined in time");
    assert_eq!(got, [1, 2, 3, 10]);
}
