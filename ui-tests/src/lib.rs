//! UI tests of mproc's macros live in `tests/` (trybuild cases driven by `tests/ui.rs`).
//!
//! This library is the lint wall: it uses `#[process]` (and the other macros) on public and private functions under
//! the strictest lints a user crate might set, so generated code that trips a lint fails
//! `cargo clippy --workspace --all-targets -- -D warnings`. `tests/lints.rs` runs what it
//! generated. A library, because rustc skips `missing_docs` in test builds.

#![deny(
    warnings,
    clippy::all,
    clippy::pedantic,
    missing_docs,
    missing_debug_implementations,
    unreachable_pub,
    unused_qualifications,
    unused_results
)]

use std::time::Duration;

use mproc::pipe::{Receiver, Sender};
use mproc::prelude::*;
use mproc::topology::process;
use mproc::{QueueReader, QueueWriter, ShmBool};
use serde::{Deserialize, Serialize};

/// Work for a child.
#[derive(Debug, Serialize, Deserialize)]
pub struct Job {
    /// Which job.
    pub id: u32,
    /// Its input.
    pub values: Vec<i64>,
}

/// A record for shared memory, through the derive.
#[derive(Clone, Copy, Debug, PartialEq, ShmSafe)]
#[repr(C)]
pub struct Sample {
    /// When it was taken.
    pub at: u64,
    /// Whether it was seen.
    pub seen: ShmBool,
}

/// Sums a job's values.
#[process]
#[must_use]
pub fn total(job: Job) -> i64 {
    job.values.iter().sum()
}

/// Does nothing, in another process.
#[process]
pub fn nothing() {}

/// Takes its arguments apart.
#[process]
#[must_use]
pub fn spread((a, b): (u8, u8), mut text: String) -> String {
    text.push(char::from(a));
    text.push(char::from(b));
    text
}

/// Visible in the crate only.
#[process]
pub(crate) fn negate(x: i64) -> i64 {
    -x
}

#[process]
fn scale(factor: i64, job: Job) -> Vec<i64> {
    job.values.into_iter().map(|v| v * factor).collect()
}

/// Scales `job` by `factor` in a child and negates `x` in another, both through the spawn API
/// of private functions, waiting at most `timeout` for each.
///
/// # Errors
/// When a child cannot start or does not return in time.
pub fn scale_and_negate(
    factor: i64,
    job: Job,
    x: i64,
    timeout: Duration,
) -> mproc::Result<(Vec<i64>, i64)> {
    let scaled = scale::builder().name("scaler").spawn(factor, job)?;
    let negated = negate::spawn(x)?;
    Ok((
        scaled.join_timeout(timeout)?,
        negated.join_timeout(timeout)?,
    ))
}

/// A tally kept by a manager, through `#[managed]`.
#[derive(Debug)]
pub struct Tally {
    counts: std::collections::BTreeMap<String, u64>,
}

#[mproc::managed]
impl Tally {
    /// An empty tally.
    #[must_use]
    pub fn new() -> Self {
        Self {
            counts: std::collections::BTreeMap::new(),
        }
    }

    /// Counts `word` `n` times; returns its count.
    pub fn count(&mut self, word: String, n: u64) -> u64 {
        let count = self.counts.entry(word).or_default();
        *count += n;
        *count
    }

    /// Every count.
    #[must_use]
    pub fn snapshot(&self) -> Vec<(String, u64)> {
        self.counts.iter().map(|(w, n)| (w.clone(), *n)).collect()
    }
}

impl Default for Tally {
    fn default() -> Self {
        Self::new()
    }
}

/// Counts `words` in a `Tally` held by a manager in a child process.
///
/// # Errors
/// When the manager cannot start or a call fails.
pub fn managed_tally(words: &[&str]) -> Result<Vec<(String, u64)>, mproc::manager::ManagerError> {
    let manager = mproc::manager::Manager::builder()
        .register::<Tally>()
        .start()?;
    let tally: TallyProxy = manager.create::<Tally>(())?;
    for word in words {
        let _: u64 = tally.count((*word).to_owned(), 1)?;
    }
    let counts = tally.snapshot()?;
    manager.shutdown()?;
    Ok(counts)
}

/// The squares of a job's values, as a pool task.
#[pool_task]
#[must_use]
pub fn squares(job: Job) -> Vec<i64> {
    job.values.iter().map(|v| v * v).collect()
}

#[pool_task]
fn offset(value: i64, by: i64) -> i64 {
    value + by
}

/// Runs both pool tasks on a pool of `workers`, waiting at most `timeout` for each result.
///
/// # Errors
/// When the pool cannot start or a task fails or does not finish in time.
pub fn pooled(job: Job, workers: usize, timeout: Duration) -> mproc::Result<(Vec<i64>, Vec<i64>)> {
    let pool = Pool::new(workers)?;
    let squared = pool.apply_async(squares, job)?.get_timeout(timeout)?;
    let offsets = pool
        .starmap_async(offset, [(1, 10), (2, 20)])
        .run()?
        .get_timeout(timeout)?;
    pool.close();
    pool.join_timeout(timeout)?;
    Ok((squared, offsets))
}

/// What each process of [`topology_totals`] returned.
#[derive(Debug, PartialEq, Eq)]
pub struct Totals {
    /// How many values the feeder put.
    pub fed: usize,
    /// The sum each adder computed, in replica order.
    pub per_adder: Vec<i64>,
    /// The collector's total of the adders' sums.
    pub collected: i64,
    /// What the collector reported over the simplex pipe.
    pub report: String,
    /// The pinger's total of the echoed numbers.
    pub echoed: u64,
    /// How many processes failed: 0, or the first failure would have been returned instead.
    pub failed: usize,
    /// How many of the two idle daemons the topology stopped.
    pub stopped: usize,
}

#[process]
fn feed(jobs: QueueWriter<i64>, values: Vec<i64>, flags: QueueWriter<u8>) -> usize {
    for v in &values {
        jobs.put(v).expect("put a value");
    }
    flags.put(&1).expect("put a flag");
    values.len()
}

#[process]
fn add(jobs: QueueReader<i64>, sums: QueueWriter<i64>, adder: usize) -> i64 {
    let sum = jobs.iter().map(|v| v.expect("a whole value")).sum();
    sums.put(&sum).expect("put a sum");
    assert!(adder < 64, "few adders");
    sum
}

#[process]
fn collect(sums: QueueReader<i64>, flags: JoinableQueue<u8>, report: Sender<String>) -> i64 {
    let total = sums.iter().map(|v| v.expect("a whole sum")).sum();
    let flag = flags.get().expect("a flag");
    flags.task_done().expect("one task_done per get");
    report
        .send(&format!("total {total}, flag {flag}"))
        .expect("send the report");
    total
}

#[process]
fn hear(report: Receiver<String>) -> String {
    report.recv().expect("the report")
}

#[process]
fn ping(link: Connection<u64, u64>, count: u64) -> u64 {
    (1..=count)
        .map(|n| {
            link.send(&n).expect("send");
            link.recv().expect("echo")
        })
        .sum()
}

mod peers {
    use mproc::prelude::*;

    #[process]
    pub(crate) fn echo(link: Connection<u64, u64>) {
        while let Ok(n) = link.recv() {
            link.send(&n).expect("send back");
        }
    }

    /// Never ends on its own: the topology stops it.
    #[process]
    pub(super) fn idle() {
        loop {
            std::thread::park();
        }
    }
}

/// Sums `values` in a topology of `adders` replicated processes fed through a bounded queue,
/// with a joinable queue, a simplex pipe, a duplex pipe and daemons, waiting at most
/// `timeout`.
///
/// # Errors
/// When the topology cannot start, does not end in time, or one of its processes fails.
pub fn topology_totals(
    values: Vec<i64>,
    adders: usize,
    timeout: Duration,
) -> mproc::Result<Totals> {
    let done = process! {
        queue jobs: Queue<i64>, bounded(8);
        queue sums: Queue<i64>;
        queue flags: JoinableQueue<u8>, bounded(1);
        pipe (heard, report): Pipe<String>, simplex;
        pipe (near, far): Pipe<u64>;
        feeder: feed(jobs.writer(), values, flags.writer());
        adder[i]: add(jobs.reader(), sums.writer(), i) * adders;
        collector: collect(sums.reader(), flags, report);
        listener: hear(heard), start_method(StartMethod::Fork);
        pinger: ping(near, 3);
        echoer: peers::echo(far), daemon;
        idler: peers::idle() * 2, daemon, start_method(StartMethod::Spawn);
    }
    .start()?
    .join_timeout(timeout)?;
    let failed = done.failures().len();
    Ok(Totals {
        failed,
        stopped: done.idler.iter().filter(|r| r.is_none()).count(),
        fed: done.feeder?,
        per_adder: done.adder.into_iter().collect::<Result<_, _>>()?,
        collected: done.collector?,
        report: done.listener?,
        echoed: done.pinger?,
    })
}
