//! procspawn: `spawn(args, f).join()` of a function in a child process (procspawn re-executes
//! the benchmark binary, whose `main` hands the child to `procspawn::init()` first), and its
//! `Pool`, which keeps such children for reuse.

use std::collections::VecDeque;
use std::time::Instant;

use ::procspawn::Pool;
use serde::{Serialize, de::DeserializeOwned};

use crate::config::Sizes;
use crate::outcome::{Error, Measured, Outcome, fail};
use crate::workloads::Peer;
use crate::workloads::pool::{SKEWED_WORKERS, hash_range, hash_sum, skewed_durations, sleep_for};
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
const MAP_CHUNK1_ABOUT: &str = "`procspawn::Pool::new(2)`, one `pool.spawn(x, f)` per \
    task (f = `x + 1`), joined in order and checked, at most 64 submitted ahead of the oldest \
    unjoined one (each pending task holds file descriptors: 10,000 at once run out of them)";
const CPU_ABOUT: &str = "the range cut in 8 parts, one `pool.spawn(part, f)` each on a \
    `procspawn::Pool::new(2)`, joined and added up (checked against the parent's sum)";
const SKEWED_ABOUT: &str = "`procspawn::Pool::new(5)`, one `pool.spawn(duration, sleep)` per \
    task in order (the pool hands each to the next free worker), then every handle joined and \
    checked";
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

pub(crate) const MAP_CHUNK1_PEER: Peer = Peer {
    name: NAME,
    about: MAP_CHUNK1_ABOUT,
    side: map_chunk1,
};

pub(crate) const CPU_PEER: Peer = Peer {
    name: NAME,
    about: CPU_ABOUT,
    side: cpu_speedup,
};

pub(crate) const SKEWED_PEER: Peer = Peer {
    name: NAME,
    about: SKEWED_ABOUT,
    side: map_skewed,
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

/// Runs `measure` in the runs of a `workers`-process pool, then shuts it down.
fn with_pool_of(
    workers: usize,
    sizes: &Sizes,
    mut measure: impl FnMut(&Pool) -> Result<f64, Error>,
) -> Result<Outcome, Error> {
    let pool = Pool::new(workers)?;
    let samples = repeat(sizes, || measure(&pool));
    pool.shutdown();
    Ok(Outcome::Measured(Measured::new(samples?)))
}

/// Runs `measure` in the runs of a 2-worker pool, as the mproc side's.
fn with_pool(
    sizes: &Sizes,
    measure: impl FnMut(&Pool) -> Result<f64, Error>,
) -> Result<Outcome, Error> {
    with_pool_of(WORKERS, sizes, measure)
}

/// Tasks submitted and not yet joined, at most: each holds two ipc-channel pairs (file
/// descriptors), so submitting 10,000 at once runs out of descriptors.
const IN_FLIGHT: usize = 64;

/// Spawns `f` on every argument of `args` in order, at most [`IN_FLIGHT`] ahead of the
/// oldest unjoined one, and joins them all in order.
fn spawn_all<A, R>(pool: &Pool, args: Vec<A>, f: fn(A) -> R) -> Result<Vec<R>, Error>
where
    A: Serialize + DeserializeOwned,
    R: Serialize + DeserializeOwned + Send + 'static,
{
    let mut results = Vec::with_capacity(args.len());
    let mut pending = VecDeque::with_capacity(IN_FLIGHT);
    for a in args {
        if pending.len() == IN_FLIGHT
            && let Some(oldest) = pending.pop_front()
        {
            results.push(::procspawn::JoinHandle::join(oldest)?);
        }
        pending.push_back(pool.spawn(a, f));
    }
    for handle in pending {
        results.push(handle.join()?);
    }
    Ok(results)
}

/// The time alone over the time with the pool (higher is better), the parts' sum checked.
pub(crate) fn cpu_speedup(sizes: &Sizes) -> Result<Outcome, Error> {
    let iters = sizes.cpu_iters_native;
    let step = iters.div_ceil(8);
    let parts: Vec<(u64, u64)> = (0..8)
        .map(|i| (i * step, ((i + 1) * step).min(iters)))
        .collect();
    with_pool(sizes, |pool| {
        let start = Instant::now();
        let alone = std::hint::black_box(hash_sum(0..iters));
        let one = secs_since(start);
        let start = Instant::now();
        let together = spawn_all(pool, parts.clone(), hash_range)?
            .into_iter()
            .fold(0u64, u64::wrapping_add);
        let two = secs_since(start);
        if together != alone {
            return Err(fail("the pool's parts do not add up to the whole"));
        }
        Ok(one / two)
    })
}

/// The makespan in ms of the skewed durations on a 5-worker pool, results checked.
pub(crate) fn map_skewed(sizes: &Sizes) -> Result<Outcome, Error> {
    let durations = skewed_durations();
    with_pool_of(SKEWED_WORKERS, sizes, |pool| {
        let start = Instant::now();
        let slept = spawn_all(pool, durations.clone(), sleep_for)?;
        let millis = secs_since(start) * 1e3;
        if slept != durations {
            return Err(fail("the procspawn pool returned wrong results"));
        }
        Ok(millis)
    })
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

/// Microseconds per task, one `spawn` per task, results checked.
pub(crate) fn map_chunk1(sizes: &Sizes) -> Result<Outcome, Error> {
    let tasks = sizes.pool_tasks_chunk1;
    with_pool(sizes, |pool| {
        let start = Instant::now();
        let results = spawn_all(pool, (0..tasks).collect(), task)?;
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
