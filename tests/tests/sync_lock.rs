//! `Lock` and `RLock` across real processes: `CPython`'s `_TestLock` behaviours, the timeout
//! matrix, release by another process, guards, and handles under Fork and Spawn.

#![allow(
    clippy::needless_pass_by_value,
    reason = "`#[process]` functions receive their arguments by value, deserialized"
)]

use integration_tests::TIMEOUT;
use std::time::Duration;

use integration_tests::sync_support::{LIMIT, wait_parked};
use mproc::prelude::*;
use mproc::{LockError, TryLockError};

const SHORT: Duration = Duration::from_millis(30);

/// Holds `lock` until `go` is set; reports through `held` once it has it.
#[process]
fn hold_until(lock: Lock, held: Event, go: Event) -> bool {
    lock.acquire_timeout(TIMEOUT).unwrap();
    held.set();
    let released = go.wait_timeout(LIMIT).is_ok();
    lock.release().unwrap();
    released
}

#[process]
fn release_it(lock: Lock) -> Result<(), LockError> {
    lock.release()
}

#[process]
fn try_it(lock: Lock) -> Result<Acquired, LockError> {
    lock.try_acquire()
}

#[process]
fn acquire_blocking(lock: Lock) -> bool {
    lock.acquire_timeout(TIMEOUT).unwrap();
    lock.release().is_ok()
}

#[test]
fn acquire_release_sequence_as_cpython() {
    // CPython: acquire() True, acquire(False) False, release() None, release() raises.
    let lock = Lock::new().unwrap();
    let untimed = lock.clone();
    let got = integration_tests::threads::bounded(move || untimed.acquire());
    assert_eq!(got, Ok(Acquired::Clean));
    assert!(lock.is_locked());
    assert_eq!(lock.try_acquire(), Err(LockError::WouldBlock));
    assert_eq!(lock.acquire_timeout(SHORT), Err(LockError::Timeout));
    assert_eq!(lock.release(), Ok(()));
    assert_eq!(lock.release(), Err(LockError::NotLocked));
    assert!(!lock.is_locked());
}

#[test]
fn the_timeout_matrix_against_a_holder_in_another_process() {
    for method in integration_tests::METHODS {
        let (lock, held, go) = (
            Lock::new().unwrap(),
            Event::new().unwrap(),
            Event::new().unwrap(),
        );
        let child = hold_until::builder()
            .start_method(method)
            .spawn(lock.clone(), held.clone(), go.clone())
            .unwrap();
        assert!(
            held.wait_timeout(LIMIT).is_ok(),
            "{method:?}: child never got the lock"
        );
        assert_eq!(lock.try_acquire(), Err(LockError::WouldBlock));
        assert_eq!(
            lock.acquire_timeout(Duration::ZERO),
            Err(LockError::Timeout)
        );
        assert_eq!(lock.acquire_timeout(SHORT), Err(LockError::Timeout));
        assert!(matches!(lock.try_lock(), Err(TryLockError::WouldBlock)));
        assert!(matches!(
            lock.lock_timeout(SHORT),
            Err(TryLockError::Timeout)
        ));
        go.set();
        assert_eq!(
            lock.acquire_timeout(LIMIT),
            Ok(Acquired::Clean),
            "{method:?}"
        );
        lock.release().unwrap();
        assert!(child.join_timeout(LIMIT).unwrap());
    }
}

#[test]
fn a_waiter_parked_in_the_kernel_is_woken_by_release() {
    let lock = Lock::new().unwrap();
    lock.acquire_timeout(TIMEOUT).unwrap();
    let child = acquire_blocking::spawn(lock.clone()).unwrap();
    wait_parked(child.pid());
    lock.release().unwrap();
    assert!(child.join_timeout(LIMIT).unwrap());
    assert!(!lock.is_locked());
}

#[test]
fn any_process_may_release_as_in_python() {
    let lock = Lock::new().unwrap();
    lock.acquire_timeout(TIMEOUT).unwrap();
    let child = release_it::spawn(lock.clone()).unwrap();
    assert_eq!(child.join_timeout(LIMIT).unwrap(), Ok(()));
    assert!(!lock.is_locked());
    // And releasing an unlocked lock from a child is the typed error.
    let child = release_it::spawn(lock.clone()).unwrap();
    assert_eq!(
        child.join_timeout(LIMIT).unwrap(),
        Err(LockError::NotLocked)
    );
}

#[test]
fn the_guard_releases_on_drop_and_on_panic() {
    let lock = Lock::new().unwrap();
    {
        let _g = lock.lock_timeout(TIMEOUT).unwrap();
        assert!(lock.is_locked());
        let child = try_it::spawn(lock.clone()).unwrap();
        assert_eq!(
            child.join_timeout(LIMIT).unwrap(),
            Err(LockError::WouldBlock)
        );
    }
    assert!(!lock.is_locked());
    let child = Process::new(
        |lock: Lock| -> () {
            let _g = lock.lock_timeout(TIMEOUT).unwrap();
            panic!("boom while holding");
        },
        lock.clone(),
    )
    .start()
    .unwrap();
    assert!(matches!(
        child.join_timeout(LIMIT),
        Err(ProcessError::Panicked { .. })
    ));
    assert!(!lock.is_locked(), "the unwinding guard released the lock");
}

#[test]
fn a_guard_does_not_release_the_next_holder() {
    let lock = Lock::new().unwrap();
    let guard = lock.lock_timeout(TIMEOUT).unwrap();
    lock.release().unwrap(); // someone releases it (Python allows)
    let child = try_it::spawn(lock.clone()).unwrap(); // and another process takes it
    assert_eq!(child.join_timeout(LIMIT).unwrap(), Ok(Acquired::Clean));
    drop(guard);
    assert!(
        lock.is_locked(),
        "the stale guard left the child's hold alone"
    );
    lock.release().unwrap();
}

#[process]
fn rlock_from_child(lock: RLock) -> (Result<(), LockError>, Result<Acquired, LockError>) {
    (lock.release(), lock.try_acquire())
}

#[test]
fn rlock_recursion_and_ownership() {
    // CPython _TestRLock: acquire x3, release x3, then release raises.
    let lock = RLock::new().unwrap();
    for _ in 0..3 {
        lock.acquire_timeout(TIMEOUT).unwrap();
    }
    assert!(lock.is_owned());
    let child = rlock_from_child::spawn(lock.clone()).unwrap();
    let (release, try_acquire) = child.join_timeout(LIMIT).unwrap();
    assert_eq!(release, Err(LockError::NotOwner), "a non-owner process");
    assert_eq!(try_acquire, Err(LockError::WouldBlock));
    let other = lock.clone();
    let from_thread = std::thread::spawn(move || (other.release(), other.try_acquire()))
        .join()
        .unwrap();
    assert_eq!(
        from_thread,
        (Err(LockError::NotOwner), Err(LockError::WouldBlock))
    );
    for _ in 0..3 {
        lock.release().unwrap();
    }
    assert_eq!(lock.release(), Err(LockError::NotOwner));
    assert!(!lock.is_locked());
    {
        let _a = lock.lock_timeout(TIMEOUT).unwrap();
        let _b = lock.try_lock().unwrap();
        let _c = lock.lock_timeout(SHORT).unwrap();
    }
    assert!(!lock.is_locked());
}

#[test]
fn rlock_owned_by_a_child_is_released_by_it() {
    for method in integration_tests::METHODS {
        let lock = RLock::new().unwrap();
        let (held, go) = (Event::new().unwrap(), Event::new().unwrap());
        let child = Process::new(
            |(lock, held, go): (RLock, Event, Event)| {
                let _a = lock.lock_timeout(TIMEOUT).unwrap();
                let _b = lock.lock_timeout(TIMEOUT).unwrap();
                held.set();
                go.wait_timeout(LIMIT).is_ok()
            },
            (lock.clone(), held.clone(), go.clone()),
        )
        .start_method(method)
        .start()
        .unwrap();
        assert!(held.wait_timeout(LIMIT).is_ok());
        assert_eq!(lock.acquire_timeout(SHORT), Err(LockError::Timeout));
        go.set();
        assert!(child.join_timeout(LIMIT).unwrap());
        assert_eq!(lock.try_acquire(), Ok(Acquired::Clean), "{method:?}");
        lock.release().unwrap();
    }
}

#[test]
fn handles_compare_and_debug() {
    let lock = Lock::new().unwrap();
    assert_eq!(lock, lock.clone());
    assert_ne!(lock, Lock::new().unwrap());
    assert_eq!(format!("{lock:?}"), "Lock { locked: false }");
    let r = RLock::new().unwrap();
    let _g = r.lock_timeout(TIMEOUT).unwrap();
    assert!(format!("{r:?}").contains("depth: 1"));
}
