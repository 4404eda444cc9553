//! `loom` models of the condition (`sync::condition::CondState`) and the recursive lock it
//! releases and takes again (`sync::rlock::RLockState`): a notify is never lost (`notify`,
//! `notify_all`, `wait_for`), a waiter that dies holding the lock leaves the others able to
//! go on (told `OwnerDied`, holding the lock), and the recursive lock excludes, recurses and
//! is taken over from a dead owner.
//!
//! The condition's waits have no deadline here, so a notify that forgets to wake a waiter
//! leaves it blocked, which loom reports as a deadlock. The predicate's data is a plain
//! `loom` cell read and written only under the lock, so a lock that does not order its
//! holders is a reported data race.

use loom::cell::UnsafeCell;
use loom::sync::Arc;
use loom::sync::atomic::Ordering::SeqCst;
use loom::thread;

use super::{DEAD, DIED, DiesWhileHeld, Model, SevenIsDead, model, play};
use crate::sync::condition::CondState;
use crate::sync::error::{ConditionError, LockError};
use crate::sync::park::Park;
use crate::sync::raw_lock::Acquired;
use crate::sync::rlock::RLockState;

/// A condition, its lock, and a number the lock guards.
struct Shared {
    lock: RLockState,
    cond: CondState,
    data: UnsafeCell<u32>,
}

// SAFETY: `data` is only accessed by the lock's holder; loom checks every access for races,
// which is what the models test.
unsafe impl Sync for Shared {}

impl Shared {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            lock: RLockState::new(),
            cond: CondState::new(),
            data: UnsafeCell::new(0),
        })
    }

    /// The guarded number; the caller holds the lock.
    fn get(&self) -> u32 {
        // SAFETY: the caller holds the lock; loom reports the access if it races.
        self.data.with(|p| unsafe { *p })
    }

    /// Sets the guarded number; the caller holds the lock.
    fn set(&self, value: u32) {
        // SAFETY: as in `get`.
        self.data.with_mut(|p| unsafe { *p = value });
    }

    fn lock<P: Park>(&self) -> Acquired {
        self.lock.acquire_in::<P>(None, false).unwrap()
    }

    fn unlock<P: Park>(&self) {
        self.lock.release_in::<P>().unwrap();
    }

    /// Holding the lock: waits until the number is at least `at_least`.
    fn wait_for<P: Park>(&self, at_least: u32) -> Result<(), ConditionError> {
        self.cond
            .wait_for::<P>(&self.lock, || self.get() >= at_least, None)
    }

    /// Takes a token: waits for the number to be positive and decrements it.
    fn take_token(&self) {
        self.lock::<Model>();
        self.wait_for::<Model>(1).unwrap();
        self.set(self.get() - 1);
        self.unlock::<Model>();
    }

    /// Adds a token and notifies `n` waiters.
    fn give_token(&self, n: u32) {
        self.lock::<Model>();
        self.set(self.get() + 1);
        self.cond.notify::<Model>(&self.lock, n).unwrap();
        self.unlock::<Model>();
    }
}

fn spawn_as<T: Send + 'static>(
    id: u64,
    s: &Arc<Shared>,
    f: impl FnOnce(&Shared) -> T + Send + 'static,
) -> thread::JoinHandle<T> {
    let s = s.clone();
    thread::spawn(move || {
        play(id);
        f(&s)
    })
}

#[test]
fn loom_condition_notify_wakes_the_waiter() {
    model(|| {
        let s = Shared::new();
        let waiter = spawn_as(1, &s, Shared::take_token);
        play(2);
        s.give_token(1);
        waiter.join().unwrap();
        s.lock::<Model>();
        assert_eq!(s.get(), 0, "the waiter took the token");
        assert_eq!(s.cond.waiters(), 0);
    });
}

#[test]
fn loom_condition_notify_one_per_token_loses_no_wakeup() {
    model(|| {
        let s = Shared::new();
        let waiters: Vec<_> = (1..=2)
            .map(|id| spawn_as(id, &s, Shared::take_token))
            .collect();
        play(3);
        s.give_token(1);
        s.give_token(1);
        for w in waiters {
            w.join().unwrap();
        }
        s.lock::<Model>();
        assert_eq!(s.get(), 0);
        assert_eq!(s.cond.waiters(), 0);
    });
}

#[test]
fn loom_condition_notify_all_wakes_every_waiter() {
    model(|| {
        let s = Shared::new();
        let waiters: Vec<_> = (1..=2)
            .map(|id| {
                spawn_as(id, &s, |s| {
                    s.lock::<Model>();
                    s.wait_for::<Model>(1).unwrap();
                    s.unlock::<Model>();
                })
            })
            .collect();
        play(3);
        s.lock::<Model>();
        s.set(1);
        s.cond.notify::<Model>(&s.lock, u32::MAX).unwrap();
        s.unlock::<Model>();
        for w in waiters {
            w.join().unwrap();
        }
        assert_eq!(s.cond.waiters(), 0);
    });
}

#[test]
fn loom_condition_wait_and_notify_without_the_lock_are_refused() {
    model(|| {
        let s = Shared::new();
        play(1);
        assert!(matches!(
            s.cond.notify::<Model>(&s.lock, 1),
            Err(ConditionError::NotOwner)
        ));
        assert!(matches!(
            s.cond.wait::<Model>(&s.lock, None),
            Err(ConditionError::NotOwner)
        ));
        assert_eq!(s.cond.waiters(), 0);
    });
}

/// A waiter, [`DEAD`], dies holding the lock as soon as its wait returns. The notifier's
/// `notify_all` never waits for it, and the notifier's next `lock` always ends holding the
/// lock: cleanly if it came before the waiter took the lock back, or taken over from the
/// dead waiter (`OwnerDied`, the dead pid recorded) if after; never a hang.
#[test]
fn loom_condition_a_waiter_that_dies_holding_the_lock_does_not_strand_the_notifier() {
    model(|| {
        DIED.store(false, SeqCst);
        let s = Shared::new();
        let dying = spawn_as(DEAD, &s, |s| {
            s.lock::<DiesWhileHeld>();
            s.wait_for::<DiesWhileHeld>(1).unwrap();
            DIED.store(true, SeqCst); // dies: never releases
        });
        play(1);
        s.lock::<DiesWhileHeld>();
        s.set(1);
        s.cond.notify::<DiesWhileHeld>(&s.lock, u32::MAX).unwrap();
        s.unlock::<DiesWhileHeld>();
        let again = s.lock::<DiesWhileHeld>();
        match again {
            Acquired::Clean => assert_eq!(s.lock.died(), None),
            Acquired::OwnerDied(DEAD) => assert_eq!(s.lock.died(), Some(7)),
            Acquired::OwnerDied(other) => panic!("taken from {other}"),
        }
        s.unlock::<DiesWhileHeld>();
        dying.join().unwrap();
    });
}

/// The notifier, [`DEAD`], dies holding the lock right after `notify_all`. The waiter always
/// ends holding the lock with the update visible, and learns of the death exactly once:
/// from its first `lock` (if it came after the death) or from its wait (`OwnerDied`, the
/// lock held again), never both, never neither.
#[test]
fn loom_condition_a_notifier_that_dies_holding_the_lock_does_not_strand_the_waiter() {
    model(|| {
        DIED.store(false, SeqCst);
        let s = Shared::new();
        let dying = spawn_as(DEAD, &s, |s| {
            s.lock::<DiesWhileHeld>();
            s.set(1);
            s.cond.notify::<DiesWhileHeld>(&s.lock, u32::MAX).unwrap();
            DIED.store(true, SeqCst); // dies: never releases
        });
        play(1);
        let first = s.lock::<DiesWhileHeld>();
        let waited = s.wait_for::<DiesWhileHeld>(1);
        assert!(s.lock.is_owned_by_caller_in::<DiesWhileHeld>());
        assert_eq!(s.get(), 1, "the notifier's update is visible");
        s.unlock::<DiesWhileHeld>();
        dying.join().unwrap();
        match (first, waited) {
            (Acquired::OwnerDied(DEAD), Ok(()))
            | (Acquired::Clean, Err(ConditionError::Lock(LockError::OwnerDied { pid: 7 }))) => {
                assert_eq!(s.lock.died(), Some(7));
            }
            other => panic!("the death was not reported exactly once: {other:?}"),
        }
    });
}

#[test]
fn loom_rlock_recurses_and_excludes() {
    model(|| {
        let s = Shared::new();
        let others: Vec<_> = (1..=2)
            .map(|id| {
                spawn_as(id, &s, |s| {
                    assert_eq!(s.lock::<Model>(), Acquired::Clean);
                    assert_eq!(s.lock::<Model>(), Acquired::Clean, "the owner recurses");
                    s.set(s.get() + 1);
                    s.unlock::<Model>();
                    assert!(s.lock.is_owned_by_caller_in::<Model>(), "one level left");
                    s.unlock::<Model>();
                    assert!(matches!(
                        s.lock.release_in::<Model>(),
                        Err(LockError::NotOwner)
                    ));
                })
            })
            .collect();
        for t in others {
            t.join().unwrap();
        }
        play(3);
        s.lock::<Model>();
        assert_eq!(s.get(), 2, "an update was lost");
    });
}

#[test]
fn loom_rlock_a_dead_owners_levels_are_taken_over_once() {
    model(|| {
        let s = Shared::new();
        // The owner takes two levels, updates the data and dies holding them.
        spawn_as(DEAD, &s, |s| {
            s.lock::<SevenIsDead>();
            s.lock::<SevenIsDead>();
            s.set(1);
        })
        .join()
        .unwrap();
        let takers: Vec<_> = (1..=2)
            .map(|id| {
                spawn_as(id, &s, |s| {
                    let how = s.lock.acquire_in::<SevenIsDead>(None, true).ok()?;
                    let seen = s.get();
                    s.set(seen + 1);
                    // One level: the dead owner's depth is not inherited.
                    s.unlock::<SevenIsDead>();
                    assert!(!s.lock.is_owned_by_caller_in::<SevenIsDead>());
                    Some((how, seen))
                })
            })
            .collect();
        let got: Vec<_> = takers.into_iter().map(|t| t.join().unwrap()).collect();
        let died: Vec<_> = got
            .iter()
            .flatten()
            .filter(|(how, _)| *how == Acquired::OwnerDied(DEAD))
            .collect();
        assert_eq!(died.len(), 1, "exactly one taker learns of it: {got:?}");
        assert_eq!(died[0].1, 1, "the taker sees the dead owner's update");
        assert_eq!(s.lock.died(), Some(7));
    });
}
