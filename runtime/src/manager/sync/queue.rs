//! [`QueueProxy`] and [`JoinableQueueProxy`]: queues of serde items held by a manager.

use std::marker::PhantomData;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::super::error::ManagerError;
use super::super::handle::{Handle, decode, encode};
use super::super::protocol::Response;
use super::wire::SyncOp;

/// A FIFO queue of `T` held by a manager (Python's `manager.Queue(maxsize)`). Cheap to clone
/// and serializable, as every proxy. Items are stored encoded; each is bounded by the
/// manager's request limit, and their number by the queue's `maxsize` if it has one.
pub struct QueueProxy<T> {
    handle: Handle,
    types: PhantomData<fn() -> T>,
}

/// A [`QueueProxy`] that counts unfinished items (`manager.JoinableQueue()`): every item put
/// is unfinished until a consumer calls [`task_done`](Self::task_done);
/// [`join`](Self::join) waits until none is. Dereferences to the queue's operations.
pub struct JoinableQueueProxy<T> {
    queue: QueueProxy<T>,
}

impl<T> Clone for QueueProxy<T> {
    fn clone(&self) -> Self {
        Self::from_handle(self.handle.clone())
    }
}

impl<T> std::fmt::Debug for QueueProxy<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.handle.fmt(f)
    }
}

impl<T> Serialize for QueueProxy<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.handle.serialize(serializer)
    }
}

impl<'de, T> Deserialize<'de> for QueueProxy<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Handle::deserialize(deserializer).map(Self::from_handle)
    }
}

impl<T> QueueProxy<T> {
    pub(crate) fn from_handle(handle: Handle) -> Self {
        Self {
            handle,
            types: PhantomData,
        }
    }

    /// The number of items queued now (`qsize()`; a snapshot).
    ///
    /// # Errors
    /// [`ManagerError::Connection`] if the manager cannot be reached in time.
    pub fn qsize(&self) -> Result<usize, ManagerError> {
        let n = self.handle.sync_len(SyncOp::Count, Some(Duration::ZERO))?;
        usize::try_from(n).map_err(|_| ManagerError::UnexpectedResponse)
    }

    /// Whether no item is queued now (`empty()`).
    ///
    /// # Errors
    /// As [`qsize`](Self::qsize).
    pub fn is_empty(&self) -> Result<bool, ManagerError> {
        Ok(self.qsize()? == 0)
    }

    /// Whether a bounded queue is at its `maxsize` now (`full()`).
    ///
    /// # Errors
    /// As [`qsize`](Self::qsize).
    pub fn is_full(&self) -> Result<bool, ManagerError> {
        let max = self
            .handle
            .sync_len(SyncOp::Capacity, Some(Duration::ZERO))?;
        Ok(max > 0 && self.qsize()? as u64 >= max)
    }
}

impl<T: Serialize + DeserializeOwned> QueueProxy<T> {
    fn put_waiting(&self, item: &T, wait: Option<Duration>) -> Result<(), ManagerError> {
        let op = SyncOp::Put {
            item: encode(item)?,
            wait,
        };
        if self.handle.sync_flag(op, wait)? {
            Ok(())
        } else {
            Err(ManagerError::Full)
        }
    }

    fn get_waiting(&self, wait: Option<Duration>) -> Result<T, ManagerError> {
        match self.handle.sync(SyncOp::Get(wait), wait)? {
            Response::Bytes(Some(item)) => decode(&item),
            Response::Bytes(None) => Err(ManagerError::Empty),
            _ => Err(ManagerError::UnexpectedResponse),
        }
    }

    /// Appends `item`, waiting while a bounded queue is full (`put(item)`).
    ///
    /// # Errors
    /// [`ManagerError::Encode`] if `item` cannot be serialized (nothing is sent);
    /// [`ManagerError::Connection`] if the manager cannot be reached or goes away.
    pub fn put(&self, item: &T) -> Result<(), ManagerError> {
        self.put_waiting(item, None)
    }

    /// Appends `item` if there is room now (`put_nowait`).
    ///
    /// # Errors
    /// [`ManagerError::Full`] if there is none; as [`put`](Self::put).
    pub fn try_put(&self, item: &T) -> Result<(), ManagerError> {
        self.put_waiting(item, Some(Duration::ZERO))
    }

    /// Appends `item`, waiting at most `timeout` for room (`put(item, timeout=t)`).
    ///
    /// # Errors
    /// [`ManagerError::Full`] if no room came in time; as [`put`](Self::put).
    pub fn put_timeout(&self, item: &T, timeout: Duration) -> Result<(), ManagerError> {
        self.put_waiting(item, Some(timeout))
    }

    /// Takes the oldest item, waiting until there is one (`get()`).
    ///
    /// # Errors
    /// [`ManagerError::Decode`] if the item is not a `T`; [`ManagerError::Connection`] if the
    /// manager cannot be reached or goes away.
    pub fn get(&self) -> Result<T, ManagerError> {
        self.get_waiting(None)
    }

    /// Takes the oldest item if there is one now (`get_nowait()`).
    ///
    /// # Errors
    /// [`ManagerError::Empty`] if there is none; as [`get`](Self::get).
    pub fn try_get(&self) -> Result<T, ManagerError> {
        self.get_waiting(Some(Duration::ZERO))
    }

    /// Takes the oldest item, waiting at most `timeout` (`get(timeout=t)`).
    ///
    /// # Errors
    /// [`ManagerError::Empty`] if none came in time; as [`get`](Self::get).
    pub fn get_timeout(&self, timeout: Duration) -> Result<T, ManagerError> {
        self.get_waiting(Some(timeout))
    }
}

impl<T> Clone for JoinableQueueProxy<T> {
    fn clone(&self) -> Self {
        Self {
            queue: self.queue.clone(),
        }
    }
}

impl<T> std::fmt::Debug for JoinableQueueProxy<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.queue.fmt(f)
    }
}

impl<T> Serialize for JoinableQueueProxy<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.queue.serialize(serializer)
    }
}

impl<'de, T> Deserialize<'de> for JoinableQueueProxy<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        QueueProxy::deserialize(deserializer).map(|queue| Self { queue })
    }
}

impl<T> std::ops::Deref for JoinableQueueProxy<T> {
    type Target = QueueProxy<T>;

    fn deref(&self) -> &QueueProxy<T> {
        &self.queue
    }
}

impl<T> JoinableQueueProxy<T> {
    pub(crate) fn from_handle(handle: Handle) -> Self {
        Self {
            queue: QueueProxy::from_handle(handle),
        }
    }

    /// Marks one item taken earlier as finished (`task_done()`).
    ///
    /// # Errors
    /// [`RemoteError::OverReleased`](super::super::RemoteError::OverReleased) if every item
    /// put is already finished; [`ManagerError::Connection`].
    pub fn task_done(&self) -> Result<(), ManagerError> {
        self.queue.handle.sync_done(SyncOp::TaskDone)
    }

    /// Waits until every item put is finished (`join()`).
    ///
    /// # Errors
    /// [`ManagerError::Connection`] if the manager cannot be reached or goes away.
    pub fn join(&self) -> Result<(), ManagerError> {
        self.queue
            .handle
            .sync_flag(SyncOp::Wait(None), None)
            .map(|_| ())
    }

    /// Waits at most `timeout` until every item put is finished.
    ///
    /// # Errors
    /// [`ManagerError::Timeout`] if some were not finished in time, or as [`join`](Self::join).
    pub fn join_timeout(&self, timeout: Duration) -> Result<(), ManagerError> {
        let done = self
            .queue
            .handle
            .sync_flag(SyncOp::Wait(Some(timeout)), Some(timeout))?;
        if done {
            Ok(())
        } else {
            Err(ManagerError::Timeout)
        }
    }
}
