//! [`QueueError`]: what a queue operation reports.

use std::io;

use crate::codec::CodecError;
use crate::shm::ShmError;

/// A queue operation failed. Unless a variant says otherwise, nothing was put or taken and
/// the queue stays usable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QueueError {
    /// No room before the deadline: the queue holds `maxsize` items, or its ring (or side
    /// socket) is full (Python's `queue.Full`). Nothing was put.
    #[error("the queue is full")]
    Full,
    /// No item before the deadline (Python's `queue.Empty`).
    #[error("the queue is empty")]
    Empty,
    /// The queue was closed: no more puts; gets report this once the queue is drained.
    #[error("the queue is closed")]
    Closed,
    /// `join_timeout` ran out of time with items still unfinished.
    #[error("timed out waiting for every item to be marked done")]
    Timeout,
    /// `join` found a process that died holding items it had taken and never marked done
    /// (`task_done`): they will never be. They now count as done, so the next `join` waits only
    /// for the others.
    #[error("process {pid} died with {items} item(s) taken and never marked done")]
    ConsumerDied {
        /// The dead process.
        pid: i32,
        /// How many of its items were never marked done.
        items: u64,
    },
    /// `task_done` was called more times than items were put (Python's `ValueError`).
    #[error("task_done() called more times than there were items")]
    TaskDoneTooMany,
    /// The item could not be serialized; nothing was put.
    #[error("cannot serialize the item")]
    Encode(#[source] CodecError),
    /// The item does not decode as the queue's item type; it was taken off the queue.
    #[error("cannot deserialize the item")]
    Decode(#[source] CodecError),
    /// The item is larger than a queue carries (1 GiB once serialized); nothing was put.
    #[error("an item of {len} bytes exceeds the maximum of {max} bytes")]
    TooLarge {
        /// The item's serialized length.
        len: u64,
        /// The maximum.
        max: u64,
    },
    /// The queue's shared memory holds something mproc does not write (another process
    /// scribbled on it). From a get: the items in it were discarded, and the queue is usable
    /// again. From a put: nothing was put (the next get discards what is there).
    #[error("the queue's shared memory is corrupted; its items were discarded")]
    Corrupted,
    /// The queue's shared memory could not be created or mapped.
    #[error(transparent)]
    Shm(#[from] ShmError),
    /// A system call failed (creating the queue, or moving an item's descriptors or large
    /// bytes; such an item was taken off the queue).
    #[error("{op} failed")]
    Os {
        /// The operation that failed.
        op: &'static str,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}

impl QueueError {
    pub(crate) fn os(op: &'static str) -> impl FnOnce(io::Error) -> Self {
        move |source| Self::Os { op, source }
    }
}
