//! [`JoinableQueue`]: a queue whose items are marked done, and a `join` that waits for them.

use std::fmt;
use std::ops::Deref;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::ring::JoinFail;
use super::{Queue, QueueError};
use crate::sync::deadline;

/// A [`Queue`] that counts unfinished items: Python's `multiprocessing.JoinableQueue`.
///
/// Every `put` adds one unfinished item; a consumer calls [`task_done`](Self::task_done) once
/// it has finished with an item it took; [`join`](Self::join) waits until every item put so
/// far is done. Everything else is the queue's (it dereferences to [`Queue`]).
///
/// ```
/// use mproc::{JoinableQueue, Process};
///
/// fn worker(q: JoinableQueue<u32>) {
///     while let Ok(n) = q.get() {
///         assert!(n < 5);
///         q.task_done().unwrap();
///     }
/// }
///
/// # fn main() -> mproc::Result<()> {
/// let q = JoinableQueue::new()?;
/// let consumer = Process::new(worker, q.clone()).daemon(true).start()?;
/// for n in 0..5 {
///     q.put(&n)?;
/// }
/// q.join_timeout(std::time::Duration::from_secs(30))?; // every item processed
/// q.close();
/// consumer.join()?;
/// # Ok(())
/// # }
/// ```
pub struct JoinableQueue<T> {
    queue: Queue<T>,
}

impl<T> JoinableQueue<T> {
    /// A joinable queue without a size limit.
    ///
    /// # Errors
    /// As [`Queue::new`].
    pub fn new() -> Result<Self, QueueError> {
        Queue::new().map(Self::from)
    }

    /// A joinable queue holding at most `maxsize` items (0: no limit).
    ///
    /// # Errors
    /// As [`Queue::bounded`].
    pub fn bounded(maxsize: usize) -> Result<Self, QueueError> {
        Queue::bounded(maxsize).map(Self::from)
    }

    /// Marks one item taken from the queue as finished.
    ///
    /// # Errors
    /// [`QueueError::TaskDoneTooMany`] if every item put was already marked done (Python's
    /// `ValueError`); nothing changes then.
    pub fn task_done(&self) -> Result<(), QueueError> {
        if self.queue.ring().task_done() {
            Ok(())
        } else {
            Err(QueueError::TaskDoneTooMany)
        }
    }

    /// Items put and not yet marked done.
    #[must_use]
    pub fn unfinished(&self) -> usize {
        usize::try_from(self.queue.ring().unfinished()).unwrap_or(usize::MAX)
    }

    /// Waits until every item put so far has been marked done.
    ///
    /// Unlike Python's, it does not wait forever for items whose consumer died before marking
    /// them done: it reports that process instead (and those items count as done from then
    /// on, so the next `join` waits only for the others).
    ///
    /// # Errors
    /// [`QueueError::ConsumerDied`]: a process that had taken items died before marking them
    /// done.
    pub fn join(&self) -> Result<(), QueueError> {
        self.queue.ring().join(None).map_err(join_error)
    }

    /// Waits at most `timeout` for every item put so far to be marked done.
    ///
    /// # Errors
    /// [`QueueError::Timeout`] when the time is up first; [`QueueError::ConsumerDied`] as
    /// [`join`](Self::join).
    pub fn join_timeout(&self, timeout: Duration) -> Result<(), QueueError> {
        self.queue
            .ring()
            .join(deadline::after(timeout))
            .map_err(join_error)
    }

    /// The underlying queue.
    #[must_use]
    pub fn as_queue(&self) -> &Queue<T> {
        &self.queue
    }
}

fn join_error(fail: JoinFail) -> QueueError {
    match fail {
        JoinFail::Timeout => QueueError::Timeout,
        JoinFail::Died { pid, items } => QueueError::ConsumerDied { pid, items },
    }
}

impl<T> From<Queue<T>> for JoinableQueue<T> {
    /// Counts done items of `queue` (any queue can be joined; its items count from creation).
    fn from(queue: Queue<T>) -> Self {
        Self { queue }
    }
}

impl<T> Deref for JoinableQueue<T> {
    type Target = Queue<T>;

    fn deref(&self) -> &Queue<T> {
        &self.queue
    }
}

impl<T> Clone for JoinableQueue<T> {
    fn clone(&self) -> Self {
        Self {
            queue: self.queue.clone(),
        }
    }
}

impl<T> PartialEq for JoinableQueue<T> {
    fn eq(&self, other: &Self) -> bool {
        self.queue == other.queue
    }
}

impl<T> fmt::Debug for JoinableQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinableQueue")
            .field("queue", &self.queue)
            .field("unfinished", &self.unfinished())
            .finish()
    }
}

impl<T> Serialize for JoinableQueue<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.queue.serialize(s)
    }
}

impl<'de, T> Deserialize<'de> for JoinableQueue<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Queue::deserialize(d).map(Self::from)
    }
}

impl<'q, T: Serialize + DeserializeOwned> IntoIterator for &'q JoinableQueue<T> {
    type Item = Result<T, QueueError>;
    type IntoIter = super::Iter<'q, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.queue.iter()
    }
}
