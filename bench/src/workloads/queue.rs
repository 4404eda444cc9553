//! Queue: small items from producers to consumers, and 1 MiB items.

use std::time::Instant;

use super::{Figure, Workload, float, repeat, secs_since};
use crate::config::Sizes;
use crate::floor::ring::Ring;
use crate::floor::start::StartLine;
use crate::outcome::{Error, Measured, Outcome, Unit, fail, not_yet};
use crate::sys::proc::{fork_child, wait_all_ok};
use crate::sys::shm::PageBuf;

/// One big item.
const MIB: usize = 1 << 20;
/// Slots of the floor's ring.
const RING_SLOTS: usize = 4096;
/// Destination slots of the memcpy floor: 8 MiB, more than a typical L2 cache.
const COPY_SLOTS: usize = 8;

const SMALL: &str = "P producer processes put N integers in total, C consumer processes get \
                     them (each checks what it got), released together from a start line; \
                     items per second from the start to the last consumer's end. Python: \
                     `mp.Queue()` (fork context), consumers stop at a sentinel; floor: one \
                     hand-written single-producer single-consumer ring in shared memory per \
                     producer/consumer pair (spin, then `sched_yield`)";

pub(crate) const WORKLOAD: Workload = Workload {
    name: "queue",
    script: "mp_queue.py",
    figures: &[
        Figure {
            id: "queue.small.1to1",
            title: "Queue small items, 1 → 1",
            unit: Unit::ItemsPerSec,
            pinned: false,
            memory: true,
            about: SMALL,
            mproc: mproc_small,
            floor: floor_small_1to1,
        },
        Figure {
            id: "queue.small.2to2",
            title: "Queue small items, 2 → 2",
            unit: Unit::ItemsPerSec,
            pinned: false,
            memory: true,
            about: SMALL,
            mproc: mproc_small,
            floor: floor_small_2to2,
        },
        Figure {
            id: "queue.big.1m",
            title: "Queue 1 MiB items, 1 → 1",
            unit: Unit::BytesPerSec,
            pinned: false,
            memory: true,
            about: "one producer process puts N items of 1 MiB, one consumer process gets \
                    them; bytes per second. Python: `mp.Queue()` of `bytes`; floor: `memcpy` \
                    of 1 MiB from a page-aligned buffer into 8 page-aligned 1 MiB slots in \
                    turn (what any copy through shared memory costs at least once), in one \
                    process",
            mproc: mproc_big,
            floor: floor_big,
        },
    ],
};

/// Will move `u64`s through an `mproc::Queue` between `#[process]` producers and consumers.
fn mproc_small(_: &Sizes) -> Result<Outcome, Error> {
    not_yet("Queue")
}

/// Will move 1 MiB `Vec<u8>` items through an `mproc::Queue`.
fn mproc_big(_: &Sizes) -> Result<Outcome, Error> {
    not_yet("Queue")
}

/// Producer `index`: pushes `0..count` into its ring.
fn produce(ring: &Ring, line: &StartLine, index: usize, count: u64) -> Result<(), Error> {
    let mut producer = ring.producer();
    line.ready_and_wait()?;
    for item in 0..count {
        producer.push(item)?;
    }
    line.finished(index);
    Ok(())
}

/// Consumer `index`: pops `count` items from its ring and checks their sum.
fn consume(ring: &Ring, line: &StartLine, index: usize, count: u64) -> Result<(), Error> {
    let mut consumer = ring.consumer();
    line.ready_and_wait()?;
    let mut sum = 0u64;
    for _ in 0..count {
        sum = sum.wrapping_add(consumer.pop()?);
    }
    line.finished(index);
    let expected = count * count.saturating_sub(1) / 2;
    if sum == expected {
        Ok(())
    } else {
        Err(fail(format!(
            "consumer {index}: sum {sum}, expected {expected}"
        )))
    }
}

/// `pairs` producer/consumer pairs, each with its own ring, moving `sizes.queue_items` in all.
fn floor_small(sizes: &Sizes, pairs: usize) -> Result<Outcome, Error> {
    let per_pair = sizes.queue_items / u64::try_from(pairs)?;
    let samples = repeat(sizes, || {
        let rings = (0..pairs)
            .map(|_| Ring::new(RING_SLOTS))
            .collect::<Result<Vec<_>, _>>()?;
        let line = StartLine::new(2 * pairs)?;
        let mut pids = Vec::new();
        for (pair, ring) in rings.iter().enumerate() {
            pids.push(fork_child(|| produce(ring, &line, pair, per_pair))?);
            pids.push(fork_child(|| consume(ring, &line, pairs + pair, per_pair))?);
        }
        let start = line.fire()?;
        wait_all_ok(&pids)?;
        let nanos = line.elapsed_since(start)?;
        Ok(float(per_pair * u64::try_from(pairs)?) / (float(nanos) / 1e9))
    })?;
    Ok(Outcome::Measured(Measured::with_rss(samples)))
}

fn floor_small_1to1(sizes: &Sizes) -> Result<Outcome, Error> {
    floor_small(sizes, 1)
}

fn floor_small_2to2(sizes: &Sizes) -> Result<Outcome, Error> {
    floor_small(sizes, 2)
}

fn floor_big(sizes: &Sizes) -> Result<Outcome, Error> {
    let mut source = PageBuf::new(MIB)?;
    source.as_mut_slice().fill(7);
    let mut slots = PageBuf::new(MIB * COPY_SLOTS)?;
    let items = sizes.queue_big_items;
    let mut slot = 0;
    let samples = repeat(sizes, || {
        let start = Instant::now();
        for _ in 0..items {
            let at = slot * MIB;
            slots.as_mut_slice()[at..at + MIB].copy_from_slice(source.as_slice());
            std::hint::black_box(&mut slots);
            slot = (slot + 1) % COPY_SLOTS;
        }
        Ok(float(items) * float(MIB as u64) / secs_since(start))
    })?;
    Ok(Outcome::Measured(Measured::with_rss(samples)))
}
