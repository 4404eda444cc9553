//! Crash tests: a process killed (SIGKILL) while holding a lock, waiting at a barrier, or
//! waiting on a condition. Python hangs in each case; here nobody hangs and the survivors are
//! told what happened.

#![allow(
    clippy::needless_pass_by_value,
    reason = "`#[process]` functions receive their arguments by value, deserialized"
)]

use integration_tests::TIMEOUT;
use std::time::Duration;

use integration_tests::sync_support::{LIMIT, eventually, in_futex_wait, wait_parked};
use mproc::prelude::*;
use mproc::{Acquired, BarrierError, ConditionError, LockError, TryLockError};

/// Takes `lock`, says so, and waits to be killed.
#[process]
fn hold_and_hang(lock: Lock, held: Event) {
    lock.acquire_timeout(TIMEOUT).unwrap();
    held.set();
    let _ = Event::new().unwrap().wait_timeout(LIMIT);
}

#[process]
fn acquire_and_report(lock: Lock) -> Result<Acquired, LockError> {
    let r = lock.acquire_timeout(LIMIT);
    let _ = lock.release();
    r
}

fn kill(child: &Child<impl serde::de::DeserializeOwned>) {
    child.kill().unwrap();
    let status = child.handle().wait_timeout(LIMIT).unwrap();
    assert_eq!(status.signal(), Some(9));
}

#[test]
fn a_killed_lock_holder_is_reported_to_the_next_acquirer() {
    for method in integration_tests::METHODS {
        let (lock, held) = (Lock::new().unwrap(), Event::new().unwrap());
        let holder = hold_and_hang::builder()
            .start_method(method)
            .spawn(lock.clone(), held.clone())
            .unwrap();
        assert!(held.wait_timeout(LIMIT).is_ok());
        let pid = holder.pid();
        kill(&holder);
        assert_eq!(
            lock.acquire_timeout(LIMIT),
            Ok(Acquired::OwnerDied { pid }),
            "{method:?}"
        );
        assert!(lock.is_locked(), "the taker holds it");
        lock.release().unwrap();
        assert_eq!(
            lock.try_acquire(),
            Ok(Acquired::Clean),
            "reported once, then a normal lock"
        );
        lock.release().unwrap();
    }
}

#[test]
fn a_parked_waiter_takes_over_when_the_holder_is_killed() {
    let (lock, held) = (Lock::new().unwrap(), Event::new().unwrap());
    let holder = hold_and_hang::spawn(lock.clone(), held.clone()).unwrap();
    assert!(held.wait_timeout(LIMIT).is_ok());
    let waiter = acquire_and_report::spawn(lock.clone()).unwrap();
    wait_parked(waiter.pid());
    let pid = holder.pid();
    kill(&holder);
    assert_eq!(
        waiter.join_timeout(LIMIT).unwrap(),
        Ok(Acquired::OwnerDied { pid })
    );
    assert!(!lock.is_locked());
}

/// Takes `lock` the way most code does, with `?` on the guard form, and reports whether the
/// code after it ran.
fn critical_section(lock: &Lock) -> Result<(), LockError> {
    let _held = lock.lock_timeout(LIMIT)?;
    Ok(())
}

/// Takes `lock` with `?` on the manual form: an `Ok`, so the caller holds it (and knows).
fn manual_section(lock: &Lock) -> Result<Acquired, LockError> {
    let how = lock.acquire_timeout(LIMIT)?;
    lock.release()?;
    Ok(how)
}

#[test]
fn question_mark_after_an_owner_death_leaves_no_lock_held() {
    let (lock, held) = (Lock::new().unwrap(), Event::new().unwrap());
    let holder = hold_and_hang::spawn(lock.clone(), held.clone()).unwrap();
    assert!(held.wait_timeout(LIMIT).is_ok());
    let pid = holder.pid();
    kill(&holder);
    // The guard form: `?` turns the guard-carrying error into `LockError::OwnerDied`; the
    // guard is dropped on the way, so the lock is free again.
    assert_eq!(critical_section(&lock), Err(LockError::OwnerDied { pid }));
    assert!(!lock.is_locked(), "`?` on the guard form released the lock");
    assert_eq!(
        critical_section(&lock),
        Ok(()),
        "and it is a normal lock again"
    );

    // The manual form: the death is in the `Ok`, and the lock is held like after any acquire.
    let held_again = Event::new().unwrap();
    let holder = hold_and_hang::spawn(lock.clone(), held_again.clone()).unwrap();
    assert!(held_again.wait_timeout(LIMIT).is_ok());
    let pid = holder.pid();
    kill(&holder);
    assert_eq!(manual_section(&lock), Ok(Acquired::OwnerDied { pid }));
    assert!(!lock.is_locked());
}

#[test]
fn try_lock_and_the_guard_forms_see_the_death_too() {
    let (lock, held) = (Lock::new().unwrap(), Event::new().unwrap());
    let holder = hold_and_hang::spawn(lock.clone(), held.clone()).unwrap();
    assert!(held.wait_timeout(LIMIT).is_ok());
    let pid = holder.pid();
    kill(&holder);
    match lock.try_lock() {
        Err(TryLockError::OwnerDied(e)) => {
            assert_eq!(e.pid(), pid);
            let guard = e.into_inner();
            assert!(lock.is_locked());
            drop(guard);
        }
        other => panic!("expected OwnerDied, got {other:?}"),
    }
    assert!(!lock.is_locked());
}

#[process]
fn hold_rlock_and_hang(lock: RLock, held: Event) {
    let _a = lock.lock_timeout(TIMEOUT).unwrap();
    let _b = lock.lock_timeout(TIMEOUT).unwrap();
    held.set();
    let _ = Event::new().unwrap().wait_timeout(LIMIT);
}

#[test]
fn a_killed_rlock_owner_is_reported_and_ownership_moves() {
    let (lock, held) = (RLock::new().unwrap(), Event::new().unwrap());
    let holder = hold_rlock_and_hang::spawn(lock.clone(), held.clone()).unwrap();
    assert!(held.wait_timeout(LIMIT).is_ok());
    let pid = holder.pid();
    kill(&holder);
    match lock.lock_timeout(LIMIT) {
        Err(TryLockError::OwnerDied(e)) => {
            assert_eq!(e.pid(), pid);
            let g = e.into_inner();
            assert!(
                lock.is_owned(),
                "recursion depth restarts at 1 for the new owner"
            );
            drop(g);
        }
        other => panic!("expected OwnerDied, got {other:?}"),
    }
    assert!(!lock.is_locked());
    assert_eq!(lock.release(), Err(LockError::NotOwner));
}

#[process]
fn hold_value_and_hang(v: Value<[u64; 4]>, held: Event) {
    let mut g = v.lock_timeout(TIMEOUT).unwrap();
    g.set([1, 1, 0, 0]); // half of an update that should have written [1, 1, 1, 1]
    held.set();
    let _ = Event::new().unwrap().wait_timeout(LIMIT);
}

#[test]
fn a_value_whose_lock_holder_died_is_marked_inconsistent() {
    let (v, held) = (Value::new([0u64; 4]).unwrap(), Event::new().unwrap());
    let holder = hold_value_and_hang::spawn(v.clone(), held.clone()).unwrap();
    assert!(held.wait_timeout(LIMIT).is_ok());
    let pid = holder.pid();
    kill(&holder);
    // The plain accessors do not hang and still see a valid value...
    assert_eq!(v.get(), [1, 1, 0, 0]);
    assert!(!v.is_consistent());
    // ...the guard reports the death until the program repairs and marks it.
    let Err(TryLockError::OwnerDied(err)) = v.lock_timeout(TIMEOUT) else {
        panic!("expected the value to report its holder's death");
    };
    assert_eq!(err.pid(), pid);
    let mut g = err.into_inner();
    g.set([1, 1, 1, 1]);
    g.mark_consistent();
    drop(g);
    assert!(v.is_consistent());
    assert_eq!(v.lock_timeout(TIMEOUT).unwrap().get(), [1, 1, 1, 1]);
}

#[process]
fn add_forever(v: Value<u64>, started: Event) {
    started.set();
    loop {
        v.fetch_add(1);
    }
}

#[test]
fn killing_an_incrementer_mid_loop_never_wedges_the_value() {
    let (v, started) = (Value::new(0u64).unwrap(), Event::new().unwrap());
    let child = add_forever::spawn(v.clone(), started.clone()).unwrap();
    assert!(started.wait_timeout(LIMIT).is_ok());
    let before = v.get();
    kill(&child);
    // Whether or not it died inside the lock, the value stays usable.
    let after = v.fetch_add(1);
    assert!(after >= before);
    assert_eq!(v.get(), after + 1);
}

#[process]
fn barrier_party(b: Barrier) -> Result<u32, BarrierError> {
    b.wait_timeout(LIMIT)
}

#[test]
fn a_killed_barrier_party_breaks_the_barrier_for_the_others() {
    let b = Barrier::new(3).unwrap();
    let victim = barrier_party::spawn(b.clone()).unwrap();
    let survivor = barrier_party::spawn(b.clone()).unwrap();
    wait_parked(victim.pid());
    wait_parked(survivor.pid());
    let pid = victim.pid();
    kill(&victim);
    assert_eq!(
        survivor.join_timeout(LIMIT).unwrap(),
        Err(BarrierError::PartyDied { pid })
    );
    assert!(b.is_broken());
    assert_eq!(b.wait_timeout(LIMIT), Err(BarrierError::PartyDied { pid }));
    b.reset();
    assert!(!b.is_broken());
    // Usable again: two parties in this process's threads and one child.
    let other = b.clone();
    let t = std::thread::spawn(move || other.wait_timeout(LIMIT));
    let c = barrier_party::spawn(b.clone()).unwrap();
    let mut idx = vec![b.wait_timeout(LIMIT).unwrap()];
    idx.push(integration_tests::threads::join(t).unwrap().unwrap());
    idx.push(c.join_timeout(LIMIT).unwrap().unwrap());
    idx.sort_unstable();
    assert_eq!(idx, [0, 1, 2]);
}

#[process]
fn cond_waiter(cond: Condition, woke: Value<u32>) -> Result<(), ConditionError> {
    let _g = cond.lock_timeout(TIMEOUT).unwrap();
    let r = cond.wait_timeout(LIMIT);
    woke.fetch_add(1);
    r
}

#[test]
fn a_killed_condition_waiter_never_blocks_notify_all() {
    let (cond, woke) = (Condition::new().unwrap(), Value::new(0u32).unwrap());
    let victim = cond_waiter::spawn(cond.clone(), woke.clone()).unwrap();
    let survivor = cond_waiter::spawn(cond.clone(), woke.clone()).unwrap();
    wait_parked(victim.pid());
    wait_parked(survivor.pid());
    kill(&victim);
    {
        let _g = cond.lock_timeout(TIMEOUT).unwrap();
        cond.notify_all().unwrap(); // Python's blocks forever here (gh-75158)
    }
    assert_eq!(survivor.join_timeout(LIMIT).unwrap(), Ok(()));
    assert_eq!(woke.get(), 1);
    // The dead waiter was counted; that costs at most a useless wake-up later.
    let _g = cond.lock_timeout(TIMEOUT).unwrap();
    cond.notify().unwrap();
    assert_eq!(
        cond.wait_timeout(Duration::from_millis(10)),
        Err(ConditionError::Timeout)
    );
}

/// A waiter killed while parked on a condition does not swallow a later `notify()`: that one
/// wake reaches a live waiter in another process (exactly one of two), and the next `notify()`
/// the other.
#[test]
fn a_killed_condition_waiter_does_not_swallow_notify_one() {
    let (cond, woke) = (Condition::new().unwrap(), Value::new(0u32).unwrap());
    // The victim parks first: in a queue of waiters it would be the first one woken.
    let victim = cond_waiter::spawn(cond.clone(), woke.clone()).unwrap();
    assert!(eventually(|| cond.waiters() == 1));
    wait_parked(victim.pid());
    let live: Vec<_> = (0..2)
        .map(|_| cond_waiter::spawn(cond.clone(), woke.clone()).unwrap())
        .collect();
    assert!(eventually(|| cond.waiters() == 3));
    for w in &live {
        wait_parked(w.pid());
    }
    kill(&victim);
    {
        let _g = cond.lock_timeout(TIMEOUT).unwrap();
        cond.notify().unwrap();
    }
    assert!(
        eventually(|| live.iter().filter(|w| w.is_alive()).count() == 1),
        "notify() after the kill woke no live waiter"
    );
    let (woken, waiting): (Vec<_>, Vec<_>) = live.iter().partition(|w| !w.is_alive());
    assert_eq!(woken[0].join_timeout(LIMIT).unwrap(), Ok(()), "notified");
    assert!(
        in_futex_wait(waiting[0].pid()),
        "notify() woke more than one"
    );
    assert_eq!(woke.get(), 1);
    {
        let _g = cond.lock_timeout(TIMEOUT).unwrap();
        cond.notify().unwrap();
    }
    assert_eq!(waiting[0].join_timeout(LIMIT).unwrap(), Ok(()));
    assert_eq!(woke.get(), 2);
}
