//! [`Condition`]: Python's `multiprocessing.Condition`, on a futex sequence word.
//!
//! A waiter (holding the lock) reads the sequence number, releases the lock completely, and
//! parks while the sequence is unchanged. `notify(n)` (holding the lock) bumps the sequence
//! and wakes `n` parked waiters; it never waits for them to acknowledge, so a waiter that dies
//! cannot block a notifier (Python's `notify_all` hangs then, gh-75158). A count of waiters
//! lets a notify with nobody waiting skip the system call; a dead waiter only leaves that
//! count too high, which costs a useless wake, never a hang.
//!
//! A waiter that is about to park when a notify for it arrives sees the changed sequence and
//! returns at once, so in a rare race more than `n` waiters may return; as in Python, code
//! that needs a condition to hold re-checks it ([`Condition::wait_for`]).
//!
//! # Memory ordering
//! The sequence and waiter count are read and written while holding the lock, which orders
//! them; the futex re-checks the sequence in the kernel, so a notify between the waiter's
//! release of the lock and its park is not lost.

use std::fmt;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::time::{Duration, Instant};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::atomic::AtomicU32;
use super::deadline;
use super::error::{Acquired, ConditionError, LockError};
use super::lock::TryLockResult;
use super::park::{Os, Park, Waited};
use super::rlock::{RLock, RLockGuard, RLockState};
use crate::shm::{Kind, ShmBox, ShmError, ShmState};

/// The shared state of a [`Condition`] (its lock is a separate [`RLock`]).
#[repr(C)]
pub(crate) struct CondState {
    seq: AtomicU32,
    waiters: AtomicU32,
}

#[cfg(not(loom))]
const _: () = assert!(size_of::<CondState>() == 8);

// SAFETY: atomics only; any content is a sequence number and a waiter count.
unsafe impl ShmState for CondState {
    const KIND: Kind = Kind::Condition;
}

impl CondState {
    /// A state on the heap, for the `loom` models.
    #[cfg(loom)]
    pub(crate) fn new() -> Self {
        Self {
            seq: AtomicU32::new(0),
            waiters: AtomicU32::new(0),
        }
    }

    /// Waits for a notify until `deadline`, with `lock` held by the caller; returns `false` on
    /// timeout. The lock is held again on return (also on error, except `NotOwner`).
    pub(crate) fn wait<P: Park>(
        &self,
        lock: &RLockState,
        deadline: Option<Instant>,
    ) -> Result<bool, ConditionError> {
        if !lock.is_owned_by_caller_in::<P>() {
            return Err(ConditionError::NotOwner);
        }
        let seq = self.seq.load(Relaxed);
        self.waiters.fetch_add(1, Relaxed);
        let depth = match lock.release_all::<P>() {
            Ok(d) => d,
            Err(e) => {
                self.waiters.fetch_sub(1, Relaxed);
                return Err(e.into());
            }
        };
        let notified = loop {
            if P::wait(&self.seq, seq, deadline) == Waited::TimedOut {
                break self.seq.load(Acquire) != seq;
            }
            if self.seq.load(Acquire) != seq {
                break true;
            }
        };
        self.waiters.fetch_sub(1, Relaxed);
        lock.reacquire::<P>(depth)?;
        Ok(notified)
    }

    /// Waits until `predicate` returns true (checked first, then after each wake-up), or
    /// until `deadline`; the lock is held again on return (also on error, except `NotOwner`).
    pub(crate) fn wait_for<P: Park>(
        &self,
        lock: &RLockState,
        mut predicate: impl FnMut() -> bool,
        deadline: Option<Instant>,
    ) -> Result<(), ConditionError> {
        loop {
            if predicate() {
                return Ok(());
            }
            if deadline.is_some_and(|d| d <= P::now()) {
                return Err(ConditionError::Timeout);
            }
            self.wait::<P>(lock, deadline)?;
        }
    }

    /// Wakes up to `n` waiters; the caller holds `lock`.
    pub(crate) fn notify<P: Park>(&self, lock: &RLockState, n: u32) -> Result<(), ConditionError> {
        if !lock.is_owned_by_caller_in::<P>() {
            return Err(ConditionError::NotOwner);
        }
        if n > 0 && self.waiters.load(Relaxed) > 0 {
            self.seq.fetch_add(1, Release);
            P::wake(&self.seq, n);
        }
        Ok(())
    }

    /// How many processes or threads are waiting (a dead waiter may still be counted).
    pub(crate) fn waiters(&self) -> u32 {
        self.waiters.load(Relaxed)
    }
}

/// A condition variable shared between processes: Python's `multiprocessing.Condition`.
///
/// It owns an [`RLock`] (its own, or one given to [`Condition::with_lock`]); `wait` and
/// `notify` require the calling thread to hold it, else [`ConditionError::NotOwner`].
///
/// ```
/// use mproc::{Condition, Process, ShmBool, Value};
/// use std::time::Duration;
///
/// fn produce((cond, ready): (Condition, Value<ShmBool>)) {
///     let _held = cond.lock().unwrap();
///     ready.set(ShmBool::TRUE);
///     cond.notify_all().unwrap();
/// }
///
/// # fn main() -> mproc::Result<()> {
/// let cond = Condition::new()?;
/// let ready = Value::new(ShmBool::FALSE)?;
/// let held = cond.lock()?;
/// let child = Process::new(produce, (cond.clone(), ready.clone())).start()?;
/// cond.wait_for_timeout(|| ready.get() == ShmBool::TRUE, Duration::from_secs(10))?;
/// drop(held);
/// child.join()?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Condition {
    lock: RLock,
    shm: ShmBox<CondState>,
}

impl Condition {
    /// A condition with a new [`RLock`] (Python's default).
    ///
    /// # Errors
    /// [`ShmError`] if the shared memory cannot be created.
    pub fn new() -> Result<Self, ShmError> {
        Self::with_lock(RLock::new()?)
    }

    /// A condition using `lock` (shared with whoever else holds a clone of it).
    ///
    /// # Errors
    /// [`ShmError`] if the shared memory cannot be created.
    pub fn with_lock(lock: RLock) -> Result<Self, ShmError> {
        Ok(Self {
            lock,
            shm: ShmBox::create(0, 0, |_, _| {})?,
        })
    }

    /// The condition's lock.
    #[must_use]
    pub fn get_lock(&self) -> &RLock {
        &self.lock
    }

    /// Acquires the lock (see [`RLock::acquire`]).
    ///
    /// # Errors
    /// As [`RLock::acquire`].
    pub fn acquire(&self) -> Result<Acquired, LockError> {
        self.lock.acquire()
    }

    /// Acquires the lock if it is free (see [`RLock::try_acquire`]).
    ///
    /// # Errors
    /// As [`RLock::try_acquire`].
    pub fn try_acquire(&self) -> Result<Acquired, LockError> {
        self.lock.try_acquire()
    }

    /// Acquires the lock, waiting at most `timeout` (see [`RLock::acquire_timeout`]).
    ///
    /// # Errors
    /// As [`RLock::acquire_timeout`].
    pub fn acquire_timeout(&self, timeout: Duration) -> Result<Acquired, LockError> {
        self.lock.acquire_timeout(timeout)
    }

    /// Releases the lock (see [`RLock::release`]).
    ///
    /// # Errors
    /// As [`RLock::release`].
    pub fn release(&self) -> Result<(), LockError> {
        self.lock.release()
    }

    /// Acquires the lock with a guard (Python's `with cond:`).
    ///
    /// # Errors
    /// As [`RLock::lock`].
    pub fn lock(&self) -> TryLockResult<RLockGuard<'_>> {
        self.lock.lock()
    }

    /// Acquires the lock with a guard if it is free.
    ///
    /// # Errors
    /// As [`RLock::try_lock`].
    pub fn try_lock(&self) -> TryLockResult<RLockGuard<'_>> {
        self.lock.try_lock()
    }

    /// Acquires the lock with a guard, waiting at most `timeout`.
    ///
    /// # Errors
    /// As [`RLock::lock_timeout`].
    pub fn lock_timeout(&self, timeout: Duration) -> TryLockResult<RLockGuard<'_>> {
        self.lock.lock_timeout(timeout)
    }

    fn state(&self) -> &CondState {
        self.shm.state()
    }

    /// Releases the lock (all recursion levels), waits for a notify, and re-acquires it.
    ///
    /// # Errors
    /// [`ConditionError::NotOwner`] without the lock; [`ConditionError::Lock`] with
    /// [`LockError::OwnerDied`] if an owner died holding the lock while this thread waited:
    /// the lock is held again, as before the call, so the caller's guard (or its duty to
    /// release a manual acquire) is unchanged, and `?` leaves nothing held that was not.
    pub fn wait(&self) -> Result<(), ConditionError> {
        self.state().wait::<Os>(self.lock.state(), None).map(drop)
    }

    /// Like [`wait`](Condition::wait), for at most `timeout` (Python's `wait(timeout)`, whose
    /// `False` is [`ConditionError::Timeout`] here). The lock is held again in every case but
    /// `NotOwner`.
    ///
    /// # Errors
    /// [`ConditionError::Timeout`] if not notified in time; otherwise as
    /// [`wait`](Condition::wait).
    pub fn wait_timeout(&self, timeout: Duration) -> Result<(), ConditionError> {
        let notified = self
            .state()
            .wait::<Os>(self.lock.state(), deadline::after(timeout))?;
        if notified {
            Ok(())
        } else {
            Err(ConditionError::Timeout)
        }
    }

    /// Waits until `predicate` returns true (checked first, then after each wake-up).
    ///
    /// # Errors
    /// As [`wait`](Condition::wait).
    pub fn wait_for(&self, predicate: impl FnMut() -> bool) -> Result<(), ConditionError> {
        self.state()
            .wait_for::<Os>(self.lock.state(), predicate, None)
    }

    /// Like [`wait_for`](Condition::wait_for), for at most `timeout` in all (Python's
    /// `wait_for(predicate, timeout)`, whose `False` is [`ConditionError::Timeout`] here).
    ///
    /// # Errors
    /// [`ConditionError::Timeout`] if `predicate` is still false when `timeout` expires (the
    /// lock is held again); otherwise as [`wait`](Condition::wait).
    pub fn wait_for_timeout(
        &self,
        predicate: impl FnMut() -> bool,
        timeout: Duration,
    ) -> Result<(), ConditionError> {
        self.state()
            .wait_for::<Os>(self.lock.state(), predicate, deadline::after(timeout))
    }

    /// Wakes one waiter.
    ///
    /// # Errors
    /// [`ConditionError::NotOwner`] without the lock.
    pub fn notify(&self) -> Result<(), ConditionError> {
        self.notify_n(1)
    }

    /// Wakes up to `n` waiters (Python's `notify(n)`).
    ///
    /// # Errors
    /// [`ConditionError::NotOwner`] without the lock.
    pub fn notify_n(&self, n: u32) -> Result<(), ConditionError> {
        self.state().notify::<Os>(self.lock.state(), n)
    }

    /// Wakes every waiter.
    ///
    /// # Errors
    /// [`ConditionError::NotOwner`] without the lock.
    pub fn notify_all(&self) -> Result<(), ConditionError> {
        self.notify_n(u32::MAX)
    }

    /// How many are waiting right now (approximate: a waiter that died is still counted).
    #[must_use]
    pub fn waiters(&self) -> u32 {
        self.state().waiters()
    }
}

shm_handle!(Condition);

impl fmt::Debug for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condition")
            .field("lock", &self.lock)
            .field("waiters", &self.waiters())
            .finish_non_exhaustive()
    }
}

/// The condition's own segment, on the wire.
struct StateHandle(ShmBox<CondState>);

impl Serialize for StateHandle {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for StateHandle {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        ShmBox::deserialize(d, 0, "Condition").map(StateHandle)
    }
}

impl Serialize for Condition {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (&self.lock, StateHandle(self.shm.clone())).serialize(s)
    }
}

impl<'de> Deserialize<'de> for Condition {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (lock, state) = <(RLock, StateHandle)>::deserialize(d)?;
        Ok(Self { lock, shm: state.0 })
    }
}
