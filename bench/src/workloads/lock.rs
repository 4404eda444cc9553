//! Lock: acquire+release with nobody else around, and two processes fighting for one lock.

use std::sync::atomic::Ordering;
use std::time::Instant;

use mproc::codec::Fd;
use mproc::{Barrier, Child, Event, Lock, process};

use super::{Figure, Workload, float, repeat, secs_since};
use crate::config::Sizes;
use crate::floor::PATIENCE;
use crate::floor::mutex::FutexMutex;
use crate::floor::start::StartLine;
use crate::outcome::{Error, Measured, Outcome, Unit, fail};
use crate::sys::cpu::mono_ns;
use crate::sys::proc::{fork_child, wait_all_ok};
use crate::sys::shm::ShmRegion;

pub(crate) const WORKLOAD: Workload = Workload {
    name: "lock",
    script: "mp_lock.py",
    figures: &[
        Figure {
            id: "lock.uncontended",
            title: "Lock acquire+release, uncontended",
            unit: Unit::Ns,
            pinned: false,
            memory: false,
            about: "one process takes and releases a lock in a loop. mproc: \
                    `Lock::acquire()`/`release()`; Python: `mp.Lock()` `acquire()`/`release()`; \
                    floor: compare-and-swap 0→1 then a release store, on a word in shared memory",
            mproc: mproc_uncontended,
            floor: floor_uncontended,
            peers: &[],
        },
        Figure {
            id: "lock.contended",
            title: "Lock, 2 processes contending",
            unit: Unit::OpsPerSec,
            pinned: false,
            memory: false,
            about: "two processes each take the lock, increment a shared counter and release it, \
                    N times each, released together from a start line; acquire+release pairs \
                    per second over both (the counter is checked). mproc: two `#[process]` \
                    children, an `mproc::Lock`, a `Barrier` and an `Event` as start line, the \
                    counter in a memfd; Python: `mp.Lock` and a `RawValue`; floor: a \
                    three-state futex mutex in `MAP_SHARED` memory",
            mproc: mproc_contended,
            floor: floor_contended,
            peers: &[],
        },
    ],
};

/// Takes and releases an `mproc::Lock` `sizes.lock_ops` times per run.
fn mproc_uncontended(sizes: &Sizes) -> Result<Outcome, Error> {
    let lock = Lock::new()?;
    let ops = sizes.lock_ops;
    let samples = repeat(sizes, || {
        let start = Instant::now();
        for _ in 0..ops {
            let lock = std::hint::black_box(&lock);
            lock.acquire()?;
            lock.release()?;
        }
        let nanos = secs_since(start) * 1e9 / float(ops);
        if lock.is_locked() {
            return Err(fail("the lock is still held after the loop"));
        }
        Ok(nanos)
    })?;
    Ok(Outcome::Measured(Measured::new(samples)))
}

/// One contending mproc child: says it is `ready`, waits for `go`, then makes `ops` locked
/// increments of the counter in the shared file `counter`; returns when it finished
/// (`mono_ns`).
#[process]
fn mproc_contend(
    lock: Lock,
    counter: Fd,
    ready: Barrier,
    go: Event,
    ops: u64,
) -> Result<u64, String> {
    let region =
        ShmRegion::from_fd(&counter.into_inner(), COUNTER + 8).map_err(|e| e.to_string())?;
    let counter = region.u64_at(COUNTER);
    ready.wait_timeout(PATIENCE).map_err(|e| e.to_string())?;
    if go.wait_timeout(PATIENCE).is_err() {
        return Err("no start signal".to_owned());
    }
    for _ in 0..ops {
        lock.acquire().map_err(|e| e.to_string())?;
        // A plain load and store, as in the floor: only the lock keeps it exact.
        let value = counter.load(Ordering::Relaxed);
        counter.store(value + 1, Ordering::Relaxed);
        lock.release().map_err(|e| e.to_string())?;
    }
    Ok(mono_ns())
}

/// Runs two `#[process]` children contending for an `mproc::Lock`. As in the floor's start
/// line, the clock starts once both are ready and before they are released (by an `Event`).
fn mproc_contended(sizes: &Sizes) -> Result<Outcome, Error> {
    let (shm, fd) = ShmRegion::with_fd(COUNTER + 8)?;
    let ops = sizes.lock_contended_ops;
    let samples = repeat(sizes, || {
        shm.u64_at(COUNTER).store(0, Ordering::Relaxed);
        let (lock, ready, go) = (Lock::new()?, Barrier::new(3)?, Event::new()?);
        let children = (0..2)
            .map(|_| {
                let counter = Fd::from(fd.try_clone()?);
                // Daemons: a failed run ends the measuring process and them with it.
                Ok(mproc_contend::builder().daemon(true).spawn(
                    lock.clone(),
                    counter,
                    ready.clone(),
                    go.clone(),
                    ops,
                )?)
            })
            .collect::<Result<Vec<_>, Error>>()?;
        race_two(children, &ready, &go, ops, || {
            shm.u64_at(COUNTER).load(Ordering::Relaxed)
        })
    })?;
    Ok(Outcome::Measured(Measured::new(samples)))
}

/// Releases two `#[process]` children waiting at `ready` for `go`, each adding `ops` to a
/// counter and returning when it finished (`mono_ns`); fails unless `total()` then reads
/// exactly `2 * ops`. Additions per second, from the release to the last child's finish.
pub(super) fn race_two(
    children: Vec<Child<Result<u64, String>>>,
    ready: &Barrier,
    go: &Event,
    ops: u64,
    total: impl FnOnce() -> u64,
) -> Result<f64, Error> {
    ready.wait_timeout(PATIENCE)?;
    let start = mono_ns();
    go.set();
    let mut last = 0;
    for child in children {
        last = last.max(child.join()?.map_err(fail)?);
    }
    let total = total();
    if total != 2 * ops {
        return Err(fail(format!("counter {total}, expected {}", 2 * ops)));
    }
    Ok(float(2 * ops) / (float(last.saturating_sub(start).max(1)) / 1e9))
}

fn floor_uncontended(sizes: &Sizes) -> Result<Outcome, Error> {
    let shm = ShmRegion::new(64)?;
    let word = shm.u32_at(0);
    let ops = sizes.lock_ops;
    let samples = repeat(sizes, || {
        let start = Instant::now();
        for _ in 0..ops {
            let word = std::hint::black_box(word);
            // Nobody else can hold it: a failed swap is a bug, not contention.
            if word
                .compare_exchange(0, 1, Ordering::Acquire, Ordering::Relaxed)
                .is_err()
            {
                return Err(fail("uncontended lock found held"));
            }
            word.store(0, Ordering::Release);
        }
        Ok(secs_since(start) * 1e9 / float(ops))
    })?;
    Ok(Outcome::Measured(Measured::new(samples)))
}

/// Layout of the contended floor's region.
const MUTEX: usize = 0;
pub(crate) const COUNTER: usize = 64;

/// One contending child: `ops` locked increments of the shared counter.
pub(crate) fn contend(
    shm: &ShmRegion,
    line: &StartLine,
    index: usize,
    ops: u64,
) -> Result<(), Error> {
    let mutex = FutexMutex::new(shm.u32_at(MUTEX));
    let counter = shm.u64_at(COUNTER);
    line.ready_and_wait()?;
    for _ in 0..ops {
        mutex.lock()?;
        // A plain load and store, not an atomic increment: only the mutex keeps it exact.
        let value = counter.load(Ordering::Relaxed);
        counter.store(value + 1, Ordering::Relaxed);
        mutex.unlock();
    }
    line.finished(index);
    Ok(())
}

fn floor_contended(sizes: &Sizes) -> Result<Outcome, Error> {
    count_in_two_children(sizes, 128, COUNTER, sizes.lock_contended_ops, contend)
}

/// A floor of two forked children each adding `ops` to the `u64` at `counter` of a fresh
/// region of `region_len` bytes with `work`; fails unless the total is exactly `2 * ops`.
/// Increments per second, both children together.
pub(super) fn count_in_two_children(
    sizes: &Sizes,
    region_len: usize,
    counter: usize,
    ops: u64,
    work: fn(&ShmRegion, &StartLine, usize, u64) -> Result<(), Error>,
) -> Result<Outcome, Error> {
    let shm = ShmRegion::new(region_len)?;
    let samples = repeat(sizes, || {
        shm.u64_at(counter).store(0, Ordering::Relaxed);
        let line = StartLine::new(2)?;
        let pids = (0..2)
            .map(|index| fork_child(|| work(&shm, &line, index, ops)))
            .collect::<Result<Vec<_>, _>>()?;
        let start = line.fire()?;
        wait_all_ok(&pids)?;
        let nanos = line.elapsed_since(start)?;
        let total = shm.u64_at(counter).load(Ordering::Relaxed);
        if total != 2 * ops {
            return Err(fail(format!("counter {total}, expected {}", 2 * ops)));
        }
        Ok(float(2 * ops) / (float(nanos) / 1e9))
    })?;
    Ok(Outcome::Measured(Measured::new(samples)))
}
