//! Destructuring patterns in argument position: tuples, structs, wildcards.

use std::time::Duration;

use mproc::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Point {
    x: i32,
    y: i32,
}

#[process]
fn manhattan((dx, dy): (i32, i32), Point { x, y }: Point, _: String) -> i32 {
    (x + dx).abs() + (y + dy).abs()
}

fn main() {
    let child = manhattan::spawn((1, 2), Point { x: 3, y: -10 }, "ignored".into()).expect("start");
    let got = child
        .join_timeout(Duration::from_secs(30))
        .expect("joined in time");
    assert_eq!(got, 12);
}
