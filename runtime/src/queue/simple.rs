//! [`SimpleQueue`]: the small queue API, Python's `multiprocessing.SimpleQueue`.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{Queue, QueueError};

/// An unbounded queue with only `put`, `get`, `is_empty` and `close`: Python's
/// `multiprocessing.SimpleQueue`. It is a [`Queue`] underneath (same guarantees, same speed);
/// [`as_queue`](Self::as_queue) gives the full API.
///
/// ```
/// use mproc::SimpleQueue;
///
/// # fn main() -> mproc::Result<()> {
/// let q = SimpleQueue::new()?;
/// q.put(&"hello".to_string())?;
/// assert_eq!(q.get()?, "hello");
/// assert!(q.is_empty());
/// # Ok(())
/// # }
/// ```
pub struct SimpleQueue<T> {
    queue: Queue<T>,
}

impl<T> SimpleQueue<T> {
    /// A new, empty queue.
    ///
    /// # Errors
    /// As [`Queue::new`].
    pub fn new() -> Result<Self, QueueError> {
        Queue::new().map(|queue| Self { queue })
    }

    /// Whether the queue holds no item (Python's `empty()`).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Closes the queue for everyone (see [`Queue::close`]).
    pub fn close(&self) {
        self.queue.close();
    }

    /// The full queue API.
    #[must_use]
    pub fn as_queue(&self) -> &Queue<T> {
        &self.queue
    }
}

impl<T: Serialize + DeserializeOwned> SimpleQueue<T> {
    /// Puts an item (see [`Queue::put`]).
    ///
    /// # Errors
    /// As [`Queue::put`].
    pub fn put(&self, item: &T) -> Result<(), QueueError> {
        self.queue.put(item)
    }

    /// Takes the next item, waiting for one (see [`Queue::get`]).
    ///
    /// # Errors
    /// As [`Queue::get`].
    pub fn get(&self) -> Result<T, QueueError> {
        self.queue.get()
    }
}

impl<T> Clone for SimpleQueue<T> {
    fn clone(&self) -> Self {
        Self {
            queue: self.queue.clone(),
        }
    }
}

impl<T> fmt::Debug for SimpleQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SimpleQueue").field(&self.queue).finish()
    }
}

impl<T> Serialize for SimpleQueue<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.queue.serialize(s)
    }
}

impl<'de, T> Deserialize<'de> for SimpleQueue<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Queue::deserialize(d).map(|queue| Self { queue })
    }
}
