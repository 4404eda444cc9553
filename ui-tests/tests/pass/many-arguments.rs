//! Several arguments of different types, and the most a `#[process]` function takes (16).

use std::collections::BTreeMap;
use std::time::Duration;

use mproc::prelude::*;

#[process]
fn describe(name: String, count: u32, weights: Vec<f64>, tags: BTreeMap<String, i8>) -> String {
    let total: f64 = weights.iter().sum();
    format!("{name}:{count}:{total}:{}", tags.len())
}

#[process]
#[allow(clippy::too_many_arguments, clippy::many_single_char_names)]
fn sixteen(
    a: u8,
    b: u8,
    c: u8,
    d: u8,
    e: u8,
    f: u8,
    g: u8,
    h: u8,
    i: u8,
    j: u8,
    k: u8,
    l: u8,
    m: u8,
    n: u8,
    o: u8,
    p: u8,
) -> u32 {
    [a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p]
        .into_iter()
        .map(u32::from)
        .sum()
}

fn main() {
    let timeout = Duration::from_secs(30);
    let tags = BTreeMap::from([("x".to_string(), 1), ("y".to_string(), -1)]);
    let child = describe::spawn("job".into(), 3, vec![0.5, 1.5], tags).expect("start");
    assert_eq!(
        child.join_timeout(timeout).expect("joined in time"),
        "job:3:2:2"
    );

    let child =
        sixteen::spawn(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16).expect("start");
    assert_eq!(child.join_timeout(timeout).expect("joined in time"), 136);
}
