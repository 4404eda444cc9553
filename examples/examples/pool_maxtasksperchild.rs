//! Seed: `maxtasksperchild` with `chunksize` — one worker that leaves after 9 tasks. With
//! chunksize 1, ten items are ten tasks: the tenth runs in a new process. With chunksize 2
//! there are only five tasks, and one process does all the work.
//!
//! ```text
//! $ cargo run --example pool_maxtasksperchild
//! -- chunksize 1
//! pid: 11001 got: 1
//! ...
//! pid: 11001 got: 9
//! pid: 11002 got: 10       (a new worker)
//! got result: [[1, 2], [2, 3], ..., [10, 11]]
//! -- chunksize 2
//! pid: 11003 got: 1
//! ...
//! pid: 11003 got: 10       (the same worker throughout)
//! ```

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use mproc::prelude::*;

fn func(x: u32) -> (u32, [u32; 2]) {
    println!("pid: {} got: {x}", std::process::id());
    (std::process::id(), [x, x + 1])
}

fn run(chunksize: usize) -> mproc::Result<usize> {
    let pool = Pool::builder().processes(1).maxtasksperchild(9).build()?;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let got = Arc::clone(&seen);
    pool.map_async(func, 1..=10)
        .chunksize(chunksize)
        .run()?
        .on_success(move |all| {
            let values: Vec<[u32; 2]> = all.iter().map(|(_, v)| *v).collect();
            println!("got result: {values:?}");
            *got.lock().unwrap() = all;
        });
    pool.close();
    pool.join()?;
    let pids: BTreeSet<u32> = seen.lock().unwrap().iter().map(|(pid, _)| *pid).collect();
    Ok(pids.len())
}

fn main() -> mproc::Result<()> {
    println!("-- chunksize 1");
    assert_eq!(run(1)?, 2, "ten tasks: the worker is replaced after nine");
    println!("-- chunksize 2");
    assert_eq!(run(2)?, 1, "five tasks: one worker is enough");
    Ok(())
}
