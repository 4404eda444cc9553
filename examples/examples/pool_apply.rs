//! Seed: `Pool.apply` vs `Pool.apply_async` — five workers, ten tasks. `apply` waits for each
//! task, so they run one after another; `apply_async` submits them all, and five run at once.
//!
//! ```text
//! $ cargo run --example pool_apply
//! -- apply: one at a time
//! i=0, pid=7001
//! i=1, pid=7002
//! ...                     (ten lines, in order)
//! apply took ~1.0 s
//! -- apply_async: five at a time
//! main process
//! i=0, pid=7001
//! i=1, pid=7003
//! ...                     (ten lines, five workers interleaving)
//! apply_async took ~0.2 s, results [0, 1, 4, 9, 16, 25, 36, 49, 64, 81]
//! ```

use std::time::{Duration, Instant};

use mproc::prelude::*;

fn func(n: u64) -> u64 {
    println!("i={n}, pid={}", std::process::id());
    std::thread::sleep(Duration::from_millis(100)); // simulated work, as in the seed
    n * n
}

fn main() -> mproc::Result<()> {
    let pool = Pool::new(5)?;

    println!("-- apply: one at a time");
    let start = Instant::now();
    for i in 0..10 {
        pool.apply(func, i)?; // blocks until this task is done
    }
    println!("apply took {:.1?}", start.elapsed());

    println!("-- apply_async: five at a time");
    let start = Instant::now();
    let results: Vec<AsyncResult<u64>> = (0..10)
        .map(|i| pool.apply_async(func, i))
        .collect::<Result<_, _>>()?;
    println!("main process"); // printed before the tasks finish: nothing waited yet
    let values: Vec<u64> = results
        .iter()
        .map(AsyncResult::get)
        .collect::<Result<_, _>>()?;
    println!(
        "apply_async took {:.1?}, results {values:?}",
        start.elapsed()
    );
    assert_eq!(values, (0..10).map(|i| i * i).collect::<Vec<_>>());

    pool.close();
    pool.join()?;
    Ok(())
}
