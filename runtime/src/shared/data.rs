//! The segments behind `Value` and `Array`: a length (and a `Value`'s gate), then the
//! elements (64-byte aligned).

use std::marker::PhantomData;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::gate::Gate;
use crate::shm::{Kind, ShmBox, ShmError, ShmState, type_tag};

macro_rules! data_state {
    ($name:ident, $kind:expr) => {
        /// The shared state of a data segment: its element count.
        #[repr(C)]
        pub(crate) struct $name {
            len: AtomicU64,
        }

        // SAFETY: one atomic; the length is validated against the data area before use.
        unsafe impl ShmState for $name {
            const KIND: Kind = $kind;
        }

        impl $name {
            pub(crate) fn len(&self) -> u64 {
                self.len.load(Relaxed)
            }

            pub(crate) fn set_len(&self, len: u64) {
                self.len.store(len, Relaxed);
            }
        }
    };
}

/// The bytes of `len` elements of `T`: [`ShmError::ArrayTooLarge`] if that overflows.
pub(crate) fn element_bytes<T>(len: usize) -> Result<usize, ShmError> {
    len.checked_mul(size_of::<T>())
        .ok_or(ShmError::ArrayTooLarge {
            len,
            elem_size: size_of::<T>(),
        })
}

data_state!(ArrayState, Kind::Array);
data_state!(RawValueState, Kind::RawValue);
data_state!(RawArrayState, Kind::RawArray);

/// The shared state of a `Value`'s segment: its element count (always 1) and the gate of its
/// lock-free operations.
#[repr(C)]
pub(crate) struct ValueState {
    len: AtomicU64,
    gate: Gate,
}

// SAFETY: atomics only (all-zero: no bypass in progress); the length is validated against the
// data area before use, and any slot content is a claim checked for liveness (`Gate`).
unsafe impl ShmState for ValueState {
    const KIND: Kind = Kind::Value;
}

impl ValueState {
    pub(crate) fn len(&self) -> u64 {
        self.len.load(Relaxed)
    }

    pub(crate) fn set_len(&self, len: u64) {
        self.len.store(len, Relaxed);
    }

    pub(crate) fn gate(&self) -> &Gate {
        &self.gate
    }
}

/// A data segment on the wire; receiving checks the element type tag.
pub(crate) struct DataHandle<T, S>(pub(crate) ShmBox<S>, PhantomData<fn() -> T>);

impl<T, S> DataHandle<T, S> {
    pub(crate) fn new(shm: ShmBox<S>) -> Self {
        Self(shm, PhantomData)
    }
}

impl<T, S: ShmState> Serialize for DataHandle<T, S> {
    fn serialize<Z: Serializer>(&self, s: Z) -> Result<Z::Ok, Z::Error> {
        self.0.serialize(s)
    }
}

impl<'de, T: 'static, S: ShmState> Deserialize<'de> for DataHandle<T, S> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        ShmBox::deserialize(d, type_tag::<T>(), std::any::type_name::<T>()).map(Self::new)
    }
}
