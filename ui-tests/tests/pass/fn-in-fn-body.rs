//! A `#[process]` function declared inside another function's body, with a local type, and
//! started from there.

use std::time::Duration;

use mproc::prelude::*;

fn main() {
    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct Pair(u8, u8);

    #[process]
    fn swap(pair: Pair) -> Pair {
        Pair(pair.1, pair.0)
    }

    let child = swap::spawn(Pair(1, 2)).expect("start");
    let got = child
        .join_timeout(Duration::from_secs(30))
        .expect("joined in time");
    assert_eq!(got, Pair(2, 1));
}
