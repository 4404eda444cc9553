//! The pool: Python's Pool API, with lambdas, crash isolation and lazy imap.

use mproc::prelude::*;

use super::section;

#[pool_task]
fn square(x: u64) -> u64 {
    x * x
}

#[pool_task]
fn add(a: u64, b: u64) -> u64 {
    a + b
}

fn crash(_: ()) -> u64 {
    std::process::abort()
}

pub(crate) fn run() -> mproc::Result<()> {
    let pool = Pool::new(2)?;

    section("pool: map, starmap, apply_async, and closures (Python cannot send lambdas)");
    println!("map(square, 1..=8) = {:?}", pool.map(square, 1..=8).run()?);
    println!(
        "starmap(add, [(1, 2), (3, 4)]) = {:?}",
        pool.starmap(add, [(1, 2), (3, 4)]).run()?
    );
    let pending = pool.apply_async(|s: String| s.len(), "a closure".to_owned())?;
    println!(
        "apply_async(|s| s.len(), \"a closure\").get() = {}",
        pending.get()?
    );

    section("pool: a worker that crashes fails only its task (Python's Pool hangs)");
    let lost = pool.apply(crash, ());
    println!(
        "a task that aborts its worker: {}",
        lost.expect_err("the worker died")
    );
    println!(
        "the pool goes on: map(square, 1..=4) = {:?}",
        pool.map(square, 1..=4).run()?
    );

    section("pool: imap over an endless input reads only what it needs");
    let first: Vec<u64> = pool.imap(square, 1..).take(5).collect::<Result<_, _>>()?;
    println!("the first five squares of 1.. = {first:?}");

    pool.close();
    pool.join()?;
    Ok(())
}
