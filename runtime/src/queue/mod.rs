//! Queues between processes: [`Queue`], [`SimpleQueue`] and [`JoinableQueue`] (Python's
//! `multiprocessing` queues), on a ring of bytes in shared memory.
//!
//! # How it works
//!
//! A queue is one shared-memory segment: a block of counters (see `state`) and a ring of
//! records, each an 8-byte header and a serialized item. `put` serializes the item and copies
//! it into the ring under the producers' lock; `get` decodes it in place under the consumers'
//! lock. A side waits on a futex only when the other side must wake it, and wakes the other
//! side only when someone is asleep. Items larger than half the ring, and items carrying
//! handles (descriptors), also have a message on a side socket (see `side`).
//!
//! Unlike Python's queue there is no feeder thread: the item is in shared memory when `put`
//! returns. So a serialization error is `put`'s error, and a process exits whenever it likes
//! (Python's "joining a process that has put items" deadlock cannot happen) without losing what
//! it put, even when it is killed.
//!
//! # Crashes
//!
//! The locks are robust: a process killed in the middle of an operation is detected by the
//! next process on the same side, which repairs what it left (see `ring`). What that means:
//! - a producer killed in `put` either put the item (whole) or not at all; the queue keeps
//!   working;
//! - an item whose `put` returned is never lost, whatever happens to its producer;
//! - a consumer killed in `get` either left the item for the others or took it with it; the
//!   queue keeps working;
//! - a consumer of a [`JoinableQueue`] killed between `get` and `task_done` is reported by
//!   `join` ([`QueueError::ConsumerDied`]) instead of being waited for forever.
//!
//! # Untrusted shared memory
//!
//! Any holder of a queue can write anything into its segment and side socket. Every index,
//! count and record read from them is checked before use: a corrupted queue gives
//! [`QueueError::Corrupted`] (or another typed error), never a panic, a write outside the ring,
//! or an allocation of a size the writer chose (see `ring` and `side`).
//!
//! # Limits
//!
//! - An item is at most 1 GiB serialized.
//! - A queue without a `maxsize` is still bounded by its ring (4 MiB by default, see
//!   `QueueBuilder::ring_bytes`): once the ring is full, `put` waits for consumers, and
//!   `try_put`/`put_timeout` report `Full`, where Python's unbounded `put` never waits (its
//!   feeder thread waits instead, and the producer's exit after it). A program that puts more
//!   than the ring holds before starting its consumers needs a larger ring; `is_full` still
//!   answers Python's question (is `maxsize` reached).
//! - Items carrying handles, and items larger than half the ring, each need room in the
//!   queue's side socket: a few thousand can wait in a queue at once (about 280 where
//!   `net.core.wmem_max` is left at the common 208 KiB); past that, `put` waits for consumers.
//! - `qsize` is exact when nobody is working on the queue, approximate otherwise (as in
//!   Python).

mod error;
mod halves;
mod handle;
mod joinable;
mod overflow;
pub(crate) mod ring;
mod side;
mod simple;
mod state;

#[cfg(all(test, loom))]
mod loom_tests;
#[cfg(all(test, not(loom)))]
mod tests;
#[cfg(all(test, not(loom)))]
mod tests_corrupt;
#[cfg(all(test, not(loom)))]
mod tests_overflow;

pub use error::QueueError;
pub use halves::{QueueReader, QueueWriter};
pub(crate) use handle::Closer;
pub use handle::{DEFAULT_RING_BYTES, Iter, Queue, QueueBuilder};
pub use joinable::JoinableQueue;
pub use simple::SimpleQueue;
#[cfg(all(test, not(loom)))]
mod proptests;
