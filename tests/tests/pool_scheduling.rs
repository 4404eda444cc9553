//! Issue #17: work is pulled, not pushed. A free worker takes the next task, so a slow task
//! delays only itself, and tasks start in the order they were submitted. Ordering is proven
//! with gates and a pipe of start reports, never with timing.

#![allow(
    clippy::needless_pass_by_value,
    reason = "task arguments arrive by value: they are deserialized in the worker"
)]

use integration_tests::gate::{self, Gate, Opener, Passed};
use integration_tests::pools::{self, TestPool};
use integration_tests::reports::{Reports, report};
use integration_tests::{METHODS, TIMEOUT};
use mproc::codec::Fd;
use mproc::prelude::*;

/// The numbers tasks report (see [`Reports`]).
struct Numbers(Reports);

impl Numbers {
    fn new() -> Self {
        Self(Reports::new())
    }

    fn writer(&self) -> Fd {
        self.0.writer()
    }

    /// The next number written, or `None` after `TIMEOUT`.
    fn next(&self) -> Option<u32> {
        self.0.next().map(u32::from_le_bytes)
    }
}

/// Writes `n` (4 bytes: one atomic pipe write).
fn say(to: &Fd, n: u32) {
    report(to, n.to_le_bytes());
}

/// Waits (at most `TIMEOUT`) until the test opens `gate`; says whether it was opened.
fn slow(gate: Gate) -> bool {
    gate.wait(TIMEOUT) == Passed::Opened
}

fn quick(x: u32) -> u32 {
    x + 1
}

/// One slow task and many quick ones on 5 workers: every quick task finishes while the slow one
/// is still held (the test releases it only afterwards). Pushed to workers ahead of time, the
/// quick tasks queued behind the slow one waited for it, and this timed out.
#[test]
fn a_slow_task_delays_only_itself() {
    for method in METHODS {
        let pool = pools::pool(5, method);
        let (release, held) = gate::gate();
        let slow = pool.apply_async(slow, held).unwrap();
        let quick: Vec<_> = (0..40)
            .map(|x| pool.apply_async(quick, x).unwrap())
            .collect();
        for (x, result) in (0..).zip(quick) {
            assert_eq!(result.get_timeout(TIMEOUT).unwrap(), x + 1, "{method:?}");
        }
        assert!(!slow.ready(), "{method:?}: the slow task is still held");
        release.open();
        assert!(slow.get_timeout(TIMEOUT).unwrap(), "{method:?}");
    }
}

/// The same through `map` with chunks of one, and `imap_unordered`: the slow task's result is
/// the last to come, and comes only once released.
#[test]
fn map_and_imap_unordered_run_around_a_slow_task() {
    let pool = pools::pool(5, StartMethod::default());
    let (release, held) = gate::gate();
    let mut release = Some(release);
    let items = (0..30u32).map(|x| (x, None));
    let gated = std::iter::once((0, Some(held))).chain(items);
    let mut results = pool.imap_unordered(gated_task, gated);
    let mut seen = Vec::new();
    while let Some(result) = results.next_timeout(TIMEOUT) {
        let (x, was_held) = result.unwrap();
        if was_held {
            assert_eq!(seen.len(), 30, "the slow task came after all the others");
        }
        seen.push(x);
        if seen.len() == 30 {
            // Every quick task is done while the slow one is held: let it go.
            release.take().unwrap().open();
        }
    }
    assert_eq!(seen.len(), 31);
}

fn gated_task((x, gate): (u32, Option<Gate>)) -> (u32, bool) {
    let held = gate.is_some_and(slow);
    (x, held)
}

/// Says `i` has started, then waits for its own gate.
fn started_then_wait((i, reports, gate): (u32, Fd, Gate)) -> u32 {
    say(&reports, i);
    let _ = gate.wait(TIMEOUT);
    i
}

/// Tasks start in submission order: with two workers each held in a task, the worker freed
/// next starts the oldest task waiting, whichever worker that is. Tasks are released newest
/// first, so a worker that had tasks of its own queued (pushed to it ahead of time) would start
/// one of those instead.
#[test]
fn tasks_start_in_submission_order() {
    const TASKS: u32 = 12;
    let pool = TestPool::from(Pool::builder().processes(2).build().unwrap());
    let reports = Numbers::new();
    let mut openers: Vec<Option<Opener>> = Vec::new();
    let mut results = Vec::new();
    for i in 0..TASKS {
        let (opener, gate) = gate::gate();
        openers.push(Some(opener));
        results.push(
            pool.apply_async(started_then_wait, (i, reports.writer(), gate))
                .unwrap(),
        );
    }
    let mut running = vec![reports.next().unwrap(), reports.next().unwrap()];
    running.sort_unstable();
    assert_eq!(running, [0, 1], "the first two tasks start first");
    for next in 2..TASKS {
        // Release the newer of the two running tasks: its worker must start `next`.
        let newest = running.iter().copied().max().unwrap();
        openers[newest as usize].take().unwrap().open();
        let started = reports.next().expect("a task started");
        assert_eq!(started, next, "after {running:?}, task {started} started");
        running.retain(|&r| r != newest);
        running.push(started);
    }
    for opener in openers.iter_mut().filter_map(Option::take) {
        opener.open();
    }
    for (i, result) in (0..).zip(results) {
        assert_eq!(result.get_timeout(TIMEOUT).unwrap(), i);
    }
}
