//! [`QueueWriter`] and [`QueueReader`]: the two halves of a [`Queue`], for saying (to a
//! topology, to a reader of the code) what a process does with it.

use std::fmt;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{Iter, Queue, QueueError};

/// The putting half of a [`Queue`]: [`Queue::writer`].
pub struct QueueWriter<T> {
    pub(super) queue: Queue<T>,
}

/// The getting half of a [`Queue`]: [`Queue::reader`].
pub struct QueueReader<T> {
    pub(super) queue: Queue<T>,
}

impl<T: Serialize + DeserializeOwned> QueueWriter<T> {
    /// See [`Queue::put`].
    ///
    /// # Errors
    /// As [`Queue::put`].
    pub fn put(&self, item: &T) -> Result<(), QueueError> {
        self.queue.put(item)
    }

    /// See [`Queue::try_put`].
    ///
    /// # Errors
    /// As [`Queue::try_put`].
    pub fn try_put(&self, item: &T) -> Result<(), QueueError> {
        self.queue.try_put(item)
    }

    /// See [`Queue::put_timeout`].
    ///
    /// # Errors
    /// As [`Queue::put_timeout`].
    pub fn put_timeout(&self, item: &T, timeout: Duration) -> Result<(), QueueError> {
        self.queue.put_timeout(item, timeout)
    }

    /// See [`Queue::close`].
    pub fn close(&self) {
        self.queue.close();
    }
}

impl<T: Serialize + DeserializeOwned> QueueReader<T> {
    /// See [`Queue::get`].
    ///
    /// # Errors
    /// As [`Queue::get`].
    pub fn get(&self) -> Result<T, QueueError> {
        self.queue.get()
    }

    /// See [`Queue::try_get`].
    ///
    /// # Errors
    /// As [`Queue::try_get`].
    pub fn try_get(&self) -> Result<T, QueueError> {
        self.queue.try_get()
    }

    /// See [`Queue::get_timeout`].
    ///
    /// # Errors
    /// As [`Queue::get_timeout`].
    pub fn get_timeout(&self, timeout: Duration) -> Result<T, QueueError> {
        self.queue.get_timeout(timeout)
    }

    /// See [`Queue::iter`].
    #[must_use]
    pub fn iter(&self) -> Iter<'_, T> {
        self.queue.iter()
    }

    /// See [`Queue::qsize`].
    #[must_use]
    pub fn qsize(&self) -> usize {
        self.queue.qsize()
    }

    /// See [`Queue::is_empty`].
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}

impl<'q, T: Serialize + DeserializeOwned> IntoIterator for &'q QueueReader<T> {
    type Item = Result<T, QueueError>;
    type IntoIter = Iter<'q, T>;

    fn into_iter(self) -> Iter<'q, T> {
        self.iter()
    }
}

macro_rules! half_handle_plumbing {
    ($half:ident) => {
        impl<T> Clone for $half<T> {
            fn clone(&self) -> Self {
                Self {
                    queue: self.queue.clone(),
                }
            }
        }

        impl<T> fmt::Debug for $half<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_tuple(stringify!($half)).field(&self.queue).finish()
            }
        }

        impl<T> Serialize for $half<T> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                self.queue.serialize(s)
            }
        }

        impl<'de, T> Deserialize<'de> for $half<T> {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                Queue::deserialize(d).map(|queue| Self { queue })
            }
        }

        impl<T> $half<T> {
            /// The queue this half belongs to.
            #[must_use]
            pub fn queue(&self) -> &Queue<T> {
                &self.queue
            }
        }
    };
}

half_handle_plumbing!(QueueWriter);
half_handle_plumbing!(QueueReader);
