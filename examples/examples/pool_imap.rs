//! Seed: `Pool.imap` and `Pool.imap_unordered` — results come as they are ready, through an
//! iterator; `imap_unordered` yields them in the order the tasks finish.
//!
//! Unlike Python's, both read their input lazily: the last part shows `imap` over an endless
//! input, of which only what is needed (and a small window) is read.
//!
//! ```text
//! $ cargo run --example pool_imap
//! -- imap
//! main process
//! i=(1, 2), pid=9001
//! i=(3, 4), pid=9002
//! (1, 2)
//! (3, 4)
//! -- imap_unordered
//! main process
//! ...
//! (3, 4)                  (the faster task first)
//! (1, 2)
//! -- imap over an endless input
//! the first five squares: [0, 1, 4, 9, 16]
//! ```

use std::time::Duration;

use mproc::prelude::*;

fn fun(n: (i32, i32)) -> (i32, i32) {
    println!("i={n:?}, pid={}", std::process::id());
    // (1, 2) works longer than (3, 4), so the unordered results come reversed.
    let work = if n.0 == 1 { 200 } else { 50 };
    std::thread::sleep(Duration::from_millis(work)); // simulated work, as in the seed
    n
}

fn main() -> mproc::Result<()> {
    let pool = Pool::new(4)?;

    println!("-- imap");
    let results = pool.imap(fun, [(1, 2), (3, 4)]);
    println!("main process");
    for r in results {
        println!("{:?}", r?);
    }

    println!("-- imap_unordered");
    let results = pool.imap_unordered(fun, [(1, 2), (3, 4)]);
    println!("main process");
    let order: Vec<(i32, i32)> = results.collect::<Result<_, _>>()?;
    for r in &order {
        println!("{r:?}");
    }

    println!("-- imap over an endless input");
    let squares: Vec<u64> = pool
        .imap(|x: u64| x * x, 0..)
        .take(5)
        .collect::<Result<_, _>>()?;
    println!("the first five squares: {squares:?}");

    pool.close();
    pool.join()?;
    Ok(())
}
