//! Synchronization primitives shared between processes: [`Lock`], [`RLock`], [`Semaphore`],
//! [`BoundedSemaphore`], [`Event`], [`Condition`], [`Barrier`].
//!
//! Each lives in its own anonymous shared-memory segment (see [`crate::shm`]) and blocks on
//! futexes in that memory: no named kernel object, nothing to leak or clean up when processes
//! die. Handles are cheap to clone and can be sent to other processes (as `#[process]`
//! arguments under every start method; through pipes and queues once they exist).
//!
//! Every blocking operation has three forms: blocking, `try_` (never waits) and `_timeout`,
//! and the three return the same type: a `try_` that would have to wait fails with the
//! family's `WouldBlock` error, a `_timeout` that expires with its `Timeout` error (and the
//! blocking form has neither). Lock types also give RAII guards.
//!
//! # Robustness
//! - A process killed while holding a [`Lock`], [`RLock`] (or the lock of a
//!   [`Value`](crate::Value)/[`Array`](crate::Array)) does not hang the others: the next
//!   acquirer takes the lock over and is told, in a form that never leaves a lock held
//!   without a guard or a plain duty: the manual `acquire` forms return
//!   `Ok(`[`Acquired::OwnerDied`]`)` (the caller holds the lock, as after any acquire, and
//!   releases it); the guard forms return `Err(`[`OwnerDied`]`)` carrying the guard, so `?`
//!   drops it and releases the lock (it becomes [`LockError::OwnerDied`]).
//! - A [`Barrier`] party that dies while waiting breaks the barrier for the others
//!   ([`BarrierError::PartyDied`]).
//! - [`Condition::notify`] never waits for the woken, so a dead waiter cannot block it.
//!
//! What "owner died" means for the data: a [`Lock`] or [`RLock`] protects nothing mproc can
//! see, so the death is reported once, to the process that takes the lock over (like
//! `EOWNERDEAD`). A [`Value`](crate::Value) or [`Array`](crate::Array) holds its data, so it
//! stays marked inconsistent (every guard reports [`OwnerDied`]) until `mark_consistent()`,
//! as a poisoned `std::sync::Mutex` does until `clear_poison()`.
//!
//! # Limits
//! - Owners are processes named by pid and start time; all processes sharing an object must
//!   be in one pid namespace. The identity is read before user code runs (at load and in every
//!   forked child). A process whose start time cannot be read even then (its descriptor table
//!   was already full when it was forked, or `/proc` is not mounted) is never judged dead while
//!   a process has its pid: a lock it dies holding is taken over once that pid is free, which
//!   after a pid reuse can be late; it is never taken from it while it lives.
//! - A *thread* that exits holding a lock while its process lives on is not detected (Python
//!   does not either).
//! - A [`Semaphore`] has no owner: permits held by a process that dies are not given back.
//! - [`Condition::notify_n`] may, in a narrow race with a waiter that is just going to sleep,
//!   wake more than `n`; re-check the predicate ([`Condition::wait_for`]).
//! - Waits for a dead owner or party are noticed within milliseconds (a parked waiter checks
//!   after 1 ms (locks) or 2 ms (barriers), backing off to 64 ms and 100 ms), not instantly.
//! - There is no `try_wait` for a [`Barrier`] or [`Condition`]: a wait that gives up at once
//!   is `wait_timeout(Duration::ZERO)`, which (as in Python) breaks the barrier.
//!
//! The algorithms (lock word, semaphore counter, event, condition sequence, barrier) are
//! written against a small `Park` interface, so `loom` checks the lock word, the semaphore
//! and the event on the heap:
//! `RUSTFLAGS="--cfg loom" cargo test -p mproc --lib --release loom`.

#[macro_use]
mod handle;

pub(crate) mod atomic;
mod barrier;
mod condition;
pub(crate) mod deadline;
mod error;
mod event;
mod lock;
pub(crate) mod park;
pub(crate) mod raw_lock;
mod rlock;
mod semaphore;
mod trace;

#[cfg(all(test, loom))]
pub(crate) mod loom_tests;
#[cfg(all(test, not(loom)))]
mod tests;

pub use barrier::Barrier;
pub use condition::Condition;
pub use error::{
    Acquired, BarrierCreateError, BarrierError, ConditionError, EventError, LockError, OwnerDied,
    SemaphoreError, TryLockError,
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
