//! Seed: callbacks — `apply_async` and `map_async` call back in the main process when the
//! result is ready (`callback`), or with the error when a task failed (`error_callback`).
//!
//! Callbacks run on the pool's own callback thread, so a slow one never delays the other
//! results; `join` waits for them.
//!
//! ```text
//! $ cargo run --example pool_callback
//! callback: 7 squared is 49
//! error callback: task `fn(u64) -> u64` (submitted at examples/examples/pool_callback.rs:41:10) panicked at examples/examples/pool_callback.rs:23:5: 13 is unlucky
//! got result: [[1, 2], [2, 3], [3, 4]]
//! ```

use std::sync::{Arc, Mutex};

use mproc::prelude::*;

fn square(x: u64) -> u64 {
    x * x
}

fn picky(x: u64) -> u64 {
    assert!(x != 13, "{x} is unlucky");
    x
}

fn pair(x: u64) -> [u64; 2] {
    [x, x + 1]
}

fn main() -> mproc::Result<()> {
    let pool = Pool::new(2)?;
    let called = Arc::new(Mutex::new(0));

    let count = Arc::clone(&called);
    pool.apply_async(square, 7)?.on_success(move |v| {
        println!("callback: 7 squared is {v}");
        *count.lock().unwrap() += 1;
    });
    let count = Arc::clone(&called);
    pool.apply_async(picky, 13)?.on_error(move |e| {
        println!("error callback: {e}");
        *count.lock().unwrap() += 1;
    });
    let count = Arc::clone(&called);
    pool.map_async(pair, 1..=3).run()?.on_success(move |all| {
        println!("got result: {all:?}");
        *count.lock().unwrap() += 1;
    });

    pool.close();
    pool.join()?; // also waits for the callbacks
    assert_eq!(*called.lock().unwrap(), 3);
    Ok(())
}
