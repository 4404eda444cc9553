//! [`Lock`]: Python's `multiprocessing.Lock`, robust to the death of its holder.

use std::fmt;
use std::time::Duration;

use super::atomic::AtomicU64;
use super::error::{Acquired, LockError, OwnerDied, TryLockError};
use super::park::Os;
use super::raw_lock::{self, Acquired as Taken};
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
/// the next acquirer takes it over and is told so: [`Acquired::OwnerDied`] from the manual
/// [`acquire`](Lock::acquire) forms (the caller holds the lock, as after any acquire), or
/// [`OwnerDied`] carrying the guard from [`lock`](Lock::lock) (so `?` drops the guard and
/// releases the lock). Either way a lock is never held without a guard or a plain duty to
/// release it.
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

    /// Blocks until the lock is acquired; the caller then holds it and releases it with
    /// [`release`](Lock::release). [`Acquired::OwnerDied`] if it was taken over from a holder
    /// that died.
    ///
    /// # Errors
    /// None today (the `Result` matches the `try_` and `_timeout` forms).
    pub fn acquire(&self) -> Result<Acquired, LockError> {
        Ok(outcome(raw_lock::lock_blocking::<Os>(
            self.word(),
            self_id(),
        )))
    }

    /// Acquires the lock if it is free (or held by a dead process); never waits.
    ///
    /// # Errors
    /// [`LockError::WouldBlock`] if it is held (nothing is acquired).
    pub fn try_acquire(&self) -> Result<Acquired, LockError> {
        let taken =
            raw_lock::try_lock::<Os>(self.word(), self_id()).map_err(|_| LockError::WouldBlock)?;
        Ok(outcome(taken))
    }

    /// Waits at most `timeout` for the lock.
    ///
    /// # Errors
    /// [`LockError::Timeout`] if it was not acquired in time (nothing is acquired).
    pub fn acquire_timeout(&self, timeout: Duration) -> Result<Acquired, LockError> {
        let taken = raw_lock::lock::<Os>(self.word(), self_id(), deadline::after(timeout))
            .map_err(|_| LockError::Timeout)?;
        Ok(outcome(taken))
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
    /// [`TryLockError::OwnerDied`] (holding the guard) if the previous holder died; never
    /// `WouldBlock` or `Timeout` (the result type is the one of `try_lock` and `lock_timeout`).
    pub fn lock(&self) -> TryLockResult<LockGuard<'_>> {
        Ok(self.guard(raw_lock::lock_blocking::<Os>(self.word(), self_id()))?)
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

    fn guard(&self, taken: Taken) -> LockResult<LockGuard<'_>> {
        let guard = LockGuard { lock: self };
        match outcome(taken) {
            Acquired::Clean => Ok(guard),
            Acquired::OwnerDied { pid } => Err(OwnerDied::new(guard, pid)),
        }
    }
}

/// How the lock word was taken, as the public API says it.
pub(crate) fn outcome(taken: Taken) -> Acquired {
    match taken {
        Taken::Clean => Acquired::Clean,
        Taken::OwnerDied(id) => Acquired::OwnerDied {
            pid: raw_lock::pid_of(id),
        },
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

shm_handle!(Lock, wire 0, debug { locked: is_locked });
