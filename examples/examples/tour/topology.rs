//! Topologies: a pipeline declared with `process!` (queues closed for you, a result per stage,
//! a daemon stopped at the end), and a producer killed with `kill -9` whose queue still closes.

use std::time::Duration;

use mproc::prelude::*;
use mproc::topology::process;
use mproc::{QueueReader, QueueWriter};
use nix::sys::signal::{Signal, raise};

use super::section;

/// No wait in the tour should take anywhere near this long.
const PATIENCE: Duration = Duration::from_secs(10);
const NUMBERS: u64 = 1000;
const WORKERS: usize = 4;

/// Stage 1: puts `0..count`.
#[process]
fn numbers(out: QueueWriter<u64>, count: u64) -> u64 {
    for n in 0..count {
        out.put(&n).expect("put");
    }
    count
}

/// Stage 2: squares what it takes until its input is closed and drained; how many it took.
#[process]
fn squares(input: QueueReader<u64>, out: QueueWriter<u64>) -> u64 {
    let mut taken = 0;
    for n in &input {
        let n = n.expect("a whole item");
        out.put(&(n * n)).expect("put");
        taken += 1;
    }
    taken
}

/// Stage 3: the sum of everything, once its input is closed and drained.
#[process]
fn sum(input: QueueReader<u64>) -> u64 {
    input.iter().map(|n| n.expect("a whole item")).sum()
}

/// A daemon that never ends on its own.
#[process]
fn idle() {
    loop {
        std::thread::park();
    }
}

/// Puts `count` items, or dies by `SIGKILL` after `dies_after` of them.
#[process]
fn put_or_die(out: QueueWriter<u64>, count: u64, dies_after: Option<u64>) -> u64 {
    for n in 0..count {
        if dies_after == Some(n) {
            raise(Signal::SIGKILL).expect("raise SIGKILL");
        }
        out.put(&n).expect("put");
    }
    count
}

/// How many items it took before the queue was closed and drained.
#[process]
fn count(input: QueueReader<u64>) -> usize {
    input.iter().count()
}

fn pipeline() -> mproc::Result<()> {
    section("topology: numbers → squares × 4 → sum, declared with process!, no sentinels");
    let done = process! {
        queue raw: Queue<u64>, bounded(32);
        queue squared: Queue<u64>, bounded(32);
        source: numbers(raw.writer(), NUMBERS);
        worker: squares(raw.reader(), squared.writer()) * WORKERS;
        sink: sum(squared.reader());
        bystander: idle(), daemon;
    }
    .start()?
    .join_timeout(PATIENCE)?;
    assert!(done.failures().is_empty(), "{:?}", done.failures());
    let per_worker: Vec<u64> = done.worker.into_iter().collect::<Result<_, _>>()?;
    let (source, sink) = (done.source?, done.sink?);
    println!("source put {source}; workers squared {per_worker:?}; sink summed {sink}");
    println!(
        "the daemon was stopped when the rest had ended: {:?}",
        done.bystander
    );
    assert_eq!(source, NUMBERS);
    assert_eq!(per_worker.iter().sum::<u64>(), NUMBERS);
    assert_eq!(sink, (0..NUMBERS).map(|n| n * n).sum::<u64>());
    assert!(done.bystander.is_none());
    Ok(())
}

fn killed_writer() -> mproc::Result<()> {
    section("topology: a producer killed with kill -9 mid-stream; its queue still closes");
    let done = process! {
        queue items: Queue<u64>;
        producer[i]: put_or_die(items.writer(), 50, (i == 1).then_some(20)) * 2;
        consumer: count(items.reader());
    }
    .start()?
    .join_timeout(PATIENCE)?;
    let failures = done.failures();
    for f in &failures {
        let replica = f.replica.map_or(String::new(), |i| format!(" [{i}]"));
        println!("failed: {}{replica}: {}", f.process, f.error);
    }
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(
        (failures[0].process, failures[0].replica),
        ("producer", Some(1))
    );
    assert!(matches!(failures[0].error, ProcessError::Killed { signal } if *signal == 9));
    let taken = done.consumer?;
    println!("the consumer's loop ended after {taken} items: 50 + the 20 put before the kill");
    assert_eq!(taken, 70);
    Ok(())
}

pub(crate) fn run() -> mproc::Result<()> {
    pipeline()?;
    killed_writer()
}
