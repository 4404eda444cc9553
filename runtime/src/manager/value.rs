//! [`ValueProxy`] and [`NamespaceProxy`], and [`ManagedInt`], the integers the manager adds.

use std::marker::PhantomData;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::error::ManagerError;
use super::handle::{Handle, decode, encode};
use super::protocol::{IntKind, Op};

mod sealed {
    pub trait Sealed {}
}

/// An integer type the manager can add to atomically ([`DictProxy::add`](super::DictProxy::add),
/// [`ValueProxy::add`]). Sealed: the manager decodes these types itself.
pub trait ManagedInt: Serialize + DeserializeOwned + Copy + sealed::Sealed {
    /// Which integer type this is, on the wire.
    #[doc(hidden)]
    const KIND: IntKind;
}

macro_rules! managed_int {
    ($($t:ty => $kind:ident),+) => {$(
        impl sealed::Sealed for $t {}
        impl ManagedInt for $t {
            const KIND: IntKind = IntKind::$kind;
        }
    )+};
}

managed_int!(i8 => I8, i16 => I16, i32 => I32, i64 => I64, i128 => I128,
             u8 => U8, u16 => U16, u32 => U32, u64 => U64, u128 => U128);

/// The key a value's single entry lives under.
const VALUE_KEY: Vec<u8> = Vec::new();

/// One value held by a manager (Python's `manager.Value(typecode, v)`), of any serde type.
/// Cheap to clone and serializable, as [`DictProxy`](super::DictProxy).
///
/// Locally, [`crate::Value`] in shared memory is far faster (no round trip); a `ValueProxy`
/// is for processes that do not share memory, such as another host.
pub struct ValueProxy<T> {
    handle: Handle,
    types: PhantomData<fn() -> T>,
}

/// A namespace held by a manager (Python's `manager.Namespace()`): named fields, each of any
/// serde type. Cheap to clone and serializable, as [`DictProxy`](super::DictProxy).
pub struct NamespaceProxy {
    handle: Handle,
}

impl<T> Clone for ValueProxy<T> {
    fn clone(&self) -> Self {
        Self::from_handle(self.handle.clone())
    }
}

impl<T> std::fmt::Debug for ValueProxy<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.handle.fmt(f)
    }
}

impl<T> Serialize for ValueProxy<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.handle.serialize(serializer)
    }
}

impl<'de, T> Deserialize<'de> for ValueProxy<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Handle::deserialize(deserializer).map(Self::from_handle)
    }
}

impl<T> ValueProxy<T> {
    pub(crate) fn from_handle(handle: Handle) -> Self {
        Self {
            handle,
            types: PhantomData,
        }
    }
}

impl<T: Serialize + DeserializeOwned> ValueProxy<T> {
    /// The current value (Python's `v.value`).
    ///
    /// # Errors
    /// [`ManagerError::Connection`] if the manager cannot be reached in time;
    /// [`ManagerError::Decode`] if the stored value is not a `T`.
    pub fn get(&self) -> Result<T, ManagerError> {
        decode(
            &self
                .handle
                .bytes(Op::Get(VALUE_KEY))?
                .ok_or(ManagerError::UnexpectedResponse)?,
        )
    }

    /// Replaces the value (`v.value = x`).
    ///
    /// # Errors
    /// As [`get`](Self::get); [`ManagerError::Encode`] if `value` cannot be serialized.
    pub fn set(&self, value: &T) -> Result<(), ManagerError> {
        self.handle.bytes(Op::Insert(VALUE_KEY, encode(value)?))?;
        Ok(())
    }

    /// Atomic read-modify-write by compare-and-swap, as
    /// [`DictProxy::update_with`](super::DictProxy::update_with); returns the value stored.
    ///
    /// # Errors
    /// As [`get`](Self::get); [`ManagerError::Contended`] after 10 000 lost races in a row.
    pub fn update_with(&self, mut f: impl FnMut(T) -> T) -> Result<T, ManagerError> {
        // A value always has its entry; if it is gone, the id is not a value of ours.
        self.handle.update_with(&VALUE_KEY, |old: Option<T>| {
            old.map(&mut f).ok_or(ManagerError::UnexpectedResponse)
        })
    }
}

impl<T: ManagedInt> ValueProxy<T> {
    /// Adds `delta` in the manager, in one round trip, and returns the sum.
    ///
    /// # Errors
    /// As [`get`](Self::get); [`RemoteError::Overflow`](super::RemoteError::Overflow) if the
    /// sum does not fit `T`.
    pub fn add(&self, delta: T) -> Result<T, ManagerError> {
        let sum = self.handle.bytes(Op::Add {
            key: VALUE_KEY,
            int: T::KIND,
            delta: encode(&delta)?,
        })?;
        decode(&sum.ok_or(ManagerError::UnexpectedResponse)?)
    }
}

impl Clone for NamespaceProxy {
    fn clone(&self) -> Self {
        Self {
            handle: self.handle.clone(),
        }
    }
}

impl std::fmt::Debug for NamespaceProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.handle.fmt(f)
    }
}

impl Serialize for NamespaceProxy {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.handle.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for NamespaceProxy {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Handle::deserialize(deserializer).map(|handle| Self { handle })
    }
}

impl NamespaceProxy {
    pub(crate) fn from_handle(handle: Handle) -> Self {
        Self { handle }
    }

    /// The field `name` as a `T` (`None` if unset; Python raises `AttributeError`).
    ///
    /// # Errors
    /// [`ManagerError::Connection`] if the manager cannot be reached in time;
    /// [`ManagerError::Decode`] if the field holds another type.
    pub fn get<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, ManagerError> {
        self.handle
            .bytes(Op::Get(encode(name)?))?
            .as_deref()
            .map(decode)
            .transpose()
    }

    /// Sets the field `name` (`ns.name = value`).
    ///
    /// # Errors
    /// As [`get`](Self::get); [`ManagerError::Encode`] if `value` cannot be serialized.
    pub fn set<T: Serialize + ?Sized>(&self, name: &str, value: &T) -> Result<(), ManagerError> {
        self.handle
            .bytes(Op::Insert(encode(name)?, encode(value)?))?;
        Ok(())
    }

    /// Removes the field `name` (`del ns.name`); whether it was set.
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub fn remove(&self, name: &str) -> Result<bool, ManagerError> {
        Ok(self.handle.bytes(Op::Remove(encode(name)?))?.is_some())
    }

    /// The names of the fields that are set, in byte order of their encodings.
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub fn names(&self) -> Result<Vec<String>, ManagerError> {
        self.handle
            .items(Op::Keys)?
            .iter()
            .map(|b| decode(b))
            .collect()
    }
}
