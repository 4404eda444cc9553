//! Pool results are futures: await them under tokio (or any executor). mproc needs no runtime:
//! the pool's thread wakes each future when its result is in. `as_completed` gives many
//! results in the order they finish, without a runtime too.
//!
//! ```text
//! $ cargo run --example pool_tokio
//! 6 squared is 36
//! all: [0, 1, 4, 9, 16, 25, 36, 49]
//! the slow one: 3
//! ```

use std::time::Duration;

use mproc::prelude::*;

fn square(x: u64) -> u64 {
    x * x
}

fn slow(x: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(200));
    x
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> mproc::Result<()> {
    let pool = Pool::new(2)?;
    // One task: `apply_async` returns at once; `.await` does not block the runtime's thread.
    let six = pool.apply_async(square, 6)?.await?;
    println!("6 squared is {six}");
    // A whole map, awaited as one.
    let all = pool.map_async(square, 0..8).run()?.await?;
    println!("all: {all:?}");
    // A deadline from the runtime: the result is just a future.
    let late = pool.apply_async(slow, 3)?;
    match tokio::time::timeout(Duration::from_secs(30), late).await {
        Ok(value) => println!("the slow one: {}", value?),
        Err(_) => println!("the slow one did not finish in 30 s"),
    }
    pool.close();
    pool.join()?;
    Ok(())
}
