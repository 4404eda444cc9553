//! Errors of the synchronization primitives: one enum per family, plus the guard-carrying
//! [`OwnerDied`] and [`TryLockError`] of the RAII locking forms (as `std::sync`'s
//! `PoisonError` and `TryLockError`).
//!
//! The enums are serializable, so a child process can return them.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::shm::ShmError;

/// Locking and unlocking a [`Lock`](crate::Lock), [`RLock`](crate::RLock), or the lock of a
/// [`Value`](crate::Value) or [`Array`](crate::Array).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[non_exhaustive]
pub enum LockError {
    /// `try_` form: the lock is held by someone else.
    #[error("the lock is held by another process or thread")]
    WouldBlock,
    /// `_timeout` form: the lock was not acquired in time.
    #[error("timed out waiting for the lock")]
    Timeout,
    /// The process holding the lock died (for example it was killed) without releasing it,
    /// and this error is what `?` made of the guard-carrying [`OwnerDied`] of a `lock()`: the
    /// guard was dropped, so **the lock is released**. Whatever the lock protected may be
    /// half-updated. (The manual `acquire` forms report a dead owner in their `Ok` value,
    /// [`Acquired::OwnerDied`], since the caller then holds the lock.)
    #[error("the process holding the lock (pid {pid}) died; the lock was taken over")]
    OwnerDied {
        /// The dead owner's process id.
        pid: i32,
    },
    /// `release` of a lock that is not locked.
    #[error("release of an unlocked lock")]
    NotLocked,
    /// `release` of an `RLock` by a process or thread that does not own it (or when nobody
    /// does).
    #[error("release of a recursive lock not owned by this thread")]
    NotOwner,
    /// An `RLock` was acquired recursively more than `u32::MAX` times.
    #[error("recursive lock acquired too many times")]
    RecursionOverflow,
    /// Releasing the last level of an `RLock` that this thread holds through an
    /// [`ArrayGuard`](crate::ArrayGuard) (directly, or by a `Condition` wait): the guard lends
    /// out references into the array, so only dropping it releases the lock.
    #[error("the lock is held by an ArrayGuard of this thread; drop the guard to release it")]
    HeldByGuard,
}

/// How a manual `acquire`, `try_acquire` or `acquire_timeout` of a [`Lock`](crate::Lock),
/// [`RLock`](crate::RLock) or [`Condition`](crate::Condition) took the lock. Both variants
/// mean the same duty: **the caller holds the lock and releases it** (`release()`), exactly
/// as after any successful acquire; `?` on the call never leaves a lock held without the
/// caller knowing it. `OwnerDied` adds that the previous holder died holding it, so whatever
/// the lock protected may be half-updated.
///
/// ```
/// use mproc::{Acquired, Lock};
///
/// # fn main() -> mproc::Result<()> {
/// let lock = Lock::new()?;
/// if let Acquired::OwnerDied { pid } = lock.acquire()? {
///     eprintln!("process {pid} died holding the lock: checking the data");
/// }
/// lock.release()?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Acquired {
    /// The lock was free (or, for an `RLock`, already owned by the calling thread).
    Clean,
    /// The process holding the lock died without releasing it; the lock was taken over and
    /// is now held by the caller.
    OwnerDied {
        /// The dead owner's process id.
        pid: i32,
    },
}

impl Acquired {
    /// The pid of the previous holder if it died holding the lock.
    #[must_use]
    pub fn owner_died(self) -> Option<i32> {
        match self {
            Self::Clean => None,
            Self::OwnerDied { pid } => Some(pid),
        }
    }
}

/// The lock was acquired, but its previous owner died while holding it: the error of the RAII
/// locking forms (`lock()`), which carries the guard as `std::sync::PoisonError` does.
///
/// For a [`Lock`](crate::Lock) or [`RLock`](crate::RLock) this is reported once, to the
/// process that takes the lock over. A [`Value`](crate::Value) or [`Array`](crate::Array)
/// instead stays *inconsistent* (every `lock()` reports this) until
/// `mark_consistent()` is called: their data may be half-written.
///
/// `?` turns it into [`LockError::OwnerDied`] (dropping the guard releases the lock).
pub struct OwnerDied<G> {
    guard: G,
    pid: i32,
}

impl<G> OwnerDied<G> {
    pub(crate) fn new(guard: G, pid: i32) -> Self {
        Self { guard, pid }
    }

    /// The pid of the process that died holding the lock (0 when it is unknown, for example a
    /// `Value` marked inconsistent by a panic).
    #[must_use]
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// The guard: the lock is held.
    pub fn into_inner(self) -> G {
        self.guard
    }

    /// A reference to the guard.
    pub fn get_ref(&self) -> &G {
        &self.guard
    }

    /// A mutable reference to the guard.
    pub fn get_mut(&mut self) -> &mut G {
        &mut self.guard
    }
}

impl<G> fmt::Debug for OwnerDied<G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnerDied")
            .field("pid", &self.pid)
            .finish_non_exhaustive()
    }
}

impl<G> fmt::Display for OwnerDied<G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the process holding the lock (pid {}) died; the data it protects may be inconsistent",
            self.pid
        )
    }
}

impl<G> std::error::Error for OwnerDied<G> {}

/// Why a `try_lock` or `lock_timeout` returned without a clean guard.
pub enum TryLockError<G> {
    /// The lock was acquired from a dead owner; the guard is inside.
    OwnerDied(OwnerDied<G>),
    /// `try_lock`: the lock is held by someone else.
    WouldBlock,
    /// `lock_timeout`: not acquired in time.
    Timeout,
}

impl<G> fmt::Debug for TryLockError<G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OwnerDied(e) => f.debug_tuple("OwnerDied").field(e).finish(),
            Self::WouldBlock => f.write_str("WouldBlock"),
            Self::Timeout => f.write_str("Timeout"),
        }
    }
}

impl<G> fmt::Display for TryLockError<G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OwnerDied(e) => e.fmt(f),
            Self::WouldBlock => LockError::WouldBlock.fmt(f),
            Self::Timeout => LockError::Timeout.fmt(f),
        }
    }
}

impl<G> std::error::Error for TryLockError<G> {}

impl<G> From<OwnerDied<G>> for TryLockError<G> {
    fn from(e: OwnerDied<G>) -> Self {
        Self::OwnerDied(e)
    }
}

impl<G> From<OwnerDied<G>> for LockError {
    /// Drops the guard (releasing the lock) and keeps the dead owner's pid.
    fn from(e: OwnerDied<G>) -> Self {
        LockError::OwnerDied { pid: e.pid }
    }
}

impl<G> From<TryLockError<G>> for LockError {
    fn from(e: TryLockError<G>) -> Self {
        match e {
            TryLockError::OwnerDied(e) => e.into(),
            TryLockError::WouldBlock => LockError::WouldBlock,
            TryLockError::Timeout => LockError::Timeout,
        }
    }
}

/// Acquiring or releasing a [`Semaphore`](crate::Semaphore) or
/// [`BoundedSemaphore`](crate::BoundedSemaphore).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[non_exhaustive]
pub enum SemaphoreError {
    /// `try_` form: the counter is zero.
    #[error("the semaphore's counter is zero")]
    WouldBlock,
    /// `_timeout` form: no permit became available in time.
    #[error("timed out waiting for the semaphore")]
    Timeout,
    /// A `BoundedSemaphore` released above its initial value, or any semaphore above
    /// [`Semaphore::MAX`](crate::Semaphore::MAX).
    #[error("semaphore released too many times")]
    TooManyReleases,
    /// The initial value is above [`Semaphore::MAX`](crate::Semaphore::MAX).
    #[error("semaphore initial value {0} is above the maximum")]
    InvalidValue(u64),
}

/// Waiting for an [`Event`](crate::Event).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[non_exhaustive]
pub enum EventError {
    /// `try_` form: the flag is not set.
    #[error("the event is not set")]
    WouldBlock,
    /// `_timeout` form: the flag was not set in time.
    #[error("timed out waiting for the event")]
    Timeout,
}

/// Waiting on or notifying a [`Condition`](crate::Condition).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ConditionError {
    /// `wait`/`notify` without holding the condition's lock.
    #[error("the condition's lock is not held by this thread")]
    NotOwner,
    /// `_timeout` form: not notified (or, for `wait_for_timeout`, the predicate still false)
    /// in time. The lock is held again, as before the call.
    #[error("timed out waiting on the condition")]
    Timeout,
    /// Re-acquiring the lock after the wait failed (its owner died: the caller holds it), or
    /// the wait could not release it because an [`ArrayGuard`](crate::ArrayGuard) of this
    /// thread holds it ([`LockError::HeldByGuard`]: nothing was released, nothing waited).
    #[error(transparent)]
    Lock(#[from] LockError),
}

/// Creating a [`Barrier`](crate::Barrier).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BarrierCreateError {
    /// `Barrier::new(0)`, or more parties than supported.
    #[error("a barrier needs between 1 and {max} parties, not {parties}")]
    InvalidParties {
        /// The number requested.
        parties: u64,
        /// The largest supported number.
        max: u32,
    },
    /// The action function is not part of the main executable (it could not be called from a
    /// spawned process).
    #[error("the barrier action is not part of the main executable")]
    ActionNotInExecutable,
    /// The shared memory could not be created.
    #[error(transparent)]
    Shm(#[from] ShmError),
}

/// Waiting on a [`Barrier`](crate::Barrier).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[non_exhaustive]
pub enum BarrierError {
    /// The barrier is broken (aborted, reset while waiting, another party timed out or its
    /// action panicked). `reset()` makes it usable again.
    #[error("the barrier is broken")]
    Broken,
    /// This waiter's timeout expired; the barrier is now broken for every party.
    #[error("timed out waiting at the barrier (the barrier is now broken)")]
    Timeout,
    /// A party died while waiting; the barrier is broken.
    #[error("a party of the barrier (pid {pid}) died while waiting; the barrier is broken")]
    PartyDied {
        /// The dead party's process id.
        pid: i32,
    },
    /// This waiter ran the barrier's action, which panicked; the barrier is broken.
    #[error("the barrier action panicked: {message}")]
    ActionPanicked {
        /// The panic message.
        message: String,
    },
    /// The barrier's action, read from shared memory, does not carry a valid code under this
    /// program's authkey (a peer rewrote it, or another program made the barrier): it was not
    /// called, and the barrier is broken.
    #[error(
        "the barrier's action is not authenticated by this program's key; it was not called and the barrier is broken"
    )]
    ActionRejected,
}
