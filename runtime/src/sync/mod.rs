//! Synchronization primitives shared between processes: [`Lock`], [`RLock`], [`Semaphore`],
//! [`BoundedSemaphore`], [`Event`], [`Condition`], [`Barrier`].
//!
//! Each lives in its own anonymous shared-memory segment (see [`crate::shm`]) and blocks on
//! futexes in that memory: no named kernel object, nothing to leak or clean up when processes
//! die. Handles are cheap to clone and can be sent to other processes (as `#[process]`
//! arguments under every start method; through pipes and queues once they exist).
//!
//! Every blocking operation has three forms: blocking, `try_` (never waits) and `_timeout`.
//! Lock types also give RAII guards.
//!
//! # Robustness
//! - A process killed while holding a [`Lock`], [`RLock`] (or the lock of a
//!   [`Value`](crate::Value)/[`Array`](crate::Array)) does not hang the others: the next
//!   acquirer takes the lock over and gets [`LockError::OwnerDied`] (or [`OwnerDied`] with
//!   the guard).
//! - A [`Barrier`] party that dies while waiting breaks the barrier for the others
//!   ([`BarrierError::PartyDied`]).
//! - [`Condition::notify`] never waits for the woken, so a dead waiter cannot block it.
//!
//! The algorithms (lock word, semaphore counter, event, condition sequence, barrier) are
//! written against a small `Park` interface, so `loom` checks them on the heap.

mod atomic;
mod barrier;
mod condition;
mod deadline;
mod error;
mod event;
mod lock;
mod park;
mod raw_lock;
mod rlock;
mod semaphore;

#[cfg(all(test, loom))]
mod loom_tests;
#[cfg(all(test, not(loom)))]
mod tests;

pub use barrier::Barrier;
pub use condition::Condition;
pub use error::{
    ArrayError, BarrierError, ConditionError, LockError, OwnerDied, SemaphoreError, TryLockError,
};
pub use event::Event;
pub use lock::{Lock, LockGuard, LockResult, TryLockResult};
pub use rlock::{RLock, RLockGuard};
pub use semaphore::{BoundedSemaphore, BoundedSemaphoreGuard, Semaphore, SemaphoreGuard};

pub(crate) use deadline::after as deadline_after;
pub(crate) use rlock::{AcquireFailed, RLockState};

use crate::sys::owner;

/// This process's identity for lock words.
#[inline]
fn self_id() -> u64 {
    owner::self_id()
}

/// This thread's id for `RLock` ownership.
#[inline]
fn self_tid() -> u32 {
    owner::self_tid()
}
