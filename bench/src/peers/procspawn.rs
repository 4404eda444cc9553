//! procspawn: `spawn(args, f).join()` of a function in a child process (procspawn re-executes
//! the benchmark binary, whose `main` hands the child to `procspawn::init()` first), and its
//! `Pool`, which keeps such children for reuse.

use std::time::Instant;

use ::procspawn::Pool;

use crate::config::Sizes;
use crate::outcome::{Error, Measured, Outcome, fail};
use crate::workloads::Peer;
use crate::workloads::{float, repeat, secs_since};

/// The pool's size, as the mproc and Python pools.
const WORKERS: usize = 2;

const SPAWN_ABOUT: &str = "`procspawn::spawn(7, f).join()` of `f = x + 1`, the result \
    checked: procspawn always re-executes the benchmark binary (no fork mode), so compare it with the \
    spawn (exec) row";
const MAP_ABOUT: &str = "`procspawn::Pool::new(2)`, the integers cut by hand into \
    `Vec` chunks of Python's default size, one `pool.spawn(chunk, f)` per chunk (f maps \
    `x + 1` over it), then every handle `join`ed in order and the results checked (the pool \
    has no `map`)";
const APPLY_ABOUT: &str = "`pool.spawn(x, f).join()` on a `procspawn::Pool::new(2)`, \
    each result checked";

/// The crate's name: its sides' and its column's.
const NAME: &str = "procspawn";

pub(crate) const SPAWN_FORK: Peer = Peer {
    name: NAME,
    about: SPAWN_ABOUT,
    side: spawn_fork,
};

pub(crate) const SPAWN_EXEC: Peer = Peer {
    name: NAME,
    about: SPAWN_ABOUT,
    side: spawn_exec,
};

pub(crate) const MAP_PEER: Peer = Peer {
    name: NAME,
    about: MAP_ABOUT,
    side: map_default,
};

pub(crate) const APPLY_PEER: Peer = Peer {
    name: NAME,
    about: APPLY_ABOUT,
    side: apply,
};

/// The trivial task, as the mproc side's.
fn task(x: u64) -> u64 {
    x + 1
}

/// Milliseconds per `spawn((), f).join()`, `count` per run.
fn spawn_join(sizes: &Sizes, count: u32) -> Result<Outcome, Error> {
    let samples = repeat(sizes, || {
        let start = Instant::now();
        for _ in 0..count {
            if ::procspawn::spawn(7u64, task).join()? != 8 {
                return Err(fail("the procspawn child returned a wrong result"));
            }
        }
        Ok(secs_since(start) * 1e3 / float(u64::from(count)))
    })?;
    Ok(Outcome::Measured(Measured::new(samples)))
}

/// The spawn + join row of the fork start method (procspawn execs anyway).
pub(crate) fn spawn_fork(sizes: &Sizes) -> Result<Outcome, Error> {
    spawn_join(sizes, sizes.spawn_fork)
}

pub(crate) fn spawn_exec(sizes: &Sizes) -> Result<Outcome, Error> {
    spawn_join(sizes, sizes.spawn_exec)
}

/// Runs `measure` in the runs of a 2-worker pool, then shuts it down.
fn with_pool(
    sizes: &Sizes,
    mut measure: impl FnMut(&Pool) -> Result<f64, Error>,
) -> Result<Outcome, Error> {
    let pool = Pool::new(WORKERS)?;
    let samples = repeat(sizes, || measure(&pool));
    pool.shutdown();
    Ok(Outcome::Measured(Measured::new(samples?)))
}

/// One chunk of the map: `x + 1` over it.
fn map_chunk(chunk: Vec<u64>) -> Vec<u64> {
    chunk.into_iter().map(task).collect()
}

/// Python's default chunk size for `tasks` tasks on the pool: N / (4 × workers), rounded up.
fn default_chunk(tasks: u64) -> u64 {
    tasks.div_ceil(4 * WORKERS as u64).max(1)
}

/// Microseconds per task of the hand-made map, results checked.
pub(crate) fn map_default(sizes: &Sizes) -> Result<Outcome, Error> {
    let tasks = sizes.pool_tasks_default;
    let chunk = default_chunk(tasks);
    with_pool(sizes, |pool| {
        let start = Instant::now();
        let handles: Vec<_> = (0..tasks)
            .step_by(usize::try_from(chunk)?)
            .map(|first| pool.spawn((first..(first + chunk).min(tasks)).collect(), map_chunk))
            .collect();
        let mut results = Vec::with_capacity(usize::try_from(tasks)?);
        for handle in handles {
            results.extend(handle.join()?);
        }
        let micros = secs_since(start) * 1e6 / float(tasks);
        if results.len() as u64 != tasks || !results.iter().zip(0..).all(|(&r, x)| r == task(x)) {
            return Err(fail("the procspawn pool returned wrong results"));
        }
        Ok(micros)
    })
}

pub(crate) fn apply(sizes: &Sizes) -> Result<Outcome, Error> {
    let rounds = sizes.pingpong;
    with_pool(sizes, |pool| {
        let start = Instant::now();
        for x in 0..rounds {
            if pool.spawn(x, task).join()? != task(x) {
                return Err(fail("the procspawn pool returned a wrong result"));
            }
        }
        Ok(secs_since(start) * 1e6 / float(rounds))
    })
}
