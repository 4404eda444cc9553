//! Queue: small items from producers to consumers, and 1 MiB items.

use std::time::Instant;

use mproc::codec::ByteBuf;
use mproc::{Barrier, Child, Event, Queue, StartMethod, process};
use serde::{Deserialize, Serialize};

use super::{Figure, Workload, float, repeat, secs_since};
use crate::config::Sizes;
use crate::floor::PATIENCE;
use crate::floor::ring::Ring;
use crate::floor::start::StartLine;
use crate::outcome::{Error, Measured, Outcome, Unit, fail};
use crate::peers;
use crate::sys::cpu::mono_ns;
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
                     items per second from the start to the last consumer's end. mproc: \
                     `#[process]` children (fork start method), one `mproc::Queue<Option<u64>>`, \
                     consumers stop at a `None` sentinel (one per producer, as in Python), a \
                     `Barrier` and an `Event` as start line; Python: `mp.Queue()` (fork \
                     context), consumers stop at a sentinel; floor: one \
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
            mproc: mproc_small_1to1,
            floor: floor_small_1to1,
            peers: &[peers::ipc_channel::SMALL_PEER, peers::iceoryx2::SMALL_PEER],
        },
        Figure {
            id: "queue.small.2to2",
            title: "Queue small items, 2 → 2",
            unit: Unit::ItemsPerSec,
            pinned: false,
            memory: true,
            about: SMALL,
            mproc: mproc_small_2to2,
            floor: floor_small_2to2,
            peers: &[],
        },
        Figure {
            id: "queue.big.1m",
            title: "Queue 1 MiB items, 1 → 1",
            unit: Unit::BytesPerSec,
            pinned: false,
            memory: true,
            about: "one producer process puts N items of 1 MiB, one consumer process gets \
                    them; bytes per second. mproc: `mproc::Queue` (default 4 MiB ring, so each \
                    item is copied through it) of a 1 MiB buffer serialized as one byte string \
                    (`serialize_bytes`, as `serde_bytes` does: a plain `Vec<u8>` goes through \
                    serde as 2^20 separate `u8`s and measured 3-9x slower), the consumer \
                    checks each item's length, number and last byte; Python: `mp.Queue()` of \
                    `bytes`; floor: `memcpy` \
                    of 1 MiB from a page-aligned buffer into 8 page-aligned 1 MiB slots in \
                    turn (what any copy through shared memory costs at least once), in one \
                    process",
            mproc: mproc_big,
            floor: floor_big,
            peers: &[peers::ipc_channel::BIG_PEER, peers::iceoryx2::BIG_PEER],
        },
        Figure {
            id: "queue.big.1m.loan",
            title: "Queue 1 MiB items, 1 → 1, loaned",
            unit: Unit::BytesPerSec,
            pinned: false,
            memory: true,
            about: "as the row above, with loans: the producer copies its 1 MiB buffer straight \
                    into the ring (`Queue::<ByteBuf>::put_with`), the consumer checks each item \
                    in place (`get_with`), so each item is copied once; Python and floor as \
                    above (Python has no loans); peers as above (iceoryx2 loans too)",
            mproc: mproc_big_loan,
            floor: floor_big,
            peers: &[peers::ipc_channel::BIG_PEER, peers::iceoryx2::BIG_PEER],
        },
    ],
};

/// A small item, or (`None`) a producer's end: Python's `None` sentinel.
type Small = Option<u64>;

/// What one mproc child of a queue figure did: items it moved, their sum (wrapping), and
/// when it finished (`mono_ns`).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Tally {
    items: u64,
    sum: u64,
    end: u64,
}

/// The children of one mproc run, killed unless every one was joined with success.
struct Crew {
    children: Vec<Child<Result<Tally, String>>>,
}

impl Crew {
    /// Waits until every child is at the start line, starts the clock and releases them;
    /// joins them all (within [`PATIENCE`] in all) and returns the start time and their tallies
    /// in the order they were started.
    fn run(self, ready: &Barrier, go: &Event) -> Result<(u64, Vec<Tally>), Error> {
        ready.wait_timeout(PATIENCE)?;
        let start = mono_ns();
        go.set();
        let deadline = Instant::now() + PATIENCE;
        let mut tallies = Vec::with_capacity(self.children.len());
        for child in &self.children {
            let left = deadline.saturating_duration_since(Instant::now());
            tallies.push(child.join_timeout(left)?.map_err(fail)?);
        }
        Ok((start, tallies))
    }
}

impl Drop for Crew {
    fn drop(&mut self) {
        // A no-op for the children already reaped; ends the others of a failed run.
        for child in &self.children {
            let _ = child.kill();
        }
    }
}

/// Every mproc child first waits at the start line: the barrier (everyone ready), then `go`.
fn start_line(ready: &Barrier, go: &Event) -> Result<(), String> {
    ready.wait_timeout(PATIENCE).map_err(|e| e.to_string())?;
    if go.wait_timeout(PATIENCE).is_ok() {
        Ok(())
    } else {
        Err("no start signal".to_owned())
    }
}

/// An mproc producer: puts `Some(0..count)`, then its sentinel `None`.
#[process]
fn mproc_producer(
    queue: Queue<Small>,
    ready: Barrier,
    go: Event,
    count: u64,
) -> Result<Tally, String> {
    start_line(&ready, &go)?;
    let mut sum = 0u64;
    for item in 0..count {
        queue.put(&Some(item)).map_err(|e| e.to_string())?;
        sum = sum.wrapping_add(item);
    }
    queue.put(&None).map_err(|e| e.to_string())?;
    Ok(Tally {
        items: count,
        sum,
        end: mono_ns(),
    })
}

/// An mproc consumer: gets items until the first sentinel, counting and summing them.
#[process]
fn mproc_consumer(queue: Queue<Small>, ready: Barrier, go: Event) -> Result<Tally, String> {
    start_line(&ready, &go)?;
    let (mut items, mut sum) = (0u64, 0u64);
    while let Some(item) = queue.get().map_err(|e| e.to_string())? {
        items += 1;
        sum = sum.wrapping_add(item);
    }
    Ok(Tally {
        items,
        sum,
        end: mono_ns(),
    })
}

/// `pairs` `#[process]` producers put `sizes.queue_items` `u64`s in all into one
/// `mproc::Queue`, `pairs` consumers get them, as `mp_queue.py` does (a `None` sentinel per
/// producer). Fork start method, as Python's fork context (and so the workers' peak RSS is
/// seen by this process).
fn mproc_small(sizes: &Sizes, pairs: u32) -> Result<Outcome, Error> {
    let per_producer = sizes.queue_items / u64::from(pairs);
    let samples = repeat(sizes, || {
        let queue = Queue::<Small>::new()?;
        let (ready, go) = (Barrier::new(2 * pairs + 1)?, Event::new()?);
        let mut crew = Crew {
            children: Vec::new(),
        };
        for _ in 0..pairs {
            crew.children.push(
                mproc_producer::builder()
                    .start_method(StartMethod::Fork)
                    .daemon(true)
                    .spawn(queue.clone(), ready.clone(), go.clone(), per_producer)?,
            );
        }
        for _ in 0..pairs {
            crew.children.push(
                mproc_consumer::builder()
                    .start_method(StartMethod::Fork)
                    .daemon(true)
                    .spawn(queue.clone(), ready.clone(), go.clone())?,
            );
        }
        let (start, tallies) = crew.run(&ready, &go).inspect_err(|_| queue.close())?;
        let (producers, consumers) = tallies.split_at(tallies.len() / 2);
        let put = producers.iter().map(|t| t.items).sum::<u64>();
        let got = consumers.iter().map(|t| t.items).sum::<u64>();
        let put_sum = producers.iter().fold(0u64, |s, t| s.wrapping_add(t.sum));
        let got_sum = consumers.iter().fold(0u64, |s, t| s.wrapping_add(t.sum));
        if got != put || put != per_producer * u64::from(pairs) || got_sum != put_sum {
            return Err(fail(format!(
                "consumers got {got} items (sum {got_sum}), producers put {put} (sum {put_sum})"
            )));
        }
        if queue.qsize() != 0 {
            return Err(fail("items were left in the queue"));
        }
        let last = consumers.iter().map(|t| t.end).max().unwrap_or(start);
        Ok(float(got) / (float(last.saturating_sub(start).max(1)) / 1e9))
    })?;
    Ok(Outcome::Measured(Measured::with_rss(samples)))
}

fn mproc_small_1to1(sizes: &Sizes) -> Result<Outcome, Error> {
    mproc_small(sizes, 1)
}

fn mproc_small_2to2(sizes: &Sizes) -> Result<Outcome, Error> {
    mproc_small(sizes, 2)
}

/// Item `index`'s number, in its first 8 bytes (the rest stays as the producer filled it).
fn stamp(item: &mut [u8], index: u64) {
    item[..8].copy_from_slice(&index.to_le_bytes());
}

fn stamp_of(item: &[u8]) -> Option<u64> {
    Some(u64::from_le_bytes(item.get(..8)?.try_into().ok()?))
}

/// The mproc big-item producer: puts `count` items of 1 MiB (one buffer, as Python puts one
/// `bytes` object), each stamped with its number.
#[process]
fn mproc_big_producer(
    queue: Queue<ByteBuf>,
    ready: Barrier,
    go: Event,
    count: u64,
    loan: bool,
) -> Result<Tally, String> {
    let mut item = ByteBuf(vec![7u8; MIB]);
    start_line(&ready, &go)?;
    for index in 0..count {
        stamp(&mut item.0, index);
        if loan {
            queue.put_with(MIB, |buf| buf.copy_from_slice(&item))
        } else {
            queue.put(&item)
        }
        .map_err(|e| e.to_string())?;
    }
    Ok(Tally {
        items: count,
        sum: 0,
        end: mono_ns(),
    })
}

/// The mproc big-item consumer: gets `count` items, checking each one's length (as Python
/// does), number (order, none lost) and last byte.
#[process]
fn mproc_big_consumer(
    queue: Queue<ByteBuf>,
    ready: Barrier,
    go: Event,
    count: u64,
    loan: bool,
) -> Result<Tally, String> {
    start_line(&ready, &go)?;
    let intact = |item: &[u8], index| {
        item.len() == MIB && stamp_of(item) == Some(index) && item.last() == Some(&7)
    };
    for index in 0..count {
        let ok = if loan {
            queue.get_with(|item| intact(item, index))
        } else {
            queue.get().map(|ByteBuf(item)| intact(&item, index))
        };
        if !ok.map_err(|e| e.to_string())? {
            return Err(format!("item {index} came back wrong"));
        }
    }
    Ok(Tally {
        items: count,
        sum: 0,
        end: mono_ns(),
    })
}

/// One `#[process]` producer puts `sizes.queue_big_items` 1 MiB items into an `mproc::Queue`
/// (default ring: 4 MiB, so the items go through the ring), one consumer gets them.
fn mproc_big(sizes: &Sizes) -> Result<Outcome, Error> {
    big(sizes, false)
}

/// As [`mproc_big`], with loans (`put_with`, `get_with`).
fn mproc_big_loan(sizes: &Sizes) -> Result<Outcome, Error> {
    big(sizes, true)
}

fn big(sizes: &Sizes, loan: bool) -> Result<Outcome, Error> {
    let count = sizes.queue_big_items;
    let samples = repeat(sizes, || {
        let queue = Queue::<ByteBuf>::new()?;
        let (ready, go) = (Barrier::new(3)?, Event::new()?);
        let mut crew = Crew {
            children: Vec::new(),
        };
        crew.children.push(
            mproc_big_producer::builder()
                .start_method(StartMethod::Fork)
                .daemon(true)
                .spawn(queue.clone(), ready.clone(), go.clone(), count, loan)?,
        );
        crew.children.push(
            mproc_big_consumer::builder()
                .start_method(StartMethod::Fork)
                .daemon(true)
                .spawn(queue.clone(), ready.clone(), go.clone(), count, loan)?,
        );
        let (start, tallies) = crew.run(&ready, &go).inspect_err(|_| queue.close())?;
        let end = tallies.iter().map(|t| t.end).max().unwrap_or(start);
        Ok(float(count * MIB as u64) / (float(end.saturating_sub(start).max(1)) / 1e9))
    })?;
    Ok(Outcome::Measured(Measured::with_rss(samples)))
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
