//! Value: two processes incrementing one shared integer, with the exact total checked.

use std::sync::atomic::Ordering;

use mproc::{Barrier, Event, Value, process};

use super::{Figure, Workload, repeat};
use crate::config::Sizes;
use crate::floor::PATIENCE;
use crate::floor::start::StartLine;
use crate::outcome::{Error, Measured, Outcome, Unit};
use crate::sys::cpu::mono_ns;
use crate::sys::shm::ShmRegion;

pub(crate) const WORKLOAD: Workload = Workload {
    name: "value",
    script: "mp_value.py",
    figures: &[
        Figure {
            id: "value.fetch_add",
            title: "Value fetch_add, 2 processes contending",
            unit: Unit::OpsPerSec,
            pinned: false,
            memory: false,
            about: "two processes each add 1 to one shared integer N times, released together \
                    from a start line; increments per second over both, and the run fails \
                    unless the final value is exactly 2×N. mproc: `Value<u64>::fetch_add(1)` \
                    (lock-free, through the value's gate) from two `#[process]` children, a \
                    `Barrier` and an `Event` as start line; Python: the correct form \
                    `with v.get_lock(): v.value += 1` on an `mp.Value(\"q\")` (it has no \
                    atomic add); floor: `AtomicU64::fetch_add` on a word in `MAP_SHARED` \
                    memory, no lock",
            mproc: mproc_fetch_add,
            floor: floor_fetch_add,
            peers: &[],
        },
        Figure {
            id: "value.locked_add",
            title: "Value locked read-add-write, 2 processes contending",
            unit: Unit::OpsPerSec,
            pinned: false,
            memory: false,
            about: "as `value.fetch_add`, but each increment is Python's idiom itself: take \
                    the value's lock, read, write the sum, release. mproc: \
                    `let mut g = v.lock()?; g.set(g.get() + 1)` on a `Value<u64>`; Python: \
                    `with v.get_lock(): v.value += 1`; floor: a three-state futex mutex \
                    around a plain load and store, in `MAP_SHARED` memory",
            mproc: mproc_locked_add,
            floor: floor_locked_add,
            peers: &[],
        },
    ],
};

/// One mproc incrementer: says it is `ready`, waits for `go`, then adds 1 to `value` `ops`
/// times, with `fetch_add` or (`locked`) under the value's lock; returns when it finished
/// (`mono_ns`).
#[process]
fn mproc_add(
    value: Value<u64>,
    ready: Barrier,
    go: Event,
    ops: u64,
    locked: bool,
) -> Result<u64, String> {
    ready.wait_timeout(PATIENCE).map_err(|e| e.to_string())?;
    if go.wait_timeout(PATIENCE).is_err() {
        return Err("no start signal".to_owned());
    }
    let value = std::hint::black_box(&value);
    for _ in 0..ops {
        if locked {
            let mut g = value.lock().map_err(|e| e.to_string())?;
            g.set(g.get() + 1);
        } else {
            value.fetch_add(1);
        }
    }
    Ok(mono_ns())
}

/// Runs two `#[process]` children adding to one `mproc::Value`. As in the floor's start line,
/// the clock starts once both are ready and before they are released (by an `Event`).
fn race_on_value(sizes: &Sizes, locked: bool) -> Result<Outcome, Error> {
    let ops = sizes.value_contended_ops;
    let samples = repeat(sizes, || {
        let (value, ready, go) = (Value::new(0u64)?, Barrier::new(3)?, Event::new()?);
        let children = (0..2)
            .map(|_| {
                // Daemons: a failed run ends the measuring process and them with it.
                Ok(mproc_add::builder().daemon(true).spawn(
                    value.clone(),
                    ready.clone(),
                    go.clone(),
                    ops,
                    locked,
                )?)
            })
            .collect::<Result<Vec<_>, Error>>()?;
        super::lock::race_two(children, &ready, &go, ops, || value.get())
    })?;
    Ok(Outcome::Measured(Measured::new(samples)))
}

fn mproc_fetch_add(sizes: &Sizes) -> Result<Outcome, Error> {
    race_on_value(sizes, false)
}

fn mproc_locked_add(sizes: &Sizes) -> Result<Outcome, Error> {
    race_on_value(sizes, true)
}

/// Where the floor's counter lives in its region.
const COUNTER: usize = 0;

/// One floor incrementer: `ops` atomic increments of the shared counter.
fn add(shm: &ShmRegion, line: &StartLine, index: usize, ops: u64) -> Result<(), Error> {
    let counter = shm.u64_at(COUNTER);
    line.ready_and_wait()?;
    for _ in 0..ops {
        // Relaxed: only the count matters, and the parent reads it after reaping both.
        std::hint::black_box(counter).fetch_add(1, Ordering::Relaxed);
    }
    line.finished(index);
    Ok(())
}

fn floor_fetch_add(sizes: &Sizes) -> Result<Outcome, Error> {
    super::lock::count_in_two_children(sizes, 64, COUNTER, sizes.value_contended_ops, add)
}

fn floor_locked_add(sizes: &Sizes) -> Result<Outcome, Error> {
    // The locked idiom's floor is the contended lock's: plain increments under a futex mutex.
    super::lock::count_in_two_children(
        sizes,
        128,
        super::lock::COUNTER,
        sizes.value_contended_ops,
        super::lock::contend,
    )
}
