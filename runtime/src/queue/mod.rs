//! Queues between processes: [`Queue`], [`SimpleQueue`] and [`JoinableQueue`] (Python's
//! `multiprocessing` queues), on a ring of bytes in shared memory.
//!
//! # How it works
//!
//! A queue is one shared-memory segment: a block of counters (see `state`) and a ring of
//! records, each an 8-byte header and a serialized item. `put` serializes the item and copies
//! it into the ring under the producers' lock; `get` decodes it in place under the consumers'
//! lock. A side waits on a futex only when the other side must wake it, and wakes the other
//! side only when someone is asleep. Items carrying handles (descriptors), and in a bounded
//! queue items larger than half the ring, also have a message on a side socket (see `side`).
//!
//! A queue without a `maxsize` is unbounded, as in Python: when its ring is full, `put`
//! appends the record to the queue's overflow, a growable memfd beside the ring (see
//! `overflow`, and "Overflow" in `ring`), and returns; items larger than half the ring (and
//! without handles) go there whole. Consumers take from the ring first and keep the order of
//! the puts; the overflow's memory is returned as they pass it.
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
//! - A queue without a `maxsize` is bounded only by memory: `put` never waits for room in
//!   the ring, and `try_put`/`put_timeout` never report `Full` for lack of it (what the ring
//!   cannot take goes to the overflow). A bounded queue waits while it holds `maxsize` items, and also while its ring
//!   (4 MiB by default, see `QueueBuilder::ring_bytes`) is full.
//! - Items carrying handles each need room in the queue's side socket, as do items larger
//!   than half the ring in a bounded queue: a few thousand can wait in a queue at once (about
//!   280 where `net.core.wmem_max` is left at the common 208 KiB); past that, `put` waits for
//!   consumers, even in an unbounded queue (descriptors can only wait in a socket, and the
//!   socket's buffer is all the kernel gives an unprivileged process).
//! - `qsize` is exact when nobody is working on the queue, approximate otherwise (as in
//!   Python).

mod error;
mod halves;
mod handle;
mod joinable;
mod overflow;
pub(crate) mod ring;
mod shm_bytes;
mod side;
mod simple;
mod state;
mod trace;

#[cfg(all(test, loom))]
mod loom_tests;
#[cfg(all(test, not(loom)))]
mod tests;
#[cfg(all(test, not(loom)))]
mod tests_corrupt;
#[cfg(all(test, not(loom)))]
mod tests_markers;
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
