//! Semaphore: acquire+release with nobody else around.

use std::sync::atomic::Ordering;
use std::time::Instant;

use mproc::Semaphore;

use super::{Figure, Workload, float, repeat, secs_since};
use crate::config::Sizes;
use crate::outcome::{Error, Measured, Outcome, Unit, fail};
use crate::sys::shm::ShmRegion;

/// Permits the semaphore starts with (and must hold again after every run).
const PERMITS: u32 = 1;

pub(crate) const WORKLOAD: Workload = Workload {
    name: "semaphore",
    script: "mp_semaphore.py",
    figures: &[Figure {
        id: "semaphore.uncontended",
        title: "Semaphore acquire+release, uncontended",
        unit: Unit::Ns,
        pinned: false,
        memory: false,
        about: "one process takes and gives back a permit of a one-permit semaphore in a loop. \
                mproc: `Semaphore::acquire()`/`release()`; Python: `mp.Semaphore(1)` \
                `acquire()`/`release()`; floor: a compare-and-swap decrement of a counter word \
                in shared memory (after reading it non-zero), then an atomic increment, no \
                system call",
        mproc: mproc_uncontended,
        floor: floor_uncontended,
        peers: &[],
    }],
};

/// Takes and gives back a permit of an `mproc::Semaphore` `sizes.semaphore_ops` times per run.
fn mproc_uncontended(sizes: &Sizes) -> Result<Outcome, Error> {
    let sem = Semaphore::new(PERMITS)?;
    let ops = sizes.semaphore_ops;
    let samples = repeat(sizes, || {
        let start = Instant::now();
        for _ in 0..ops {
            let sem = std::hint::black_box(&sem);
            sem.acquire()?;
            sem.release()?;
        }
        let nanos = secs_since(start) * 1e9 / float(ops);
        if sem.value() != PERMITS {
            return Err(fail(format!(
                "{} permits after the loop, expected {PERMITS}",
                sem.value()
            )));
        }
        Ok(nanos)
    })?;
    Ok(Outcome::Measured(Measured::new(samples)))
}

fn floor_uncontended(sizes: &Sizes) -> Result<Outcome, Error> {
    let shm = ShmRegion::new(64)?;
    let counter = shm.u32_at(0);
    counter.store(PERMITS, Ordering::Relaxed);
    let ops = sizes.semaphore_ops;
    let samples = repeat(sizes, || {
        let start = Instant::now();
        for _ in 0..ops {
            let counter = std::hint::black_box(counter);
            // Nobody else takes permits: an empty counter or a failed swap is a bug, not
            // contention.
            let permits = counter.load(Ordering::Relaxed);
            if permits == 0
                || counter
                    .compare_exchange(permits, permits - 1, Ordering::Acquire, Ordering::Relaxed)
                    .is_err()
            {
                return Err(fail("uncontended semaphore found empty or changed"));
            }
            counter.fetch_add(1, Ordering::Release);
        }
        let nanos = secs_since(start) * 1e9 / float(ops);
        if counter.load(Ordering::Relaxed) != PERMITS {
            return Err(fail("the counter did not come back to its permits"));
        }
        Ok(nanos)
    })?;
    Ok(Outcome::Measured(Measured::new(samples)))
}
