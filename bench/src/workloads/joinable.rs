//! `JoinableQueue`: items with acknowledgements, and a producer that waits until all are done.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Instant;

use mproc::{JoinableQueue, StartMethod, process};

use super::{Figure, Workload, float, repeat, secs_since};
use crate::config::Sizes;
use crate::floor::ring::Ring;
use crate::floor::{PATIENCE, futex_wait_until};
use crate::outcome::{Error, Measured, Outcome, Unit, fail};
use crate::sys::proc::{fork_child, wait_ok};
use crate::sys::shm::{ShmRegion, futex_wake};

const RING_SLOTS: usize = 4096;

pub(crate) const WORKLOAD: Workload = Workload {
    name: "joinable",
    script: "mp_joinable.py",
    figures: &[Figure {
        id: "joinable.throughput",
        title: "JoinableQueue put → get + task_done → join",
        unit: Unit::ItemsPerSec,
        pinned: false,
        memory: true,
        about: "the parent puts N integers and calls `join()`; one consumer process gets each \
                and calls `task_done()`; items per second until `join()` returns. mproc: \
                `mproc::JoinableQueue<u64>` and a `#[process]` consumer (fork start method), \
                which checks the sum of what it got; Python: `mp.JoinableQueue()`; floor: \
                the shared-memory ring plus an unfinished-task counter that the consumer \
                decrements and the parent sleeps on (futex) until it reaches zero",
        mproc: mproc_joinable,
        floor: floor_joinable,
        peers: &[],
    }],
};

/// The mproc consumer: takes `total` items, marking each done; returns their sum.
#[process]
fn mproc_consume(queue: JoinableQueue<u64>, total: u64) -> Result<u64, String> {
    let mut sum = 0u64;
    for _ in 0..total {
        sum = sum.wrapping_add(queue.get().map_err(|e| e.to_string())?);
        queue.task_done().map_err(|e| e.to_string())?;
    }
    Ok(sum)
}

/// The parent puts into an `mproc::JoinableQueue` and `join`s, a `#[process]` consumer (fork
/// start method, as Python's fork context) calls `task_done()`, as `mp_joinable.py` does.
fn mproc_joinable(sizes: &Sizes) -> Result<Outcome, Error> {
    let queue = JoinableQueue::<u64>::new()?;
    let items = sizes.joinable_items;
    let total = items * u64::from(sizes.total_runs());
    let child = mproc_consume::builder()
        .start_method(StartMethod::Fork)
        .daemon(true)
        .spawn(queue.clone(), total)?;
    let samples = repeat(sizes, || {
        let start = Instant::now();
        for item in 0..items {
            queue.put(&item)?;
        }
        queue.join_timeout(PATIENCE)?;
        Ok(float(items) / secs_since(start))
    });
    if samples.is_err() {
        // A failed run must not leave the child waiting for items that will not come.
        queue.close();
        let _ = child.kill();
    }
    let joined = child.join_timeout(PATIENCE);
    let samples = samples?;
    let sum = joined?.map_err(fail)?;
    let expected =
        (items * items.saturating_sub(1) / 2).wrapping_mul(u64::from(sizes.total_runs()));
    if sum != expected {
        return Err(fail(format!(
            "the consumer's sum is {sum}, expected {expected}"
        )));
    }
    if queue.unfinished() != 0 || queue.qsize() != 0 {
        return Err(fail("items left unfinished after the last join"));
    }
    Ok(Outcome::Measured(Measured::with_rss(samples)))
}

/// The consumer: takes `total` items, marking each done; wakes the parent at zero unfinished.
fn consume(ring: &Ring, unfinished: &AtomicU32, total: u64) -> Result<(), Error> {
    let mut consumer = ring.consumer();
    for _ in 0..total {
        std::hint::black_box(consumer.pop()?);
        if unfinished.fetch_sub(1, Ordering::AcqRel) == 1 {
            futex_wake(unfinished, i32::MAX);
        }
    }
    Ok(())
}

fn floor_joinable(sizes: &Sizes) -> Result<Outcome, Error> {
    let ring = Ring::new(RING_SLOTS)?;
    let shm = ShmRegion::new(64)?;
    let unfinished = shm.u32_at(0);
    let items = sizes.joinable_items;
    let total = items * u64::from(sizes.total_runs());
    let child = fork_child(|| consume(&ring, unfinished, total))?;
    let mut producer = ring.producer();
    let samples = repeat(sizes, || {
        let start = Instant::now();
        for item in 0..items {
            unfinished.fetch_add(1, Ordering::AcqRel);
            producer.push(item)?;
        }
        futex_wait_until(unfinished, |v| v == 0, "every task to be done")?;
        Ok(float(items) / secs_since(start))
    });
    wait_ok(child)?;
    Ok(Outcome::Measured(Measured::with_rss(samples?)))
}
