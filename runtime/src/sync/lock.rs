//! [`Lock`]: Python's `multiprocessing.Lock`, robust to the death of its holder.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::atomic::AtomicU64;
use super::error::{LockError, OwnerDied, TryLockError};
use super::park::Os;
use super::raw_lock::{self, Acquired};
use super::{deadline, self_id};
use crate::shm::{Kind, ShmBox, ShmError, ShmState};

/// The shared state of a [`Lock`].
#[repr(C)]
pub(crate) struct LockState {
    word: AtomicU64,
}

#[cfg(not(loom))]
const _: () = assert!(size_of::<LockState>() == 8);

// SAFETY: one atomic word; zero is "unlocked", any other value a (possibly dead) owner.
unsafe impl ShmState for LockState {
    const KIND: Kind = Kind::Lock;
}

/// A result whose error carries the guard: see [`OwnerDied`].
pub type LockResult<G> = Result<G, OwnerDied<G>>;
/// The result of the `try_lock` and `lock_timeout` forms.
pub type TryLockResult<G> = Result<G, TryLockError<G>>;

/// A non-recursive lock shared between processes: Python's `multiprocessing.Lock`.
///
/// As in Python, any process or thread may release it, not only the one that acquired it.
/// Unlike Python's, it survives the death of its holder: if the holding process is killed,
/// the next acquirer takes it over and is told so ([`LockError::OwnerDied`], or
/// [`OwnerDied`] from [`lock`](Lock::lock)).
///
/// Cloning is cheap; clones, and copies received by other processes (as a process argument,
/// or later through a pipe or queue), are the same lock.
///
/// ```
/// use mproc::{Lock, Process};
///
/// fn critical(lock: Lock) -> bool {
///     let _held = lock.lock().unwrap(); // released on drop, also on panic
///     true
/// }
///
/// # fn main() -> mproc::Result<()> {
/// let lock = Lock::new()?;
/// let child = Process::new(critical, lock.clone()).start()?;
/// assert!(child.join()?);
/// assert!(!lock.is_locked());
/// # Ok(())
/// # }
/// ```
///
/// # Owner death
/// A waiter checks its owner's liveness every few milliseconds (1 ms, doubling to 64 ms) and
/// when a timed acquire is about to give up; `try_acquire` checks once. A process is named by
/// its pid *and* start time, so a reused pid is not mistaken for the dead owner. A thread that
/// exits holding the lock while its process lives on is not detected (as in Python).
#[derive(Clone)]
pub struct Lock {
    shm: ShmBox<LockState>,
}

impl Lock {
    /// A new, unlocked lock.
    ///
    /// # Errors
    /// [`ShmError`] if the shared memory cannot be created.
    pub fn new() -> Result<Self, ShmError> {
        Ok(Self {
            shm: ShmBox::create(0, 0, |_, _| {})?,
        })
    }

    fn word(&self) -> &AtomicU64 {
        &self.shm.state().word
    }

    /// Blocks until the lock is acquired.
    ///
    /// # Errors
    /// [`LockError::OwnerDied`]: the previous holder died; the lock was taken over and **is
    /// now held by the caller**.
    pub fn acquire(&self) -> Result<(), LockError> {
        outcome(raw_lock::lock_blocking::<Os>(self.word(), self_id()))
    }

    /// Acquires the lock if it is free (or held by a dead process); never waits.
    ///
    /// # Errors
    /// [`LockError::WouldBlock`] if it is held; [`LockError::OwnerDied`] as for
    /// [`acquire`](Lock::acquire).
    pub fn try_acquire(&self) -> Result<(), LockError> {
        let taken =
            raw_lock::try_lock::<Os>(self.word(), self_id()).map_err(|_| LockError::WouldBlock)?;
        outcome(taken)
    }

    /// Waits at most `timeout` for the lock.
    ///
    /// # Errors
    /// [`LockError::Timeout`] if it was not acquired in time; [`LockError::OwnerDied`] as
    /// for [`acquire`](Lock::acquire).
    pub fn acquire_timeout(&self, timeout: Duration) -> Result<(), LockError> {
        let taken = raw_lock::lock::<Os>(self.word(), self_id(), deadline::after(timeout))
            .map_err(|_| LockError::Timeout)?;
        outcome(taken)
    }

    /// Releases the lock, whoever holds it (as Python allows).
    ///
    /// # Errors
    /// [`LockError::NotLocked`] if it is not locked.
    pub fn release(&self) -> Result<(), LockError> {
        raw_lock::unlock::<Os>(self.word())
            .map(drop)
            .map_err(|_| LockError::NotLocked)
    }

    /// Whether the lock is held by anyone (Python 3.14's `locked()`).
    #[must_use]
    pub fn is_locked(&self) -> bool {
        raw_lock::is_locked(self.word())
    }

    /// Blocks until the lock is acquired and returns a guard that releases it on drop.
    ///
    /// # Errors
    /// [`OwnerDied`] (holding the guard) if the previous holder died.
    pub fn lock(&self) -> LockResult<LockGuard<'_>> {
        self.guard(raw_lock::lock_blocking::<Os>(self.word(), self_id()))
    }

    /// Like [`lock`](Lock::lock), but never waits.
    ///
    /// # Errors
    /// [`TryLockError::WouldBlock`] if it is held; [`TryLockError::OwnerDied`] as for
    /// [`lock`](Lock::lock).
    pub fn try_lock(&self) -> TryLockResult<LockGuard<'_>> {
        let taken = raw_lock::try_lock::<Os>(self.word(), self_id())
            .map_err(|_| TryLockError::WouldBlock)?;
        Ok(self.guard(taken)?)
    }

    /// Like [`lock`](Lock::lock), waiting at most `timeout`.
    ///
    /// # Errors
    /// [`TryLockError::Timeout`] if not acquired in time; [`TryLockError::OwnerDied`] as
    /// for [`lock`](Lock::lock).
    pub fn lock_timeout(&self, timeout: Duration) -> TryLockResult<LockGuard<'_>> {
        let taken = raw_lock::lock::<Os>(self.word(), self_id(), deadline::after(timeout))
            .map_err(|_| TryLockError::Timeout)?;
        Ok(self.guard(taken)?)
    }

    fn guard(&self, taken: Acquired) -> LockResult<LockGuard<'_>> {
        let guard = LockGuard { lock: self };
        match taken {
            Acquired::Clean => Ok(guard),
            Acquired::OwnerDied(id) => Err(OwnerDied::new(guard, raw_lock::pid_of(id))),
        }
    }
}

/// Maps how the lock was taken to the manual API's result.
fn outcome(taken: Acquired) -> Result<(), LockError> {
    match taken {
        Acquired::Clean => Ok(()),
        Acquired::OwnerDied(id) => Err(LockError::OwnerDied {
            pid: raw_lock::pid_of(id),
        }),
    }
}

/// Holds a [`Lock`]; releases it when dropped (also during a panic).
///
/// If another process released the lock meanwhile (Python allows any process to), dropping
/// the guard does not release whoever holds it now.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct LockGuard<'a> {
    lock: &'a Lock,
}

impl Drop for LockGuard<'_> {
    fn drop(&mut self) {
        raw_lock::unlock_if_owner::<Os>(self.lock.word(), self_id());
    }
}

impl fmt::Debug for LockGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockGuard").finish_non_exhaustive()
    }
}

impl fmt::Debug for Lock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lock")
            .field("locked", &self.is_locked())
            .finish()
    }
}

impl PartialEq for Lock {
    /// Two handles are equal when they share one mapping (clones of each other).
    fn eq(&self, other: &Self) -> bool {
        self.shm.same(&other.shm)
    }
}

impl Serialize for Lock {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.shm.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Lock {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Self {
            shm: ShmBox::deserialize(d, 0, "Lock")?,
        })
    }
}
