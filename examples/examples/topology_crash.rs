//! A crash in a `process!` topology: one of three producers kills itself with `SIGKILL` in
//! the middle of its work. Its queue still closes once the last producer has ended, the
//! consumer's loop still ends, and `failures()` names the replica that died and how.
//!
//! Python has no topology. By hand, each producer ends its stream with a sentinel, and the
//! consumer counts sentinels; a producer killed with `kill -9` never puts its own, so the
//! consumer waits for it forever, unless the parent notices the death and stands in:
//!
//! ```python
//! def producer(q, n):
//!     for i in range(100): q.put((n, i))
//!     q.put(None)                       # never reached if the process is killed
//!
//! def consumer(q, producers):
//!     ended = 0
//!     while ended < producers:
//!         item = q.get()                # blocks forever after a kill -9
//!         if item is None: ended += 1
//!
//! for p in producers: p.join()
//! dead = [p for p in producers if p.exitcode < 0]
//! for _ in dead: q.put(None)            # the parent stands in for the dead
//! ```
//!
//! (And had the producer been killed while its feeder thread held the queue's lock, every
//! later `put` and `get` would block: Python's docs warn that such a queue is broken.)
//!
//! What differs: the topology watches its processes. `items` closes once its last writer has
//! ended, killed or not; the consumer drains what the dead producer put before dying (its
//! puts had returned, so they are in the queue) and then its `for` loop ends. The results say
//! what happened to each replica: `done.producer[1]` is `Err(ProcessError::Killed { signal: 9 })`,
//! and `failures()` lists it as `producer [1]`.
//!
//! `cargo run --release -p examples --example topology_crash` prints (pids vary):
//!
//! ```text
//! producer-1 (pid 8815) put 10 items and now kills itself with SIGKILL
//! consumer: the queue is closed and drained after 210 items
//! producer 0: put 100 items
//! producer 1: process was killed by signal 9 (SIGKILL)
//! producer 2: put 100 items
//! consumer: 100 items from producer 0, 10 from producer 1, 100 from producer 2
//! failures(): producer [1]: process was killed by signal 9 (SIGKILL)
//! ```

#![allow(
    clippy::needless_pass_by_value,
    reason = "`#[process]` functions receive their arguments by value, deserialized"
)]

use std::time::Duration;

use mproc::prelude::*;
use mproc::topology::process;
use mproc::{QueueReader, QueueWriter};
use nix::sys::signal::{Signal, raise};

/// The example fails instead of hanging if the topology does not end within this.
const PATIENCE: Duration = Duration::from_secs(10);
const PRODUCERS: usize = 3;
const ITEMS: u32 = 100;
/// The replica that dies, and after how many items.
const DOOMED: usize = 1;
const DIES_AFTER: u32 = 10;

/// Puts `ITEMS` items tagged with `producer`, or dies by `SIGKILL` after `dies_after` of
/// them. How many it put.
#[process]
fn produce(items: QueueWriter<(usize, u32)>, producer: usize, dies_after: Option<u32>) -> u32 {
    for i in 0..ITEMS {
        if dies_after == Some(i) {
            let me = current_process();
            println!(
                "{} (pid {}) put {i} items and now kills itself with SIGKILL",
                me.name(),
                me.pid()
            );
            raise(Signal::SIGKILL).expect("raise SIGKILL");
        }
        items.put(&(producer, i)).expect("put");
    }
    ITEMS
}

/// Takes items until the queue is closed and drained: how many came from each producer.
#[process]
fn consume(items: QueueReader<(usize, u32)>) -> Vec<u32> {
    let mut per_producer = vec![0; PRODUCERS];
    for item in &items {
        let (producer, _) = item.expect("a whole item");
        per_producer[producer] += 1;
    }
    println!(
        "consumer: the queue is closed and drained after {} items",
        per_producer.iter().sum::<u32>()
    );
    per_producer
}

fn main() -> mproc::Result<()> {
    let done = process! {
        queue items: Queue<(usize, u32)>;
        producer[i]: produce(items.writer(), i, (i == DOOMED).then_some(DIES_AFTER)) * PRODUCERS;
        consumer: consume(items.reader());
    }
    .start()?
    .join_timeout(PATIENCE)?;

    for (i, outcome) in done.producer.iter().enumerate() {
        match outcome {
            Ok(n) => println!("producer {i}: put {n} items"),
            Err(e) => println!("producer {i}: {e}"),
        }
    }
    let per_producer = done.consumer.as_ref().expect("the consumer ended normally");
    println!(
        "consumer: {} items from producer 0, {} from producer 1, {} from producer 2",
        per_producer[0], per_producer[1], per_producer[2]
    );
    let failures = done.failures();
    for f in &failures {
        println!(
            "failures(): {} [{}]: {}",
            f.process,
            f.replica.expect("a replica"),
            f.error
        );
    }

    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(
        (failures[0].process, failures[0].replica),
        ("producer", Some(DOOMED))
    );
    assert!(matches!(
        failures[0].error,
        ProcessError::Killed { signal } if *signal == Signal::SIGKILL as i32
    ));
    assert!(matches!(done.producer[0], Ok(ITEMS)));
    assert!(matches!(done.producer[2], Ok(ITEMS)));
    assert_eq!(*per_producer, [ITEMS, DIES_AFTER, ITEMS]);
    Ok(())
}
