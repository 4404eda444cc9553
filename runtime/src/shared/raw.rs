//! [`RawValue`] and [`RawArray`]: Python's `multiprocessing.sharedctypes.RawValue` and
//! `RawArray`, shared memory with no lock.
//!
//! # Memory ordering
//! The single-element operations are `SeqCst`, as [`Value`](crate::Value)'s atomics: they
//! order like one instruction of a C program's `atomic_*`. The bulk copies
//! ([`RawArray::to_vec`], [`RawArray::copy_from_slice`]) use `Relaxed` element accesses: they
//! carry data, not synchronization (order them with a lock, an event or a message).

use std::fmt;
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::atomic::Ordering::{Relaxed, SeqCst};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::atomic::{ShmAtomic, ShmInteger};
use super::data::{DataHandle, RawArrayState, RawValueState};
use super::error::ArrayError;
use crate::shm::{ShmBox, ShmError, type_tag};

/// A `T` in shared memory with no lock: Python's `multiprocessing.RawValue`.
///
/// `T` is a [`ShmAtomic`] type (an integer up to 64 bits, `f32`, `f64` or
/// [`ShmBool`](crate::ShmBool), the types of Python's typecodes), so every access is one
/// hardware atomic: a read never sees half a write, and concurrent `fetch_add`s never lose an
/// increment. What Python's `RawValue` cannot do is a read-modify-write of your own
/// (`v.value += 1`) without a lock; here that is [`fetch_add`](RawValue::fetch_add) or a
/// [`compare_exchange`](RawValue::compare_exchange) loop. For several values updated
/// together, or a struct, use a [`Value`](crate::Value) (it has a lock).
///
/// A peer can write any bytes into the segment: a `RawValue<ShmBool>` then reads as a
/// `ShmBool` whose [`to_bool`](crate::ShmBool::to_bool) reports the bad byte; every other
/// element type is valid for every bit pattern.
///
/// ```
/// use mproc::{Process, RawValue};
///
/// fn count(hits: RawValue<u32>) {
///     for _ in 0..100 {
///         hits.fetch_add(1);
///     }
/// }
///
/// # fn main() -> mproc::Result<()> {
/// let hits = RawValue::new(0u32)?;
/// Process::new(count, hits.clone()).start()?.join()?;
/// assert_eq!(hits.get(), 100);
/// # Ok(())
/// # }
/// ```
pub struct RawValue<T> {
    shm: ShmBox<RawValueState>,
    _t: PhantomData<fn() -> T>,
}

impl<T> Clone for RawValue<T> {
    fn clone(&self) -> Self {
        Self {
            shm: self.shm.clone(),
            _t: PhantomData,
        }
    }
}

impl<T: ShmAtomic> RawValue<T> {
    /// A shared value holding `value`.
    ///
    /// # Errors
    /// [`ShmError`] if the shared memory cannot be created.
    pub fn new(value: T) -> Result<Self, ShmError> {
        let shm = ShmBox::create(
            type_tag::<T>(),
            size_of::<T>(),
            |s: &RawValueState, data| {
                s.set_len(1);
                // SAFETY: the data area is size_of::<T>() bytes, 64-byte aligned, and not yet
                // shared.
                unsafe { data.cast::<T>().write(value) };
            },
        )?;
        Ok(Self {
            shm,
            _t: PhantomData,
        })
    }

    fn ptr(&self) -> NonNull<T> {
        self.shm.data().cast()
    }

    /// The value (Python's `v.value`), read with one atomic load.
    #[must_use]
    pub fn get(&self) -> T {
        // SAFETY: the data area holds a T, aligned; every access to it is an atomic of T's
        // size (this type's only accessors).
        unsafe { T::atomic_load(self.ptr(), SeqCst) }
    }

    /// Replaces the value (Python's `v.value = x`) with one atomic store.
    pub fn set(&self, value: T) {
        // SAFETY: as in `get`.
        unsafe { T::atomic_store(self.ptr(), value, SeqCst) };
    }

    /// Replaces the value; returns the previous one.
    pub fn swap(&self, value: T) -> T {
        // SAFETY: as in `get`.
        unsafe { T::atomic_swap(self.ptr(), value) }
    }

    /// Stores `new` if the value is `current` (compared bit for bit).
    ///
    /// # Errors
    /// The value found, if it was not `current` (nothing is stored).
    pub fn compare_exchange(&self, current: T, new: T) -> Result<T, T> {
        // SAFETY: as in `get`.
        unsafe { T::atomic_compare_exchange(self.ptr(), current, new) }
    }
}

impl<T: ShmAtomic + ShmInteger> RawValue<T> {
    /// Adds `n` (wrapping) and returns the previous value, in one atomic instruction.
    pub fn fetch_add(&self, n: T) -> T {
        // SAFETY: as in `get`; every `ShmAtomic` integer is `LOCK_FREE`.
        unsafe { T::atomic_fetch_add(self.ptr(), n) }
    }

    /// Subtracts `n` (wrapping) and returns the previous value, in one atomic instruction.
    pub fn fetch_sub(&self, n: T) -> T {
        // SAFETY: as in `fetch_add`.
        unsafe { T::atomic_fetch_sub(self.ptr(), n) }
    }
}

impl<T: ShmAtomic + fmt::Debug> fmt::Debug for RawValue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RawValue").field(&self.get()).finish()
    }
}

impl<T: ShmAtomic> Serialize for RawValue<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        DataHandle::<T, _>::new(self.shm.clone()).serialize(s)
    }
}

impl<'de, T: ShmAtomic> Deserialize<'de> for RawValue<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let shm = DataHandle::<T, RawValueState>::deserialize(d)?.0;
        if shm.state().len() != 1 || shm.data_len() < size_of::<T>() {
            return Err(crate::codec::invalid_handle(
                "a received RawValue has the wrong size",
            ));
        }
        Ok(Self {
            shm,
            _t: PhantomData,
        })
    }
}

/// A fixed-length array in shared memory with no lock: Python's `multiprocessing.RawArray`.
///
/// As for [`RawValue`], the elements are [`ShmAtomic`] and each element access is one atomic
/// of the element's size: an element never tears, but [`to_vec`](RawArray::to_vec) and
/// [`copy_from_slice`](RawArray::copy_from_slice) are element by element, so a copy taken
/// while another process writes can mix old and new elements (as in Python). Use an
/// [`Array`](crate::Array) (it has a lock) where that matters. A new array is zero-filled.
///
/// ```
/// use mproc::{Process, RawArray};
///
/// fn squares(a: RawArray<f64>) {
///     for i in 0..a.len() {
///         a.set(i, (i * i) as f64).unwrap();
///     }
/// }
///
/// # fn main() -> mproc::Result<()> {
/// let a = RawArray::<f64>::new(4)?;
/// Process::new(squares, a.clone()).start()?.join()?;
/// assert_eq!(a.to_vec(), [0.0, 1.0, 4.0, 9.0]);
/// # Ok(())
/// # }
/// ```
pub struct RawArray<T> {
    shm: ShmBox<RawArrayState>,
    len: usize,
    _t: PhantomData<fn() -> T>,
}

impl<T> Clone for RawArray<T> {
    fn clone(&self) -> Self {
        Self {
            shm: self.shm.clone(),
            len: self.len,
            _t: PhantomData,
        }
    }
}

impl<T: ShmAtomic> RawArray<T> {
    /// A zero-filled array of `len` elements.
    ///
    /// # Errors
    /// [`ShmError`] if the shared memory cannot be created; [`ShmError::ArrayTooLarge`] if
    /// `len` elements overflow the address space, [`ShmError::TooLarge`] (with the byte count
    /// asked) if they exceed what a segment may hold.
    pub fn new(len: usize) -> Result<Self, ShmError> {
        Self::create(len, |_| {})
    }

    /// An array holding a copy of `items`.
    ///
    /// # Errors
    /// As [`new`](RawArray::new).
    pub fn from_slice(items: &[T]) -> Result<Self, ShmError> {
        Self::create(items.len(), |dst| {
            // SAFETY: the fresh area holds exactly `items.len()` elements and is not shared
            // yet; the source is a distinct slice.
            unsafe { std::ptr::copy_nonoverlapping(items.as_ptr(), dst.as_ptr(), items.len()) };
        })
    }

    fn create(len: usize, init: impl FnOnce(NonNull<T>)) -> Result<Self, ShmError> {
        let bytes = super::data::element_bytes::<T>(len)?;
        let shm = ShmBox::create(type_tag::<T>(), bytes, |s: &RawArrayState, data| {
            s.set_len(len as u64);
            init(data.cast());
        })?;
        Ok(Self {
            shm,
            len,
            _t: PhantomData,
        })
    }

    /// The element at `index`, which is in bounds.
    fn at(&self, index: usize) -> NonNull<T> {
        debug_assert!(index < self.len);
        // SAFETY: `index < len`, and the segment holds `len` elements (checked when made or
        // received), so the result is inside the data area.
        unsafe { self.shm.data().cast::<T>().add(index) }
    }

    fn check(&self, index: usize) -> Result<(), ArrayError> {
        if index < self.len {
            Ok(())
        } else {
            Err(ArrayError::IndexOutOfRange {
                index,
                len: self.len,
            })
        }
    }

    /// The number of elements.
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the array has no elements.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The element at `index` (Python's `a[i]`), read with one atomic load.
    ///
    /// # Errors
    /// [`ArrayError::IndexOutOfRange`].
    pub fn get(&self, index: usize) -> Result<T, ArrayError> {
        self.check(index)?;
        // SAFETY: in bounds and aligned; every access to the elements is an atomic of T's
        // size (this type's only accessors).
        Ok(unsafe { T::atomic_load(self.at(index), SeqCst) })
    }

    /// Replaces the element at `index` (Python's `a[i] = x`) with one atomic store.
    ///
    /// # Errors
    /// [`ArrayError::IndexOutOfRange`].
    pub fn set(&self, index: usize, value: T) -> Result<(), ArrayError> {
        self.check(index)?;
        // SAFETY: as in `get`.
        unsafe { T::atomic_store(self.at(index), value, SeqCst) };
        Ok(())
    }

    /// A copy of all elements (Python's `a[:]`), element by element.
    #[must_use]
    pub fn to_vec(&self) -> Vec<T> {
        // SAFETY: as in `get`, for each index below `len`.
        (0..self.len)
            .map(|i| unsafe { T::atomic_load(self.at(i), Relaxed) })
            .collect()
    }

    /// Replaces all elements with `items` (Python's `a[:] = items`), element by element.
    ///
    /// # Errors
    /// [`ArrayError::LengthMismatch`] if `items` has another length.
    pub fn copy_from_slice(&self, items: &[T]) -> Result<(), ArrayError> {
        if items.len() != self.len {
            return Err(ArrayError::LengthMismatch {
                expected: self.len,
                got: items.len(),
            });
        }
        for (i, &item) in items.iter().enumerate() {
            // SAFETY: as in `get`.
            unsafe { T::atomic_store(self.at(i), item, Relaxed) };
        }
        Ok(())
    }
}

impl<T: ShmAtomic + fmt::Debug> fmt::Debug for RawArray<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RawArray").field(&self.to_vec()).finish()
    }
}

impl<T: ShmAtomic> Serialize for RawArray<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        DataHandle::<T, _>::new(self.shm.clone()).serialize(s)
    }
}

impl<'de, T: ShmAtomic> Deserialize<'de> for RawArray<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let shm = DataHandle::<T, RawArrayState>::deserialize(d)?.0;
        let len = usize::try_from(shm.state().len()).unwrap_or(usize::MAX);
        let fits = len
            .checked_mul(size_of::<T>())
            .is_some_and(|b| b <= shm.data_len());
        if !fits {
            return Err(crate::codec::invalid_handle(
                "a received RawArray claims more elements than its segment holds",
            ));
        }
        Ok(Self {
            shm,
            len,
            _t: PhantomData,
        })
    }
}
