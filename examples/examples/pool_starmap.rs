//! Seed: `Pool.starmap` and `Pool.starmap_async` — each item is a tuple of arguments:
//! `starmap(fun, [(1, 2), (3, 4)])` calls `fun(1, 2)` and `fun(3, 4)`.
//!
//! ```text
//! $ cargo run --example pool_starmap
//! i=1, pid=10001
//! i=3, pid=10002
//! starmap: [(1, 2), (3, 4)]
//! main process
//! i=1, pid=10003
//! i=3, pid=10004
//! starmap_async: [(1, 2), (3, 4)]
//! ```

use std::time::Duration;

use mproc::prelude::*;

/// `#[pool_task]` gives it the shape `starmap` calls: one tuple `(n, k)`.
#[pool_task]
fn fun(n: i32, k: i32) -> (i32, i32) {
    println!("i={n}, pid={}", std::process::id());
    std::thread::sleep(Duration::from_millis(100)); // simulated work, as in the seed
    (n, k)
}

fn main() -> mproc::Result<()> {
    let pool = Pool::new(4)?;
    let result = pool.starmap(fun, [(1, 2), (3, 4)]).chunksize(1).run()?;
    println!("starmap: {result:?}");

    let pending = pool
        .starmap_async(fun, [(1, 2), (3, 4)])
        .chunksize(1)
        .run()?;
    println!("main process");
    let result = pending.get()?;
    println!("starmap_async: {result:?}");
    assert_eq!(result, [(1, 2), (3, 4)]);

    pool.close();
    pool.join()?;
    Ok(())
}
