//! `Semaphore`, `BoundedSemaphore` and `Event` across real processes: `CPython`'s
//! `_TestSemaphore` and `_TestEvent` behaviours and the timeout matrix.

#![allow(
    clippy::needless_pass_by_value,
    reason = "`#[process]` functions receive their arguments by value, deserialized"
)]

use integration_tests::TIMEOUT;
use std::time::Duration;

use integration_tests::sync_support::{LIMIT, wait_parked};
use mproc::SemaphoreError;
use mproc::prelude::*;

const SHORT: Duration = Duration::from_millis(30);

#[test]
fn semaphore_counts_as_cpython() {
    // CPython _test_semaphore: value 2 → acquire → 1 → acquire → 0 → acquire(False) fails →
    // release → 1 → release → 2 (a plain Semaphore may go above its start value).
    let sem = Semaphore::new(2).unwrap();
    assert_eq!(sem.value(), 2);
    sem.acquire_timeout(TIMEOUT).unwrap();
    assert_eq!(sem.value(), 1);
    assert_eq!(sem.try_acquire(), Ok(()));
    assert_eq!(sem.value(), 0);
    assert_eq!(sem.try_acquire(), Err(SemaphoreError::WouldBlock));
    assert_eq!(sem.acquire_timeout(SHORT), Err(SemaphoreError::Timeout));
    assert_eq!(
        sem.acquire_timeout(Duration::ZERO),
        Err(SemaphoreError::Timeout)
    );
    sem.release().unwrap();
    sem.release().unwrap();
    sem.release().unwrap();
    assert_eq!(sem.value(), 3);
    sem.release_n(4).unwrap();
    assert_eq!(sem.value(), 7);
    let big = Semaphore::new(Semaphore::MAX).unwrap();
    assert_eq!(big.release(), Err(SemaphoreError::TooManyReleases));
}

#[test]
fn bounded_semaphore_refuses_over_release() {
    let sem = BoundedSemaphore::new(2).unwrap();
    assert_eq!(sem.release(), Err(SemaphoreError::TooManyReleases));
    sem.acquire_timeout(TIMEOUT).unwrap();
    sem.release().unwrap();
    assert_eq!(sem.release(), Err(SemaphoreError::TooManyReleases));
    assert_eq!(sem.value(), 2);
    assert_eq!(sem.max_value(), 2);
}

#[process]
fn take_one(sem: Semaphore, took: Event) -> bool {
    sem.acquire_timeout(TIMEOUT).unwrap();
    took.set();
    true
}

#[test]
fn waiters_in_other_processes_are_woken_one_per_release() {
    for method in integration_tests::METHODS {
        let sem = Semaphore::new(0).unwrap();
        let (e1, e2) = (Event::new().unwrap(), Event::new().unwrap());
        let a = take_one::builder()
            .start_method(method)
            .spawn(sem.clone(), e1.clone())
            .unwrap();
        let b = take_one::builder()
            .start_method(method)
            .spawn(sem.clone(), e2.clone())
            .unwrap();
        wait_parked(a.pid());
        wait_parked(b.pid());
        sem.release().unwrap();
        // Exactly one gets through: wait for one, then check the other is still parked.
        let first_is_a = loop {
            if e1.wait_timeout(Duration::from_millis(1)).is_ok() {
                break true;
            }
            if e2.wait_timeout(Duration::from_millis(1)).is_ok() {
                break false;
            }
        };
        let (done, other, other_event) = if first_is_a {
            (&a, &b, &e2)
        } else {
            (&b, &a, &e1)
        };
        assert!(done.join_timeout(LIMIT).unwrap());
        wait_parked(other.pid());
        assert!(
            !other_event.is_set(),
            "{method:?}: one release let two through"
        );
        assert_eq!(sem.value(), 0);
        sem.release().unwrap();
        assert!(other.join_timeout(LIMIT).unwrap());
        assert_eq!(sem.value(), 0);
    }
}

#[test]
fn semaphore_guards_give_back_their_permit() {
    let sem = BoundedSemaphore::new(1).unwrap();
    {
        let _g = sem.guard_timeout(TIMEOUT).unwrap();
        assert!(sem.try_guard().is_err());
        assert!(matches!(
            sem.guard_timeout(SHORT),
            Err(SemaphoreError::Timeout)
        ));
    }
    assert_eq!(sem.value(), 1);
    let s2 = Semaphore::new(1).unwrap();
    drop(s2.guard_timeout(SHORT).unwrap());
    assert_eq!(s2.value(), 1);
}

#[test]
fn event_as_cpython() {
    // CPython _test_event: unset → wait(0) False, wait(timeout) False; set → is_set, wait
    // returns True at once; clear → False again.
    let e = Event::new().unwrap();
    assert!(!e.is_set());
    assert!(e.try_wait().is_err());
    assert!(e.wait_timeout(Duration::ZERO).is_err());
    assert!(e.wait_timeout(SHORT).is_err());
    e.set();
    assert!(e.is_set());
    assert!(e.wait_timeout(Duration::ZERO).is_ok());
    assert!(e.wait_timeout(TIMEOUT).is_ok());
    e.set(); // idempotent
    e.clear();
    assert!(!e.is_set());
    assert!(e.wait_timeout(SHORT).is_err());
    assert_eq!(format!("{e:?}"), "Event { set: false }");
}

#[process]
fn wait_event(e: Event, timeout_ms: u64) -> bool {
    e.wait_timeout(Duration::from_millis(timeout_ms)).is_ok()
}

#[test]
fn one_set_wakes_every_waiting_process() {
    let e = Event::new().unwrap();
    let waiters: Vec<_> = (0..4)
        .map(|i| {
            let method = if i % 2 == 0 {
                StartMethod::Fork
            } else {
                StartMethod::Spawn
            };
            let limit = u64::try_from(LIMIT.as_millis()).unwrap();
            wait_event::builder()
                .start_method(method)
                .spawn(e.clone(), limit)
                .unwrap()
        })
        .collect();
    for w in &waiters {
        wait_parked(w.pid());
    }
    e.set();
    for w in waiters {
        assert!(w.join_timeout(LIMIT).unwrap());
    }
}

#[test]
fn a_child_times_out_on_an_unset_event() {
    let e = Event::new().unwrap();
    let child = wait_event::spawn(e.clone(), 20).unwrap();
    assert!(!child.join_timeout(LIMIT).unwrap());
}
