//! [`Event`]: Python's `multiprocessing.Event`, on one futex word.
//!
//! Bit 0 is the flag; bit 1 says someone may be parked. `set` swaps the word to "set, no
//! waiters" and wakes everyone only if the waiter bit was there, so a `set` nobody waits for
//! costs one atomic swap.
//!
//! # Memory ordering
//! `set` is a `Release` swap and `wait`/`is_set` read with `Acquire`: what the setter wrote
//! before `set` is visible to a waiter that saw the flag. Registering as a waiter is a CAS on
//! the same word, so a `set` racing with it either sees the waiter bit or makes the CAS (or the
//! futex's own re-check) fail.

use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::time::{Duration, Instant};

use super::atomic::AtomicU32;
use super::deadline;
use super::error::EventError;
use super::park::{Os, Park, WAIT_SPIN_LIMIT, Waited};
use crate::shm::{Kind, ShmBox, ShmError, ShmState};

const SET: u32 = 1;
const WAITERS: u32 = 2;

/// The shared state of an [`Event`].
#[repr(C)]
pub(crate) struct EventState {
    word: AtomicU32,
}

#[cfg(not(loom))]
const _: () = assert!(size_of::<EventState>() == 4);

// SAFETY: one atomic word; any value is a flag plus a waiter bit.
unsafe impl ShmState for EventState {
    const KIND: Kind = Kind::Event;
}

impl EventState {
    #[cfg(loom)]
    pub(crate) fn new() -> Self {
        Self {
            word: AtomicU32::new(0),
        }
    }

    pub(crate) fn set<P: Park>(&self) {
        if self.word.swap(SET, Release) & WAITERS != 0 {
            P::wake(&self.word, u32::MAX);
        }
    }

    pub(crate) fn clear(&self) {
        self.word.fetch_and(!SET, Relaxed);
    }

    pub(crate) fn is_set(&self) -> bool {
        self.word.load(Acquire) & SET != 0
    }

    /// Waits for the flag until `deadline`; returns whether it is set.
    pub(crate) fn wait<P: Park>(&self, deadline: Option<Instant>) -> bool {
        if self.is_set() {
            return true;
        }
        if deadline.is_some_and(|d| d <= Instant::now()) {
            return false;
        }
        for _ in 0..WAIT_SPIN_LIMIT {
            P::spin();
            if self.is_set() {
                return true;
            }
        }
        loop {
            let cur = self.word.load(Acquire);
            if cur & SET != 0 {
                return true;
            }
            if cur & WAITERS == 0
                && self
                    .word
                    .compare_exchange(cur, cur | WAITERS, Relaxed, Relaxed)
                    .is_err()
            {
                continue;
            }
            if P::wait(&self.word, cur | WAITERS, deadline) == Waited::TimedOut {
                return self.is_set();
            }
        }
    }
}

/// A flag that processes can wait for: Python's `multiprocessing.Event`.
///
/// ```
/// use mproc::{Event, EventError, Process};
/// use std::time::Duration;
///
/// fn go(e: Event) {
///     e.set();
/// }
///
/// # fn main() -> mproc::Result<()> {
/// let e = Event::new()?;
/// assert_eq!(e.try_wait(), Err(EventError::WouldBlock));
/// let child = Process::new(go, e.clone()).start()?;
/// e.wait_timeout(Duration::from_secs(10))?;
/// child.join()?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Event {
    shm: ShmBox<EventState>,
}

impl Event {
    /// A new event, not set.
    ///
    /// # Errors
    /// [`ShmError`] if the shared memory cannot be created.
    pub fn new() -> Result<Self, ShmError> {
        Ok(Self {
            shm: ShmBox::create(0, 0, |_, _| {})?,
        })
    }

    fn state(&self) -> &EventState {
        self.shm.state()
    }

    /// Sets the flag and wakes every waiter.
    pub fn set(&self) {
        self.state().set::<Os>();
    }

    /// Clears the flag.
    pub fn clear(&self) {
        self.state().clear();
    }

    /// Whether the flag is set.
    #[must_use]
    pub fn is_set(&self) -> bool {
        self.state().is_set()
    }

    /// Waits until the flag is set.
    ///
    /// # Errors
    /// None today (the `Result` matches the `try_` and `_timeout` forms).
    pub fn wait(&self) -> Result<(), EventError> {
        self.state().wait::<Os>(None);
        Ok(())
    }

    /// The `try_` form of [`wait`](Event::wait): `Ok` if the flag is set; never waits.
    ///
    /// # Errors
    /// [`EventError::WouldBlock`] if it is not set.
    pub fn try_wait(&self) -> Result<(), EventError> {
        if self.is_set() {
            Ok(())
        } else {
            Err(EventError::WouldBlock)
        }
    }

    /// Waits at most `timeout` for the flag (Python's `wait(timeout)`, whose `False` is
    /// [`EventError::Timeout`] here).
    ///
    /// # Errors
    /// [`EventError::Timeout`] if the flag is still clear when `timeout` expires.
    pub fn wait_timeout(&self, timeout: Duration) -> Result<(), EventError> {
        if self.state().wait::<Os>(deadline::after(timeout)) {
            Ok(())
        } else {
            Err(EventError::Timeout)
        }
    }
}

shm_handle!(Event, wire 0, debug { set: is_set });
