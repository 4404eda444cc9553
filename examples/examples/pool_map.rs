//! Seed: `Pool.map` and `Pool.map_async` — four workers apply a function to a list; `map` blocks
//! until every result is in, `map_async` returns at once and `get()` waits later.
//!
//! ```text
//! $ cargo run --example pool_map
//! i=(1, 2), pid=8001
//! i=(1, 2), pid=8002
//! map: [(1, 2), (1, 2)]
//! main process            (map_async did not block)
//! i=(1, 2), pid=8003
//! i=(1, 2), pid=8004
//! map_async: [(1, 2), (1, 2)]
//! ```

use std::time::Duration;

use mproc::prelude::*;

/// As in the seed, the task takes one argument: the tuple itself.
fn fun(n: (i32, i32)) -> (i32, i32) {
    println!("i={n:?}, pid={}", std::process::id());
    std::thread::sleep(Duration::from_millis(100)); // simulated work, as in the seed
    n
}

fn main() -> mproc::Result<()> {
    let pool = Pool::new(4)?;
    let result = pool.map(fun, [(1, 2), (1, 2)]).chunksize(1).run()?;
    println!("map: {result:?}");

    let pending = pool.map_async(fun, [(1, 2), (1, 2)]).chunksize(1).run()?;
    println!("main process");
    let result = pending.get()?;
    println!("map_async: {result:?}");
    assert_eq!(result, [(1, 2), (1, 2)]);

    pool.close();
    pool.join()?;
    Ok(())
}
