//! [`DictProxy`] and [`ListProxy`]: typed views of a manager's dict and list objects.

use std::marker::PhantomData;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::error::{ManagerError, RemoteError};
use super::handle::{Handle, decode, encode};
use super::protocol::Op;
use super::protocol::Response;
use super::value::ManagedInt;

macro_rules! proxy_common {
    ($name:ident < $($t:ident),+ >) => {
        impl<$($t),+> Clone for $name<$($t),+> {
            fn clone(&self) -> Self {
                Self { handle: self.handle.clone(), types: PhantomData }
            }
        }

        impl<$($t),+> std::fmt::Debug for $name<$($t),+> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.handle.fmt(f)
            }
        }

        impl<$($t),+> Serialize for $name<$($t),+> {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                self.handle.serialize(serializer)
            }
        }

        impl<'de, $($t),+> Deserialize<'de> for $name<$($t),+> {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                Ok(Self { handle: Handle::deserialize(deserializer)?, types: PhantomData })
            }
        }

        impl<$($t),+> $name<$($t),+> {
            pub(crate) fn from_handle(handle: Handle) -> Self {
                Self { handle, types: PhantomData }
            }

            #[cfg(test)]
            pub(crate) fn handle_for_tests(&self) -> &Handle {
                &self.handle
            }

            /// The number of entries.
            ///
            /// # Errors
            /// [`ManagerError::Connection`] if the manager cannot be reached in time.
            pub fn len(&self) -> Result<usize, ManagerError> {
                self.handle.len()
            }

            /// Whether there are no entries.
            ///
            /// # Errors
            /// As [`len`](Self::len).
            pub fn is_empty(&self) -> Result<bool, ManagerError> {
                Ok(self.len()? == 0)
            }

            /// Removes every entry.
            ///
            /// # Errors
            /// As [`len`](Self::len).
            pub fn clear(&self) -> Result<(), ManagerError> {
                self.handle.done(Op::Clear)
            }
        }
    };
}

/// A dict held by a manager (Python's `manager.dict()`): keys `K`, values `V`, both serde
/// types. Cheap to clone; serializable, so it can be a process argument, a pool task argument,
/// a queue item or a value inside another managed object, and it reconnects on arrival.
///
/// Keys are compared as their postcard encoding, which is deterministic for a given value of
/// a given type: use one key type per dict, and no key whose encoding depends on iteration
/// order (a `HashMap` inside a key; a `BTreeMap` is fine). [`keys`](Self::keys) and
/// [`items`](Self::items) come in the order of those encodings, not in insertion order as in
/// Python.
///
/// Every method is one round trip to the manager, except [`update_with`](Self::update_with).
/// All return [`ManagerError::Connection`] if the manager cannot be reached or does not answer
/// within the call timeout, and [`ManagerError::Decode`] if a stored value is not a `V`.
pub struct DictProxy<K, V> {
    handle: Handle,
    types: PhantomData<fn() -> (K, V)>,
}

proxy_common!(DictProxy<K, V>);

impl<K: Serialize + DeserializeOwned, V: Serialize + DeserializeOwned> DictProxy<K, V> {
    /// The value under `key` (Python's `d.get(key)`).
    ///
    /// # Errors
    /// See the type's documentation.
    pub fn get(&self, key: &K) -> Result<Option<V>, ManagerError> {
        opt(self.handle.bytes(Op::Get(encode(key)?))?)
    }

    /// Stores `value` under `key` and returns the value it replaced (`d[key] = value`).
    ///
    /// # Errors
    /// See the type's documentation; [`ManagerError::Encode`] if `key` or `value` cannot be
    /// serialized (nothing is sent).
    pub fn insert(&self, key: &K, value: &V) -> Result<Option<V>, ManagerError> {
        opt(self
            .handle
            .bytes(Op::Insert(encode(key)?, encode(value)?))?)
    }

    /// Removes `key` and returns its value (`d.pop(key, None)`).
    ///
    /// # Errors
    /// See the type's documentation.
    pub fn remove(&self, key: &K) -> Result<Option<V>, ManagerError> {
        opt(self.handle.bytes(Op::Remove(encode(key)?))?)
    }

    /// Whether `key` is present (`key in d`).
    ///
    /// # Errors
    /// See the type's documentation.
    pub fn contains_key(&self, key: &K) -> Result<bool, ManagerError> {
        match self.handle.call(Op::Contains(encode(key)?))? {
            Response::Flag(present) => Ok(present),
            _ => Err(ManagerError::UnexpectedResponse),
        }
    }

    /// A snapshot of the keys.
    ///
    /// # Errors
    /// See the type's documentation.
    pub fn keys(&self) -> Result<Vec<K>, ManagerError> {
        self.handle
            .items(Op::Keys)?
            .iter()
            .map(|b| decode(b))
            .collect()
    }

    /// A snapshot of the values.
    ///
    /// # Errors
    /// See the type's documentation.
    pub fn values(&self) -> Result<Vec<V>, ManagerError> {
        self.handle
            .items(Op::Values)?
            .iter()
            .map(|b| decode(b))
            .collect()
    }

    /// A snapshot of the entries (Python's `d.copy()`, as a list of pairs).
    ///
    /// # Errors
    /// See the type's documentation.
    pub fn items(&self) -> Result<Vec<(K, V)>, ManagerError> {
        match self.handle.call(Op::Items)? {
            Response::Pairs(pairs) => pairs
                .iter()
                .map(|(k, v)| Ok((decode(k)?, decode(v)?)))
                .collect(),
            _ => Err(ManagerError::UnexpectedResponse),
        }
    }

    /// Inserts every pair in one request (Python's `d.update(pairs)`), atomically with respect
    /// to other clients.
    ///
    /// # Errors
    /// See the type's documentation.
    pub fn update<'a>(
        &self,
        pairs: impl IntoIterator<Item = (&'a K, &'a V)>,
    ) -> Result<(), ManagerError>
    where
        K: 'a,
        V: 'a,
    {
        let pairs = pairs
            .into_iter()
            .map(|(k, v)| Ok((encode(k)?, encode(v)?)))
            .collect::<Result<_, ManagerError>>()?;
        self.handle.done(Op::Update(pairs))
    }

    /// Atomic read-modify-write of the entry under `key`: `f` gets the current value (`None`
    /// if absent) and returns the new one, which is stored only if nobody changed the entry
    /// meanwhile; otherwise `f` runs again on the newer value (compare-and-swap). `f` runs in
    /// this process, so it may capture anything; no code travels to the manager. Returns the
    /// value stored.
    ///
    /// This is what Python's `d[key] = d[key] + 1` (a lost update under contention) and
    /// `d[key].append(x)` (a write to a copy, lost) should have been.
    ///
    /// # Errors
    /// See the type's documentation; [`ManagerError::Contended`] after 10 000 lost races in a
    /// row.
    pub fn update_with(
        &self,
        key: &K,
        mut f: impl FnMut(Option<V>) -> V,
    ) -> Result<V, ManagerError> {
        self.handle.update_with(&encode(key)?, |old| Ok(f(old)))
    }
}

impl<K: Serialize + DeserializeOwned, V: ManagedInt> DictProxy<K, V> {
    /// Adds `delta` to the integer under `key` (absent counts as zero) in the manager, in one
    /// round trip, and returns the sum: an atomic counter.
    ///
    /// # Errors
    /// See the type's documentation; [`RemoteError::Overflow`] (as [`ManagerError::Remote`]) if
    /// the sum does not fit `V`, [`RemoteError::NotAnInteger`] if the stored bytes are not a `V`.
    pub fn add(&self, key: &K, delta: V) -> Result<V, ManagerError> {
        let sum = self.handle.bytes(Op::Add {
            key: encode(key)?,
            int: V::KIND,
            delta: encode(&delta)?,
        })?;
        decode(&sum.ok_or(ManagerError::UnexpectedResponse)?)
    }
}

impl<K: Serialize + DeserializeOwned, T: Serialize + DeserializeOwned> DictProxy<K, Vec<T>> {
    /// Appends `item` to the vector under `key` (absent counts as empty) in the manager, in
    /// one round trip: the `d[key].append(item)` that Python loses.
    ///
    /// # Errors
    /// See the type's documentation; [`RemoteError::NotASequence`] if the stored bytes are not
    /// a sequence.
    pub fn append(&self, key: &K, item: &T) -> Result<(), ManagerError> {
        self.handle.done(Op::Append {
            key: encode(key)?,
            item: encode(item)?,
        })
    }
}

/// A list held by a manager (Python's `manager.list()`) of `T`, a serde type. Cheap to clone
/// and serializable, as [`DictProxy`]. Indices are `usize` from the front (no negative
/// indices). Every method is one round trip and returns [`ManagerError::Connection`] if the
/// manager cannot be reached in time, [`ManagerError::Decode`] if an item is not a `T`.
pub struct ListProxy<T> {
    handle: Handle,
    types: PhantomData<fn() -> T>,
}

proxy_common!(ListProxy<T>);

impl<T: Serialize + DeserializeOwned> ListProxy<T> {
    /// Appends `item` (Python's `append`).
    ///
    /// # Errors
    /// See the type's documentation.
    pub fn push(&self, item: &T) -> Result<(), ManagerError> {
        self.handle.done(Op::Push(encode(item)?))
    }

    /// Removes and returns the last item; `None` if the list is empty.
    ///
    /// # Errors
    /// See the type's documentation.
    pub fn pop(&self) -> Result<Option<T>, ManagerError> {
        match self.handle.bytes(Op::Pop(None)) {
            Err(ManagerError::Remote(RemoteError::NotFound)) => Ok(None),
            other => opt(other?),
        }
    }

    /// Removes and returns the item at `index` (Python's `pop(i)`).
    ///
    /// # Errors
    /// [`RemoteError::IndexOutOfRange`] past the end; see the type's documentation.
    pub fn pop_at(&self, index: usize) -> Result<T, ManagerError> {
        one(self.handle.bytes(Op::Pop(Some(index as u64)))?)
    }

    /// The item at `index` (`l[i]`).
    ///
    /// # Errors
    /// [`RemoteError::IndexOutOfRange`] past the end; see the type's documentation.
    pub fn get(&self, index: usize) -> Result<T, ManagerError> {
        one(self.handle.bytes(Op::Index(index as u64))?)
    }

    /// Replaces the item at `index` (`l[i] = item`).
    ///
    /// # Errors
    /// [`RemoteError::IndexOutOfRange`] past the end; see the type's documentation.
    pub fn set(&self, index: usize, item: &T) -> Result<(), ManagerError> {
        self.handle.done(Op::Set(index as u64, encode(item)?))
    }

    /// Inserts `item` before `index`; an index past the end appends, as in Python.
    ///
    /// # Errors
    /// See the type's documentation.
    pub fn insert(&self, index: usize, item: &T) -> Result<(), ManagerError> {
        self.handle.done(Op::InsertAt(index as u64, encode(item)?))
    }

    /// Removes the first item equal to `item` (compared as encoded bytes); `false` if none
    /// was (where Python raises `ValueError`).
    ///
    /// # Errors
    /// See the type's documentation.
    pub fn remove(&self, item: &T) -> Result<bool, ManagerError> {
        match self.handle.done(Op::RemoveValue(encode(item)?)) {
            Ok(()) => Ok(true),
            Err(ManagerError::Remote(RemoteError::NotFound)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Appends every item, in one request.
    ///
    /// # Errors
    /// See the type's documentation.
    pub fn extend<'a>(&self, items: impl IntoIterator<Item = &'a T>) -> Result<(), ManagerError>
    where
        T: 'a,
    {
        let items = items.into_iter().map(encode).collect::<Result<_, _>>()?;
        self.handle.done(Op::Extend(items))
    }

    /// A copy of the whole list (Python's `l[:]`).
    ///
    /// # Errors
    /// See the type's documentation.
    pub fn snapshot(&self) -> Result<Vec<T>, ManagerError> {
        self.handle
            .items(Op::Snapshot)?
            .iter()
            .map(|b| decode(b))
            .collect()
    }
}

fn opt<T: DeserializeOwned>(bytes: Option<Vec<u8>>) -> Result<Option<T>, ManagerError> {
    bytes.map(|b| decode(&b)).transpose()
}

fn one<T: DeserializeOwned>(bytes: Option<Vec<u8>>) -> Result<T, ManagerError> {
    decode(&bytes.ok_or(ManagerError::UnexpectedResponse)?)
}
