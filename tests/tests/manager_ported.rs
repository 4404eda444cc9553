//! The Manager tests of `CPython`, ported in our own words: the `ManagerMixin` runs of `_TestLock`,
//! `_TestSemaphore`, `_TestCondition`, `_TestEvent` and `_TestBarrier` (the queue, container,
//! remote, restart and exception tests are in `manager_ported_data.rs`). Source:
//! `Lib/test/_test_multiprocessing.py`.
//!
//! Where Python sleeps to let a wrong wake-up happen, these tests look right away (a correct
//! manager never wakes it, so the check cannot fail spuriously); every wait is bounded.

#![allow(
    clippy::needless_pass_by_value,
    reason = "process targets take their arguments by value: they arrive deserialized"
)]

use std::thread;
use std::time::Duration;

use integration_tests::TIMEOUT;
use integration_tests::threads;
use mproc::manager::{
    BarrierProxy, ConditionProxy, EventProxy, ListProxy, Manager, ManagerError, QueueProxy,
    RemoteError, SemaphoreProxy, ValueProxy,
};
use mproc::prelude::*;

const SHORT: Duration = Duration::from_millis(100);

fn is_remote(result: Result<impl std::fmt::Debug, ManagerError>, expected: &RemoteError) -> bool {
    matches!(result, Err(ManagerError::Remote(ref e)) if e == expected)
}

// ---- _TestLock -------------------------------------------------------------------------

#[test]
fn lock_acquire_twice_fails_and_releasing_an_unlocked_lock_is_an_error() {
    let manager = Manager::start().unwrap();
    let lock = manager.lock().unwrap();
    lock.acquire_timeout(TIMEOUT).unwrap();
    assert!(matches!(lock.try_acquire(), Err(ManagerError::WouldBlock)));
    lock.release().unwrap();
    assert!(is_remote(lock.release(), &RemoteError::NotHeld));
    manager.shutdown().unwrap();
}

#[test]
fn rlock_nests_and_refuses_one_release_too_many() {
    let manager = Manager::start().unwrap();
    let rlock = manager.rlock().unwrap();
    for _ in 0..3 {
        rlock.acquire_timeout(TIMEOUT).unwrap();
    }
    for _ in 0..3 {
        rlock.release().unwrap();
    }
    assert!(is_remote(rlock.release(), &RemoteError::NotHeld));
    manager.shutdown().unwrap();
}

#[test]
fn lock_as_a_scope_guard() {
    let manager = Manager::start().unwrap();
    let lock = manager.lock().unwrap();
    {
        let _held = lock.lock().unwrap();
        assert!(lock.is_locked().unwrap());
    }
    assert!(!lock.is_locked().unwrap());
    manager.shutdown().unwrap();
}

// ---- _TestSemaphore --------------------------------------------------------------------

/// Python's `_test_semaphore`: two permits taken, a third refused, both given back.
fn two_permits_round_trip(sem: &SemaphoreProxy) {
    assert_eq!(sem.value().unwrap(), 2);
    sem.try_acquire().unwrap();
    assert_eq!(sem.value().unwrap(), 1);
    sem.acquire_timeout(TIMEOUT).unwrap();
    assert_eq!(sem.value().unwrap(), 0);
    assert!(matches!(sem.try_acquire(), Err(ManagerError::WouldBlock)));
    sem.release().unwrap();
    assert_eq!(sem.value().unwrap(), 1);
    sem.release().unwrap();
    assert_eq!(sem.value().unwrap(), 2);
}

#[test]
fn semaphore_counts_permits_beyond_its_start() {
    let manager = Manager::start().unwrap();
    let sem = manager.semaphore(2).unwrap();
    two_permits_round_trip(&sem);
    sem.release().unwrap();
    assert_eq!(sem.value().unwrap(), 3);
    sem.release_many(1).unwrap();
    assert_eq!(sem.value().unwrap(), 4);
    manager.shutdown().unwrap();
}

#[test]
fn bounded_semaphore_refuses_to_grow() {
    // The check CPython leaves commented out (it failed on macOS there).
    let manager = Manager::start().unwrap();
    let sem = manager.bounded_semaphore(2).unwrap();
    two_permits_round_trip(&sem);
    assert!(is_remote(sem.release(), &RemoteError::OverReleased));
    assert_eq!(sem.value().unwrap(), 2);
    manager.shutdown().unwrap();
}

#[test]
fn semaphore_acquire_times_out() {
    let manager = Manager::start().unwrap();
    let sem = manager.semaphore(0).unwrap();
    assert!(matches!(sem.try_acquire(), Err(ManagerError::WouldBlock)));
    assert!(matches!(
        sem.acquire_timeout(Duration::ZERO),
        Err(ManagerError::Timeout)
    ));
    assert!(matches!(
        sem.acquire_timeout(SHORT),
        Err(ManagerError::Timeout)
    ));
    manager.shutdown().unwrap();
}

// ---- _TestCondition --------------------------------------------------------------------

/// Python's `_TestCondition.f`: take the lock, report sleeping, wait, report woken.
fn cond_sleeper(
    (cond, sleeping, woken, timeout): (ConditionProxy, SemaphoreProxy, SemaphoreProxy, Duration),
) -> Result<bool, String> {
    let fail = |e: ManagerError| e.to_string();
    cond.acquire().map_err(fail)?;
    sleeping.release().map_err(fail)?;
    let notified = match cond.wait_timeout(timeout) {
        Ok(()) => true,
        Err(ManagerError::Timeout) => false,
        Err(e) => return Err(fail(e)),
    };
    woken.release().map_err(fail)?;
    cond.release().map_err(fail)?;
    Ok(notified)
}

fn notify_under_lock(cond: &ConditionProxy, all: bool) {
    cond.acquire_timeout(TIMEOUT).unwrap();
    if all {
        cond.notify_all().unwrap();
    } else {
        cond.notify(1).unwrap();
    }
    cond.release().unwrap();
}

#[test]
fn condition_notify_wakes_one_waiter_at_a_time() {
    let manager = Manager::start().unwrap();
    let cond = manager.condition().unwrap();
    let (sleeping, woken) = (manager.semaphore(0).unwrap(), manager.semaphore(0).unwrap());
    let args = (cond.clone(), sleeping.clone(), woken.clone(), TIMEOUT);
    let process = Process::new(cond_sleeper, args.clone()).start().unwrap();
    let thread = thread::spawn(move || cond_sleeper(args));
    for _ in 0..2 {
        sleeping.acquire_timeout(TIMEOUT).unwrap();
    }
    assert_eq!(woken.value().unwrap(), 0);
    notify_under_lock(&cond, false);
    woken.acquire_timeout(TIMEOUT).unwrap();
    assert!(
        matches!(woken.try_acquire(), Err(ManagerError::WouldBlock)),
        "one notify woke two"
    );
    notify_under_lock(&cond, false);
    woken.acquire_timeout(TIMEOUT).unwrap();
    assert_eq!(process.join_timeout(TIMEOUT).unwrap(), Ok(true));
    assert_eq!(threads::join(thread).unwrap(), Ok(true));
    manager.shutdown().unwrap();
}

#[test]
fn condition_notify_all_wakes_every_waiter_and_timed_out_waiters_are_skipped() {
    let manager = Manager::start().unwrap();
    let cond = manager.condition().unwrap();
    let (sleeping, woken) = (manager.semaphore(0).unwrap(), manager.semaphore(0).unwrap());
    // First round: every waiter times out, unnotified.
    let spawn = |timeout| {
        let args = (cond.clone(), sleeping.clone(), woken.clone(), timeout);
        let process = Process::new(cond_sleeper, args.clone()).start().unwrap();
        let thread = thread::spawn(move || cond_sleeper(args));
        (process, thread)
    };
    let quiet: Vec<_> = (0..3).map(|_| spawn(SHORT)).collect();
    for _ in 0..6 {
        sleeping.acquire_timeout(TIMEOUT).unwrap();
        woken.acquire_timeout(TIMEOUT).unwrap();
    }
    for (process, thread) in quiet {
        assert_eq!(process.join_timeout(TIMEOUT).unwrap(), Ok(false));
        assert_eq!(threads::join(thread).unwrap(), Ok(false));
    }
    // Second round: six waiters, one `notify_all`.
    let loud: Vec<_> = (0..3).map(|_| spawn(TIMEOUT)).collect();
    for _ in 0..6 {
        sleeping.acquire_timeout(TIMEOUT).unwrap();
    }
    assert_eq!(woken.value().unwrap(), 0);
    notify_under_lock(&cond, true);
    for _ in 0..6 {
        woken.acquire_timeout(TIMEOUT).unwrap();
    }
    for (process, thread) in loud {
        assert_eq!(process.join_timeout(TIMEOUT).unwrap(), Ok(true));
        assert_eq!(threads::join(thread).unwrap(), Ok(true));
    }
    manager.shutdown().unwrap();
}

#[test]
fn condition_wait_times_out_and_needs_the_lock() {
    let manager = Manager::start().unwrap();
    let cond = manager.condition().unwrap();
    assert!(is_remote(cond.wait_timeout(SHORT), &RemoteError::NotHeld));
    assert!(is_remote(cond.notify(1), &RemoteError::NotHeld));
    cond.acquire_timeout(TIMEOUT).unwrap();
    assert!(matches!(
        cond.wait_timeout(Duration::ZERO),
        Err(ManagerError::Timeout)
    ));
    assert!(matches!(
        cond.wait_timeout(SHORT),
        Err(ManagerError::Timeout)
    ));
    // The lock came back after the wait.
    cond.release().unwrap();
    manager.shutdown().unwrap();
}

/// Python's `_test_waitfor_f`: announce state 0, then wait until the state reaches 4.
fn wait_for_four((cond, state): (ConditionProxy, ValueProxy<i32>)) -> Result<bool, String> {
    let _held = cond.lock().map_err(|e| e.to_string())?;
    state.set(&0).map_err(|e| e.to_string())?;
    cond.notify(1).map_err(|e| e.to_string())?;
    match cond.wait_for_timeout(|| state.get().is_ok_and(|v| v == 4), TIMEOUT) {
        Ok(()) => Ok(true),
        Err(ManagerError::Timeout) => Ok(false),
        Err(e) => Err(e.to_string()),
    }
}

#[test]
fn condition_wait_for_a_predicate_across_processes() {
    let manager = Manager::start().unwrap();
    let (cond, state) = (manager.condition().unwrap(), manager.value(&-1i32).unwrap());
    let child = Process::new(wait_for_four, (cond.clone(), state.clone()))
        .start()
        .unwrap();
    {
        let _held = cond.lock().unwrap();
        cond.wait_for_timeout(|| state.get().unwrap() == 0, TIMEOUT)
            .unwrap();
    }
    for _ in 0..4 {
        let _held = cond.lock().unwrap();
        state.add(1).unwrap();
        cond.notify(1).unwrap();
    }
    assert_eq!(child.join_timeout(TIMEOUT).unwrap(), Ok(true));
    manager.shutdown().unwrap();
}

#[test]
fn condition_wait_for_gives_up_when_the_predicate_never_holds() {
    let manager = Manager::start().unwrap();
    let (cond, state) = (manager.condition().unwrap(), manager.value(&0i32).unwrap());
    let _held = cond.lock().unwrap();
    let gave_up = cond.wait_for_timeout(|| state.get().unwrap() == 4, SHORT);
    assert!(matches!(gave_up, Err(ManagerError::Timeout)), "{gave_up:?}");
    manager.shutdown().unwrap();
}

/// Python's `_test_wait_result`: notify once under the lock.
fn notify_once(cond: ConditionProxy) -> Result<(), String> {
    let _held = cond.lock().map_err(|e| e.to_string())?;
    cond.notify(1).map_err(|e| e.to_string())
}

#[test]
fn condition_wait_reports_whether_it_was_notified() {
    let manager = Manager::start().unwrap();
    let cond = manager.condition().unwrap();
    let held = cond.lock().unwrap();
    assert!(matches!(
        cond.wait_timeout(Duration::ZERO),
        Err(ManagerError::Timeout)
    ));
    assert!(matches!(
        cond.wait_timeout(SHORT),
        Err(ManagerError::Timeout)
    ));
    // The child can only take the lock once this wait released it.
    let child = Process::new(notify_once, cond.clone()).start().unwrap();
    cond.wait_timeout(TIMEOUT).unwrap();
    assert_eq!(child.join_timeout(TIMEOUT).unwrap(), Ok(()));
    held.release().unwrap();
    manager.shutdown().unwrap();
}

// ---- _TestEvent ------------------------------------------------------------------------

fn set_event(event: EventProxy) -> Result<(), String> {
    event.set().map_err(|e| e.to_string())
}

#[test]
fn event_set_clear_and_wait() {
    let manager = Manager::start().unwrap();
    let event = manager.event().unwrap();
    assert!(!event.is_set().unwrap());
    assert!(matches!(
        event.wait_timeout(Duration::ZERO),
        Err(ManagerError::Timeout)
    ));
    assert!(matches!(
        event.wait_timeout(SHORT),
        Err(ManagerError::Timeout)
    ));
    event.set().unwrap();
    assert!(event.is_set().unwrap());
    event.wait_timeout(TIMEOUT).unwrap();
    event.wait_timeout(SHORT).unwrap();
    event.clear().unwrap();
    assert!(!event.is_set().unwrap());
    let child = Process::new(set_event, event.clone()).start().unwrap();
    event.wait_timeout(TIMEOUT).unwrap();
    assert_eq!(child.join_timeout(TIMEOUT).unwrap(), Ok(()));
    manager.shutdown().unwrap();
}

// ---- _TestBarrier ----------------------------------------------------------------------

const PARTIES: u64 = 5;

/// Python's `multipass`: in lockstep, every party counts into `before` then `after`, and at
/// each barrier sees exactly the counts of the completed phases.
fn multipass(
    (barrier, before, after, passes): (BarrierProxy, ListProxy<u8>, ListProxy<u8>, usize),
) -> Result<(), String> {
    let parties = usize::try_from(barrier.parties().map_err(|e| e.to_string())?).unwrap_or(0);
    let fail = |e: ManagerError| e.to_string();
    for i in 0..passes {
        before.push(&1).map_err(fail)?;
        if after.len().map_err(fail)? != i * parties {
            return Err(format!("pass {i}: `after` out of step"));
        }
        barrier.wait_timeout(TIMEOUT).map_err(fail)?;
        after.push(&1).map_err(fail)?;
        if before.len().map_err(fail)? != (i + 1) * parties {
            return Err(format!("pass {i}: `before` out of step"));
        }
        barrier.wait_timeout(TIMEOUT).map_err(fail)?;
    }
    if barrier.is_broken().map_err(fail)? {
        return Err("broken at the end".into());
    }
    Ok(())
}

fn barrier_in_lockstep(passes: usize) {
    let manager = Manager::start().unwrap();
    let barrier = manager.barrier(PARTIES).unwrap();
    let (before, after) = (manager.list().unwrap(), manager.list().unwrap());
    let args = (barrier.clone(), before.clone(), after.clone(), passes);
    let others: Vec<_> = (1..PARTIES)
        .map(|_| Process::new(multipass, args.clone()).start().unwrap())
        .collect();
    assert_eq!(multipass(args), Ok(()));
    for other in others {
        assert_eq!(other.join_timeout(TIMEOUT).unwrap(), Ok(()));
    }
    assert_eq!(barrier.n_waiting().unwrap(), 0);
    manager.shutdown().unwrap();
}

#[test]
fn barrier_passes_in_lockstep() {
    barrier_in_lockstep(1);
}

#[test]
fn barrier_passes_in_lockstep_ten_times() {
    barrier_in_lockstep(10);
}

fn wait_and_report((barrier, results): (BarrierProxy, QueueProxy<String>)) -> Result<(), String> {
    let outcome = match barrier.wait_timeout(TIMEOUT) {
        Ok(index) => index.to_string(),
        Err(e) => e.to_string(),
    };
    results.put(&outcome).map_err(|e| e.to_string())
}

fn run_parties(
    barrier: &BarrierProxy,
    results: &QueueProxy<String>,
    n: u64,
) -> Vec<Child<Result<(), String>>> {
    (0..n)
        .map(|_| {
            Process::new(wait_and_report, (barrier.clone(), results.clone()))
                .start()
                .unwrap()
        })
        .collect()
}

fn collect(results: &QueueProxy<String>, children: Vec<Child<Result<(), String>>>) -> Vec<String> {
    let mut outcomes: Vec<String> = children
        .iter()
        .map(|_| results.get_timeout(TIMEOUT).unwrap())
        .collect();
    for child in children {
        assert_eq!(child.join_timeout(TIMEOUT).unwrap(), Ok(()));
    }
    outcomes.sort();
    outcomes
}

#[test]
fn barrier_wait_returns_each_arrival_index_once() {
    let manager = Manager::start().unwrap();
    let barrier = manager.barrier(PARTIES).unwrap();
    let results = manager.queue().unwrap();
    let children = run_parties(&barrier, &results, PARTIES);
    assert_eq!(collect(&results, children), ["0", "1", "2", "3", "4"]);
    manager.shutdown().unwrap();
}

#[test]
fn barrier_abort_breaks_it_for_every_waiting_party() {
    let manager = Manager::start().unwrap();
    let barrier = manager.barrier(PARTIES).unwrap();
    let results = manager.queue().unwrap();
    let children = run_parties(&barrier, &results, PARTIES - 2);
    let n_waiting = || barrier.n_waiting().unwrap();
    while n_waiting() < PARTIES - 2 {
        thread::yield_now();
    }
    barrier.abort().unwrap();
    let outcomes = collect(&results, children);
    assert!(
        outcomes.iter().all(|o| o.contains("broken")),
        "{outcomes:?}"
    );
    assert!(is_remote(
        barrier.wait_timeout(SHORT),
        &RemoteError::BrokenBarrier
    ));
    manager.shutdown().unwrap();
}

#[test]
fn barrier_reset_breaks_the_waiters_then_works_again() {
    let manager = Manager::start().unwrap();
    let barrier = manager.barrier(3).unwrap();
    let results = manager.queue().unwrap();
    let children = run_parties(&barrier, &results, 2);
    while barrier.n_waiting().unwrap() < 2 {
        thread::yield_now();
    }
    barrier.reset().unwrap();
    let outcomes = collect(&results, children);
    assert!(
        outcomes.iter().all(|o| o.contains("broken")),
        "{outcomes:?}"
    );
    assert!(!barrier.is_broken().unwrap());
    let children = run_parties(&barrier, &results, 3);
    assert_eq!(collect(&results, children), ["0", "1", "2"]);
    manager.shutdown().unwrap();
}

#[test]
fn barrier_timeout_breaks_it() {
    let manager = Manager::start().unwrap();
    let barrier = manager.barrier(2).unwrap();
    assert!(is_remote(
        barrier.wait_timeout(SHORT),
        &RemoteError::BrokenBarrier
    ));
    assert!(barrier.is_broken().unwrap());
    manager.shutdown().unwrap();
}

#[test]
fn barrier_of_one_party_never_waits() {
    let manager = Manager::start().unwrap();
    let barrier = manager.barrier(1).unwrap();
    for _ in 0..3 {
        assert_eq!(barrier.wait_timeout(TIMEOUT).unwrap(), 0);
    }
    manager.shutdown().unwrap();
}
