//! [`RLock`]: Python's `multiprocessing.RLock`, robust to the death of its holder.

use std::fmt;
use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::time::{Duration, Instant};

use super::atomic::{AtomicU32, AtomicU64};
use super::deadline;
use super::error::{Acquired, LockError, OwnerDied, TryLockError};
use super::lock::{LockResult, TryLockResult, outcome};
use super::park::{Os, Park};
use super::raw_lock::{self, Acquired as Taken};
use crate::shm::{Kind, ShmBox, ShmError, ShmState};

/// The shared state of a recursive lock (also embedded in `Value`, `Array`).
#[repr(C)]
pub(crate) struct RLockState {
    /// The lock word (see `raw_lock`): the owning process.
    word: AtomicU64,
    /// The owning thread's kernel id, while locked.
    tid: AtomicU32,
    /// The recursion depth; only the owning thread touches it.
    count: AtomicU32,
    /// The pid of the last owner that died holding the lock, until cleared (0: none). A
    /// `Value` or `Array` guarded by this lock reads it as "inconsistent".
    died: AtomicU32,
    /// 1 while an `ArrayGuard` holds the lock at depth 1 and lends out references into the
    /// array (0 otherwise); only the owning thread touches it. While set, the last level
    /// cannot be released except by dropping that guard, and the array's per-call accessors
    /// refuse to run in the owning thread (they would alias the lent `&mut [T]`).
    pinned: AtomicU32,
}

#[cfg(not(loom))]
const _: () = assert!(size_of::<RLockState>() == 24);

// SAFETY: atomics only; all-zero is "unlocked".
unsafe impl ShmState for RLockState {
    const KIND: Kind = Kind::RLock;
}

/// `died` value for "inconsistent, no dead pid known".
const UNKNOWN_OWNER: u32 = u32::MAX;

/// Who is asking: this process and thread.
#[derive(Clone, Copy)]
struct Me {
    id: u64,
    tid: u32,
}

impl Me {
    #[inline]
    fn now<P: Park>() -> Self {
        Self {
            id: P::self_id(),
            tid: P::self_tid(),
        }
    }
}

/// The recursive lock's algorithm. The methods generic over [`Park`] are what `loom` checks
/// (see `sync::loom_tests`); the others are their [`Os`] forms, for the handles.
impl RLockState {
    /// An unlocked state on the heap, for the `loom` models.
    #[cfg(loom)]
    pub(crate) fn new() -> Self {
        Self {
            word: AtomicU64::new(0),
            tid: AtomicU32::new(0),
            count: AtomicU32::new(0),
            died: AtomicU32::new(0),
            pinned: AtomicU32::new(0),
        }
    }

    fn owned_by(&self, me: Me) -> bool {
        raw_lock::owner(self.word.load(Relaxed)) == me.id && self.tid.load(Relaxed) == me.tid
    }

    /// Acquires (recursively if the caller owns it already) until `deadline`; `try_` when `try_`.
    pub(crate) fn acquire(
        &self,
        deadline: Option<Instant>,
        try_: bool,
    ) -> Result<Taken, AcquireFailed> {
        self.acquire_in::<Os>(deadline, try_)
    }

    /// [`acquire`](Self::acquire), parking with `P`.
    pub(crate) fn acquire_in<P: Park>(
        &self,
        deadline: Option<Instant>,
        try_: bool,
    ) -> Result<Taken, AcquireFailed> {
        let me = Me::now::<P>();
        if self.owned_by(me) {
            let count = self.count.load(Relaxed);
            let next = count.checked_add(1).ok_or(AcquireFailed::Overflow)?;
            self.count.store(next, Relaxed);
            return Ok(Taken::Clean);
        }
        let taken = if try_ {
            raw_lock::try_lock::<P>(&self.word, me.id)
        } else {
            raw_lock::lock::<P>(&self.word, me.id, deadline)
        }
        .map_err(|_| AcquireFailed::Busy)?;
        self.tid.store(me.tid, Relaxed);
        self.count.store(1, Relaxed);
        // A guard of an owner that died while holding the lock pinned it: its references
        // died with it.
        self.pinned.store(0, Relaxed);
        if let Taken::OwnerDied(id) = taken {
            self.set_died(Some(raw_lock::pid_of(id)));
        }
        Ok(taken)
    }

    /// The pid of an owner that died holding the lock, until cleared with [`set_died`](Self::set_died).
    /// `Some(0)` when the data was marked inconsistent without a dead owner (a panic).
    pub(crate) fn died(&self) -> Option<i32> {
        match self.died.load(Relaxed) {
            0 => None,
            UNKNOWN_OWNER => Some(0),
            pid => Some(pid.cast_signed()),
        }
    }

    /// Marks the protected data consistent (`None`) or inconsistent because `pid` died
    /// (`Some(0)`: for another reason, such as a panic while holding a guard).
    pub(crate) fn set_died(&self, pid: Option<i32>) {
        let raw = match pid {
            None => 0,
            Some(p) if p > 0 => p.cast_unsigned(),
            Some(_) => UNKNOWN_OWNER,
        };
        self.died.store(raw, Relaxed);
    }

    pub(crate) fn release(&self) -> Result<(), LockError> {
        self.release_in::<Os>()
    }

    /// [`release`](Self::release), waking with `P`.
    pub(crate) fn release_in<P: Park>(&self) -> Result<(), LockError> {
        if !self.owned_by(Me::now::<P>()) {
            return Err(LockError::NotOwner);
        }
        let count = self.count.load(Relaxed);
        if count == 1 && self.pinned.load(Relaxed) != 0 {
            return Err(LockError::HeldByGuard);
        }
        self.release_level::<P>(count)
    }

    /// Whether the calling thread holds the lock through an `ArrayGuard` that lends out
    /// references (see [`pin`](Self::pin)).
    pub(crate) fn is_pinned_by_caller(&self) -> bool {
        self.is_owned_by_caller() && self.pinned.load(Relaxed) != 0
    }

    /// Marks the lock, just acquired at depth 1 by the caller, as held by a reference-lending
    /// guard; [`release_pinned`](Self::release_pinned) undoes it.
    pub(crate) fn pin(&self) {
        debug_assert!(self.is_owned_by_caller() && self.count.load(Relaxed) == 1);
        self.pinned.store(1, Relaxed);
    }

    /// The reference-lending guard's release: clears the pin, then releases one level.
    pub(crate) fn release_pinned(&self) -> Result<(), LockError> {
        if !self.is_owned_by_caller() {
            return Err(LockError::NotOwner);
        }
        self.pinned.store(0, Relaxed);
        self.release_level::<Os>(self.count.load(Relaxed))
    }

    /// Releases one of the caller's `count` levels (the caller owns the lock).
    fn release_level<P: Park>(&self, count: u32) -> Result<(), LockError> {
        if count > 1 {
            self.count.store(count - 1, Relaxed);
            return Ok(());
        }
        self.count.store(0, Relaxed);
        self.tid.store(0, Relaxed);
        raw_lock::unlock::<P>(&self.word)
            .map(drop)
            .map_err(|_| LockError::NotOwner)
    }

    /// Releases every level held by the calling thread; returns the depth to restore.
    pub(crate) fn release_all<P: Park>(&self) -> Result<u32, LockError> {
        if !self.owned_by(Me::now::<P>()) {
            return Err(LockError::NotOwner);
        }
        if self.pinned.load(Relaxed) != 0 {
            return Err(LockError::HeldByGuard);
        }
        let depth = self.count.load(Relaxed);
        self.count.store(1, Relaxed);
        self.release_in::<P>()?;
        Ok(depth)
    }

    /// Re-acquires after [`release_all`](Self::release_all), restoring `depth`. A dead
    /// owner is an error here: the caller held the lock before (its guard or its duty to
    /// release is unchanged), and the data may have been half-updated meanwhile.
    pub(crate) fn reacquire<P: Park>(&self, depth: u32) -> Result<(), LockError> {
        let taken = self
            .acquire_in::<P>(None, false)
            .map_err(AcquireFailed::into_lock_error)?;
        self.count.store(depth.max(1), Relaxed);
        match outcome(taken) {
            Acquired::Clean => Ok(()),
            Acquired::OwnerDied { pid } => Err(LockError::OwnerDied { pid }),
        }
    }

    /// Whether the lock is free, read with `SeqCst` (the lock-free side of a `Value`'s gate,
    /// see `shared::gate`, relies on that order).
    #[inline]
    pub(crate) fn is_free_seqcst(&self) -> bool {
        self.word.load(SeqCst) == 0
    }

    /// Whether the lock is held by a process that no longer runs (nobody has taken it over
    /// yet): the data it guards may be half-updated. Reads the holder's liveness from the OS.
    pub(crate) fn holder_is_dead(&self) -> bool {
        let word = self.word.load(Relaxed);
        word != 0 && !Os::alive(raw_lock::owner(word))
    }

    pub(crate) fn is_owned_by_caller(&self) -> bool {
        self.is_owned_by_caller_in::<Os>()
    }

    /// Whether the calling thread (as `P` names it) owns the lock.
    pub(crate) fn is_owned_by_caller_in<P: Park>(&self) -> bool {
        self.owned_by(Me::now::<P>())
    }

    pub(crate) fn depth(&self) -> u32 {
        if raw_lock::is_locked(&self.word) {
            self.count.load(Relaxed)
        } else {
            0
        }
    }
}

/// Why [`RLockState::acquire`] did not acquire.
#[derive(Debug, Clone, Copy)]
pub(crate) enum AcquireFailed {
    Busy,
    Overflow,
}

impl AcquireFailed {
    pub(crate) fn into_lock_error(self) -> LockError {
        match self {
            AcquireFailed::Busy => LockError::Timeout,
            AcquireFailed::Overflow => LockError::RecursionOverflow,
        }
    }
}

/// A recursive lock shared between processes: Python's `multiprocessing.RLock`.
///
/// The owner is a (process, thread) pair; the owner may acquire it again, and must release it
/// as many times. Releasing it from anywhere else is [`LockError::NotOwner`]. Like [`Lock`](
/// crate::Lock), it survives the death of its holding process: the next acquirer takes it over
/// and is told ([`Acquired::OwnerDied`] from `acquire`, holding the lock; [`OwnerDied`] with
/// the guard from `lock`).
///
/// ```
/// use mproc::RLock;
///
/// # fn main() -> mproc::Result<()> {
/// let lock = RLock::new()?;
/// let outer = lock.lock()?;
/// let inner = lock.lock()?; // same thread: no deadlock
/// drop(inner);
/// drop(outer);
/// assert!(lock.release().is_err()); // not held any more
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RLock {
    shm: ShmBox<RLockState>,
}

impl RLock {
    /// A new, unlocked recursive lock.
    ///
    /// # Errors
    /// [`ShmError`] if the shared memory cannot be created.
    pub fn new() -> Result<Self, ShmError> {
        Ok(Self {
            shm: ShmBox::create(0, 0, |_, _| {})?,
        })
    }

    pub(crate) fn state(&self) -> &RLockState {
        self.shm.state()
    }

    /// Blocks until the lock is acquired (at once if this thread owns it); the caller then
    /// holds one more level and releases it with [`release`](RLock::release).
    /// [`Acquired::OwnerDied`] if it was taken over from an owner that died.
    ///
    /// # Errors
    /// [`LockError::RecursionOverflow`] past `u32::MAX` levels (nothing is acquired).
    pub fn acquire(&self) -> Result<Acquired, LockError> {
        let taken = self
            .state()
            .acquire(None, false)
            .map_err(AcquireFailed::into_lock_error)?;
        Ok(outcome(taken))
    }

    /// Acquires if free, owned by this thread, or held by a dead process; never waits.
    ///
    /// # Errors
    /// [`LockError::WouldBlock`] if another thread or process holds it; otherwise as
    /// [`acquire`](RLock::acquire).
    pub fn try_acquire(&self) -> Result<Acquired, LockError> {
        let taken = self.state().acquire(None, true).map_err(|e| match e {
            AcquireFailed::Busy => LockError::WouldBlock,
            AcquireFailed::Overflow => LockError::RecursionOverflow,
        })?;
        Ok(outcome(taken))
    }

    /// Waits at most `timeout` for the lock.
    ///
    /// # Errors
    /// [`LockError::Timeout`] if not acquired in time; otherwise as
    /// [`acquire`](RLock::acquire).
    pub fn acquire_timeout(&self, timeout: Duration) -> Result<Acquired, LockError> {
        let taken = self
            .state()
            .acquire(deadline::after(timeout), false)
            .map_err(AcquireFailed::into_lock_error)?;
        Ok(outcome(taken))
    }

    /// Releases one level of ownership.
    ///
    /// # Errors
    /// [`LockError::NotOwner`] if the calling thread does not own the lock;
    /// [`LockError::HeldByGuard`] for the last level when an [`ArrayGuard`](crate::ArrayGuard)
    /// of this thread holds it (drop the guard instead).
    pub fn release(&self) -> Result<(), LockError> {
        self.state().release()
    }

    /// Whether anyone holds the lock.
    #[must_use]
    pub fn is_locked(&self) -> bool {
        raw_lock::is_locked(&self.state().word)
    }

    /// The recursion depth (0 when unlocked), for `Debug`.
    fn depth(&self) -> u32 {
        self.state().depth()
    }

    /// Whether the calling thread owns the lock.
    #[must_use]
    pub fn is_owned(&self) -> bool {
        self.state().is_owned_by_caller()
    }

    /// Blocks until acquired; the guard releases one level on drop.
    ///
    /// # Errors
    /// [`TryLockError::OwnerDied`] (holding the guard) if the previous owner died; never
    /// `WouldBlock` or `Timeout` (the result type is the one of `try_lock` and `lock_timeout`).
    ///
    /// # Panics
    /// If this thread already holds the lock `u32::MAX` times.
    pub fn lock(&self) -> TryLockResult<RLockGuard<'_>> {
        let taken = match self.state().acquire(None, false) {
            Ok(t) => t,
            Err(AcquireFailed::Overflow) => panic!("recursive lock acquired too many times"),
            Err(AcquireFailed::Busy) => unreachable!("an acquire without deadline waits"),
        };
        Ok(self.guard(taken)?)
    }

    /// Like [`lock`](RLock::lock), but never waits.
    ///
    /// # Errors
    /// [`TryLockError::WouldBlock`] if another thread or process holds it;
    /// [`TryLockError::OwnerDied`] as for [`lock`](RLock::lock).
    ///
    /// # Panics
    /// As [`lock`](RLock::lock).
    pub fn try_lock(&self) -> TryLockResult<RLockGuard<'_>> {
        self.guard_or(self.state().acquire(None, true), TryLockError::WouldBlock)
    }

    /// Like [`lock`](RLock::lock), waiting at most `timeout`.
    ///
    /// # Errors
    /// [`TryLockError::Timeout`] if not acquired in time; [`TryLockError::OwnerDied`] as for
    /// [`lock`](RLock::lock).
    ///
    /// # Panics
    /// As [`lock`](RLock::lock).
    pub fn lock_timeout(&self, timeout: Duration) -> TryLockResult<RLockGuard<'_>> {
        let r = self.state().acquire(deadline::after(timeout), false);
        self.guard_or(r, TryLockError::Timeout)
    }

    fn guard_or<'a>(
        &'a self,
        r: Result<Taken, AcquireFailed>,
        busy: TryLockError<RLockGuard<'a>>,
    ) -> TryLockResult<RLockGuard<'a>> {
        match r {
            Ok(taken) => Ok(self.guard(taken)?),
            Err(AcquireFailed::Busy) => Err(busy),
            Err(AcquireFailed::Overflow) => panic!("recursive lock acquired too many times"),
        }
    }

    fn guard(&self, taken: Taken) -> LockResult<RLockGuard<'_>> {
        let guard = RLockGuard { lock: self };
        match outcome(taken) {
            Acquired::Clean => Ok(guard),
            Acquired::OwnerDied { pid } => Err(OwnerDied::new(guard, pid)),
        }
    }
}

/// Holds one level of an [`RLock`]; releases it when dropped (also during a panic).
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RLockGuard<'a> {
    lock: &'a RLock,
}

impl Drop for RLockGuard<'_> {
    fn drop(&mut self) {
        // Fails only if a condition wait on another handle left the lock elsewhere.
        let _ = self.lock.release();
    }
}

impl fmt::Debug for RLockGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RLockGuard").finish_non_exhaustive()
    }
}

shm_handle!(RLock, wire 0, debug { locked: is_locked, owned_by_caller: is_owned, depth: depth });
