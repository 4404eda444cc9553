//! [`Semaphore`] and [`BoundedSemaphore`]: Python's, on a futex counter.
//!
//! One 64-bit word holds the counter (low half, the futex word) and the number of parked
//! waiters (high half), as glibc's semaphores do: a release sees in the result of its own
//! atomic add whether anyone waits, so it makes a system call only then, and registration
//! and release are ordered by the word itself (no fence pairing to get right).
//!
//! # Memory ordering
//! Taking a permit is an `Acquire` CAS and adding permits a `Release` RMW: what a releaser
//! wrote before `release` is visible to the process that takes the permit. Registering as a
//! waiter is a CAS on the same word, so a release either happens before it (the waiter then
//! sees the permit and does not sleep) or sees the registration (and wakes).

use std::fmt;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::time::{Duration, Instant};

use super::atomic::{AtomicU32, AtomicU64};
use super::deadline;
use super::error::SemaphoreError;
use super::park::{Os, Park, WAIT_SPIN_LIMIT, Waited};
use crate::shm::{Kind, ShmBox, ShmError, ShmState};

/// The shared state of a semaphore; generic over [`Park`] so `loom` can check it on the heap.
#[repr(C)]
pub(crate) struct SemState {
    /// Low 32 bits: the counter. High 32 bits: parked waiters.
    word: AtomicU64,
    /// The largest allowed count (the initial value for a bounded semaphore).
    max: AtomicU32,
    reserved: AtomicU32,
}

#[cfg(not(loom))]
const _: () = assert!(size_of::<SemState>() == 16);

// SAFETY: atomics only; any content is a count, a waiter count and a maximum.
unsafe impl ShmState for SemState {
    const KIND: Kind = Kind::Semaphore;
}

/// A release would exceed the maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TooMany;

const WAITER: u64 = 1 << 32;

#[allow(
    clippy::cast_possible_truncation,
    reason = "the low half is the counter"
)]
fn count(word: u64) -> u32 {
    word as u32
}

impl SemState {
    #[cfg(loom)]
    pub(crate) fn new(count: u32, max: u32) -> Self {
        Self {
            word: AtomicU64::new(u64::from(count)),
            max: AtomicU32::new(max),
            reserved: AtomicU32::new(0),
        }
    }

    fn init(&self, count: u32, max: u32) {
        self.word.store(u64::from(count), Relaxed);
        self.max.store(max, Relaxed);
    }

    /// Takes a permit if there is one; `also` is subtracted in the same CAS (a waiter
    /// deregistering).
    fn take(&self, also: u64) -> bool {
        let mut w = self.word.load(Relaxed);
        while count(w) > 0 {
            match self
                .word
                .compare_exchange_weak(w, w - 1 - also, Acquire, Relaxed)
            {
                Ok(_) => return true,
                Err(now) => w = now,
            }
        }
        false
    }

    fn try_take(&self) -> bool {
        self.take(0)
    }

    /// Takes one permit, waiting until `deadline` (`None`: forever). `false` on timeout.
    pub(crate) fn acquire<P: Park>(&self, deadline: Option<Instant>) -> bool {
        if self.try_take() {
            return true;
        }
        if deadline.is_some_and(|d| d <= Instant::now()) {
            return false;
        }
        for _ in 0..WAIT_SPIN_LIMIT {
            P::spin();
            if count(self.word.load(Relaxed)) > 0 && self.try_take() {
                return true;
            }
        }
        // Register, unless a permit arrived meanwhile.
        let mut w = self.word.load(Relaxed);
        loop {
            if count(w) > 0 {
                if self.try_take() {
                    return true;
                }
                w = self.word.load(Relaxed);
                continue;
            }
            match self
                .word
                .compare_exchange_weak(w, w + WAITER, Relaxed, Relaxed)
            {
                Ok(_) => break,
                Err(now) => w = now,
            }
        }
        loop {
            let waited = P::wait_low(&self.word, 0, deadline);
            if self.take(WAITER) {
                return true;
            }
            if waited == Waited::TimedOut {
                // Deregister; a permit that arrives now is left for others.
                self.word.fetch_sub(WAITER, Relaxed);
                return false;
            }
        }
    }

    /// Adds `n` permits and wakes as many waiters.
    pub(crate) fn release<P: Park>(&self, n: u32) -> Result<(), TooMany> {
        let max = self.max.load(Relaxed);
        let mut w = self.word.load(Relaxed);
        loop {
            let next = count(w)
                .checked_add(n)
                .filter(|v| *v <= max)
                .ok_or(TooMany)?;
            let new = (w & !u64::from(u32::MAX)) | u64::from(next);
            match self.word.compare_exchange_weak(w, new, Release, Relaxed) {
                Ok(_) => break,
                Err(now) => w = now,
            }
        }
        if w >> 32 > 0 {
            P::wake_low(&self.word, n);
        }
        Ok(())
    }

    pub(crate) fn value(&self) -> u32 {
        count(self.word.load(Relaxed))
    }
}

/// Tag for an unbounded semaphore (a `BoundedSemaphore` handle cannot be received as one).
const UNBOUNDED: u64 = 1;
const BOUNDED: u64 = 2;

macro_rules! semaphore_api {
    ($name:ident, $guard:ident, $tag:expr, $what:literal) => {
        impl $name {
            fn state(&self) -> &SemState {
                self.shm.state()
            }

            /// Takes a permit, waiting as long as it takes.
            ///
            /// # Errors
            /// None today (the `Result` matches the `try_` and `_timeout` forms).
            pub fn acquire(&self) -> Result<(), SemaphoreError> {
                self.state().acquire::<Os>(None);
                Ok(())
            }

            /// Takes a permit if one is available; never waits.
            ///
            /// # Errors
            /// [`SemaphoreError::WouldBlock`] if the counter is zero.
            pub fn try_acquire(&self) -> Result<(), SemaphoreError> {
                if self.state().try_take() {
                    Ok(())
                } else {
                    Err(SemaphoreError::WouldBlock)
                }
            }

            /// Takes a permit, waiting at most `timeout`.
            ///
            /// # Errors
            /// [`SemaphoreError::Timeout`] if none became available in time.
            pub fn acquire_timeout(&self, timeout: Duration) -> Result<(), SemaphoreError> {
                if self.state().acquire::<Os>(deadline::after(timeout)) {
                    Ok(())
                } else {
                    Err(SemaphoreError::Timeout)
                }
            }

            /// Takes a permit and returns a guard that gives it back on drop (Python's
            /// `with sem:`).
            ///
            /// # Errors
            /// As [`acquire`](Self::acquire).
            pub fn guard(&self) -> Result<$guard<'_>, SemaphoreError> {
                self.acquire()?;
                Ok($guard { sem: self })
            }

            /// Like [`guard`](Self::guard), but never waits.
            ///
            /// # Errors
            /// [`SemaphoreError::WouldBlock`] if the counter is zero.
            pub fn try_guard(&self) -> Result<$guard<'_>, SemaphoreError> {
                self.try_acquire()?;
                Ok($guard { sem: self })
            }

            /// Like [`guard`](Self::guard), waiting at most `timeout`.
            ///
            /// # Errors
            /// [`SemaphoreError::Timeout`] if no permit became available in time.
            pub fn guard_timeout(&self, timeout: Duration) -> Result<$guard<'_>, SemaphoreError> {
                self.acquire_timeout(timeout)?;
                Ok($guard { sem: self })
            }

            /// The current counter (Python's `get_value()`).
            #[must_use]
            pub fn value(&self) -> u32 {
                self.state().value()
            }
        }

        /// Holds one permit; gives it back when dropped (also during a panic).
        #[must_use = "the permit is given back as soon as the guard is dropped"]
        pub struct $guard<'a> {
            sem: &'a $name,
        }

        impl Drop for $guard<'_> {
            fn drop(&mut self) {
                // Cannot exceed the maximum: this permit was taken from the counter.
                let _ = self.sem.state().release::<Os>(1);
            }
        }

        impl fmt::Debug for $guard<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($guard)).finish_non_exhaustive()
            }
        }

        shm_handle!($name, wire $tag, debug_non_exhaustive { value: value });
    };
}

/// A counting semaphore shared between processes: Python's `multiprocessing.Semaphore`.
///
/// `acquire` takes a permit (waiting while there is none), `release` adds one. Releasing more
/// than was acquired is allowed, up to [`Semaphore::MAX`]. A process that dies holding
/// permits does not give them back (a semaphore has no owner); use a [`Lock`](crate::Lock)
/// where that matters.
///
/// ```
/// use mproc::Semaphore;
///
/// # fn main() -> mproc::Result<()> {
/// let seats = Semaphore::new(2)?;
/// let a = seats.guard()?;
/// let b = seats.guard()?;
/// assert!(seats.try_acquire().is_err()); // full
/// drop(a);
/// assert!(seats.try_acquire().is_ok());
/// # drop(b);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Semaphore {
    shm: ShmBox<SemState>,
}

impl Semaphore {
    /// The largest counter value.
    pub const MAX: u32 = u32::MAX;

    /// A semaphore with `value` permits.
    ///
    /// # Errors
    /// [`ShmError`] if the shared memory cannot be created.
    pub fn new(value: u32) -> Result<Self, ShmError> {
        Ok(Self {
            shm: ShmBox::create(UNBOUNDED, 0, |s: &SemState, _| s.init(value, Self::MAX))?,
        })
    }

    /// Adds a permit, waking one waiter.
    ///
    /// # Errors
    /// [`SemaphoreError::TooManyReleases`] if the counter is at [`Semaphore::MAX`].
    pub fn release(&self) -> Result<(), SemaphoreError> {
        self.release_n(1)
    }

    /// Adds `n` permits, waking up to `n` waiters.
    ///
    /// # Errors
    /// [`SemaphoreError::TooManyReleases`] if the counter would exceed [`Semaphore::MAX`]
    /// (nothing is added then).
    pub fn release_n(&self, n: u32) -> Result<(), SemaphoreError> {
        self.state()
            .release::<Os>(n)
            .map_err(|_| SemaphoreError::TooManyReleases)
    }
}

semaphore_api!(Semaphore, SemaphoreGuard, UNBOUNDED, "Semaphore");

/// A semaphore that refuses to be released above its initial value: Python's
/// `multiprocessing.BoundedSemaphore`.
///
/// ```
/// use mproc::{BoundedSemaphore, SemaphoreError};
///
/// # fn main() -> mproc::Result<()> {
/// let sem = BoundedSemaphore::new(1)?;
/// assert_eq!(sem.release(), Err(SemaphoreError::TooManyReleases));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct BoundedSemaphore {
    shm: ShmBox<SemState>,
}

impl BoundedSemaphore {
    /// A semaphore with `value` permits, never more.
    ///
    /// # Errors
    /// [`ShmError`] if the shared memory cannot be created.
    pub fn new(value: u32) -> Result<Self, ShmError> {
        Ok(Self {
            shm: ShmBox::create(BOUNDED, 0, |s: &SemState, _| s.init(value, value))?,
        })
    }

    /// Gives back a permit, waking one waiter.
    ///
    /// # Errors
    /// [`SemaphoreError::TooManyReleases`] if the counter is already at its initial value
    /// (checked atomically with the increment).
    pub fn release(&self) -> Result<(), SemaphoreError> {
        self.state()
            .release::<Os>(1)
            .map_err(|_| SemaphoreError::TooManyReleases)
    }

    /// The initial value: the most permits there can be.
    #[must_use]
    pub fn max_value(&self) -> u32 {
        self.state().max.load(Relaxed)
    }
}

semaphore_api!(
    BoundedSemaphore,
    BoundedSemaphoreGuard,
    BOUNDED,
    "BoundedSemaphore"
);
