//! Seed 001: two processes increment a shared `Value` under a `Lock`; the total is exact.
//!
//! Then the pitfall Python documents: `v.value += 1` is a read and a write, not atomic, even
//! though `Value` "has a lock" (4 × 20,000 increments gave 31,740 in Python). mproc's
//! `fetch_add` and `update` hold the value's lock for the whole read-modify-write.
//!
//! `cargo run --release -p examples --example 001_value_lock_counter` prints:
//!
//! ```text
//! worker acquired lock
//! worker updated value: 1
//! worker acquired lock
//! worker updated value: 2
//! final value: 2
//! 4 processes x 20000 fetch_add: 80000 (exact)
//! ```

#![allow(
    clippy::needless_pass_by_value,
    reason = "`#[process]` functions receive their arguments by value, deserialized"
)]

use mproc::prelude::*;

#[process]
fn worker(lock: Lock, data: Value<i32>) {
    let _held = lock.lock().expect("no worker dies holding the lock");
    println!("worker acquired lock");
    data.set(data.get() + 1);
    println!("worker updated value: {}", data.get());
}

#[process]
fn count(data: Value<u64>, n: u64) {
    for _ in 0..n {
        data.fetch_add(1);
    }
}

fn main() -> mproc::Result<()> {
    let lock = Lock::new()?;
    let data = Value::new(0i32)?;
    let p1 = worker::spawn(lock.clone(), data.clone())?;
    let p2 = worker::spawn(lock.clone(), data.clone())?;
    p1.join()?;
    p2.join()?;
    println!("final value: {}", data.get());
    assert_eq!(data.get(), 2);

    let total = Value::new(0u64)?;
    let counters = (0..4)
        .map(|_| count::spawn(total.clone(), 20_000))
        .collect::<Result<Vec<_>, _>>()?;
    for c in counters {
        c.join()?;
    }
    println!("4 processes x 20000 fetch_add: {} (exact)", total.get());
    assert_eq!(total.get(), 80_000);
    Ok(())
}
