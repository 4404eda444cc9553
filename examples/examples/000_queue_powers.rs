//! Seed 000: "利用Queue进行进程通信的例子" — ten children each put a one-entry map `{i: i**i}`
//! on one queue, and the parent gets all ten.
//!
//! ```python
//! def num(q, i):
//!     q.put({i: i**i})
//!
//! q = Queue()
//! for i in range(10):
//!     Process(target=num, args=(q, i)).start()
//! for j in range(10):
//!     print(q.get())
//! ```
//!
//! What differs: the queue is typed (`Queue<BTreeMap<u32, u64>>`: 9**9 fits a `u64`), so a
//! child cannot put anything else; the parent's `get` has a deadline, so a child that dies
//! before putting fails the example instead of hanging it; and the parent joins its children,
//! which Python leaves to the interpreter's exit.
//!
//! `cargo run --release -p examples --example 000_queue_powers` prints (the order varies):
//!
//! ```text
//! {0: 1}
//! {2: 4}
//! {1: 1}
//! {3: 27}
//! ...
//! {9: 387420489}
//! 10 maps from 10 processes: {0: 1, 1: 1, 2: 4, 3: 27, ..., 9: 387420489}
//! ```

#![allow(
    clippy::needless_pass_by_value,
    reason = "`#[process]` functions receive their arguments by value, deserialized"
)]

use std::collections::BTreeMap;
use std::time::Duration;

use mproc::prelude::*;

/// No child takes anywhere near this long to put its map.
const PATIENCE: Duration = Duration::from_secs(10);

#[process]
fn num(q: Queue<BTreeMap<u32, u64>>, i: u32) {
    q.put(&BTreeMap::from([(i, u64::from(i).pow(i))]))
        .expect("put");
}

fn main() -> mproc::Result<()> {
    let q = Queue::new()?;
    let children = (0..10)
        .map(|i| num::spawn(q.clone(), i))
        .collect::<Result<Vec<_>, _>>()?;

    let mut all = BTreeMap::new();
    for _ in 0..10 {
        let one = q.get_timeout(PATIENCE)?;
        println!("{one:?}"); // prints as Python's dict: {3: 27}
        assert_eq!(one.len(), 1, "each child puts a one-entry map");
        all.extend(one);
    }
    for child in children {
        child.join()?;
    }

    println!("10 maps from 10 processes: {all:?}");
    let expected: BTreeMap<u32, u64> = (0..10).map(|i| (i, u64::from(i).pow(i))).collect();
    assert_eq!(all, expected);
    assert_eq!(all[&9], 387_420_489);
    assert!(q.is_empty());
    Ok(())
}
