//! [`Array`]: a fixed-length array of [`ShmSafe`] elements in shared memory, with its lock.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::data::ArrayState;
use super::error::ArrayError;
use super::guarded::Guarded;
use crate::shm::{ShmBox, ShmError, ShmSafe, type_tag};
use crate::sync::{RLock, RLockState, TryLockError, TryLockResult, deadline_after};

/// A fixed-length array in shared memory, guarded by an [`RLock`]: Python's
/// `multiprocessing.Array`.
///
/// Element access (`get`, `set`, `to_vec`, `copy_from_slice`) takes the lock for each call
/// (recursively, so it also works while this thread holds [`get_lock`](Array::get_lock), as
/// in Python); [`lock`](Array::lock) gives a guard that derefs to `[T]` for several operations
/// at once. An array made with [`Array::new`] is zero-filled.
///
/// While a guard lends out references, nothing else may write the elements, this thread
/// included: the per-call accessors then return [`ArrayError::Borrowed`], and releasing the
/// guard's level of the lock some other way (`get_lock().release()`, a `Condition` wait) is
/// [`LockError::HeldByGuard`](crate::LockError::HeldByGuard).
///
/// ```
/// use mproc::{Array, Process};
///
/// fn fill(a: Array<u32>) {
///     let mut slots = a.lock().unwrap();
///     for (i, x) in slots.iter_mut().enumerate() {
///         *x = i as u32 * 10;
///     }
/// }
///
/// # fn main() -> mproc::Result<()> {
/// let a = Array::<u32>::new(4)?;
/// Process::new(fill, a.clone()).start()?.join()?;
/// assert_eq!(a.to_vec()?, [0, 10, 20, 30]);
/// # Ok(())
/// # }
/// ```
///
/// Owner death and consistency work as for [`Value`](crate::Value).
pub struct Array<T> {
    data: Guarded<T, ArrayState>,
    len: usize,
}

impl<T> Clone for Array<T> {
    fn clone(&self) -> Self {
        Self {
            data: self.data.clone(),
            len: self.len,
        }
    }
}

impl<T: ShmSafe> Array<T> {
    /// A zero-filled array of `len` elements, with a new lock.
    ///
    /// # Errors
    /// [`ShmError`] if the shared memory cannot be created; [`ShmError::ArrayTooLarge`] if
    /// `len` elements overflow the address space, [`ShmError::TooLarge`] (with the byte count
    /// asked) if they exceed what a segment may hold.
    pub fn new(len: usize) -> Result<Self, ShmError> {
        Self::create(len, RLock::new()?, |_| {})
    }

    /// An array holding a copy of `items`, with a new lock.
    ///
    /// # Errors
    /// As [`new`](Array::new).
    pub fn from_slice(items: &[T]) -> Result<Self, ShmError> {
        Self::with_lock(items, RLock::new()?)
    }

    /// An array holding a copy of `items`, guarded by `lock`.
    ///
    /// # Errors
    /// As [`new`](Array::new).
    pub fn with_lock(items: &[T], lock: RLock) -> Result<Self, ShmError> {
        Self::create(items.len(), lock, |dst| {
            // SAFETY: the fresh area holds exactly `items.len()` elements and is not shared
            // yet; the source is a distinct slice.
            unsafe {
                std::ptr::copy_nonoverlapping(items.as_ptr(), dst.as_ptr(), items.len());
            }
        })
    }

    fn create(len: usize, lock: RLock, init: impl FnOnce(NonNull<T>)) -> Result<Self, ShmError> {
        const {
            assert!(
                align_of::<T>() <= 64,
                "ShmSafe types are at most 64-byte aligned"
            );
        };
        let bytes = super::data::element_bytes::<T>(len)?;
        let shm = ShmBox::create(type_tag::<T>(), bytes, |s: &ArrayState, data| {
            s.set_len(len as u64);
            init(data.cast());
        })?;
        Ok(Self {
            data: Guarded::new(lock, shm),
            len,
        })
    }

    fn ptr(&self) -> NonNull<T> {
        self.data.ptr()
    }

    fn state(&self) -> &RLockState {
        self.data.state()
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

    /// Runs `f` on the elements with the lock held, unless this thread's [`ArrayGuard`] has
    /// lent them out.
    fn with<R>(&self, f: impl FnOnce(NonNull<T>) -> R) -> Result<R, ArrayError> {
        if self.state().is_pinned_by_caller() {
            return Err(ArrayError::Borrowed);
        }
        // The pin cannot appear meanwhile: only a guard of this thread sets it.
        Ok(self.data.with(f))
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

    /// The element at `index`.
    ///
    /// # Errors
    /// [`ArrayError::IndexOutOfRange`]; [`ArrayError::Borrowed`] while this thread holds an
    /// [`ArrayGuard`] of the array (read through the guard instead).
    pub fn get(&self, index: usize) -> Result<T, ArrayError> {
        self.check(index)?;
        // SAFETY: in bounds; the lock is held and no guard lends the elements out; every
        // element is a valid T.
        self.with(|p| unsafe { p.add(index).read() })
    }

    /// Replaces the element at `index`.
    ///
    /// # Errors
    /// [`ArrayError::IndexOutOfRange`]; [`ArrayError::Borrowed`] as for [`get`](Array::get).
    pub fn set(&self, index: usize, value: T) -> Result<(), ArrayError> {
        self.check(index)?;
        // SAFETY: in bounds; the lock is held and no guard lends the elements out.
        self.with(|p| unsafe { p.add(index).write(value) })
    }

    /// A copy of all elements.
    ///
    /// # Errors
    /// [`ArrayError::Borrowed`] as for [`get`](Array::get).
    pub fn to_vec(&self) -> Result<Vec<T>, ArrayError> {
        self.with(|p| {
            let mut out = Vec::with_capacity(self.len);
            // SAFETY: the area holds `len` elements and `out` has room for `len`, in
            // process-local memory; the lock is held and no guard lends the elements out. A
            // raw copy, not a slice: no reference into shared memory is made, so a peer
            // ignoring the lock can tear the copy but not change memory behind a reference.
            // Every bit pattern is a valid T (`ShmSafe`), so the `len` copied elements are
            // initialized values.
            unsafe {
                std::ptr::copy_nonoverlapping(p.as_ptr(), out.as_mut_ptr(), self.len);
                out.set_len(self.len);
            }
            out
        })
    }

    /// Replaces all elements with `items` (Python's `a[:] = items`).
    ///
    /// # Errors
    /// [`ArrayError::LengthMismatch`] if `items` has another length; [`ArrayError::Borrowed`]
    /// as for [`get`](Array::get).
    pub fn copy_from_slice(&self, items: &[T]) -> Result<(), ArrayError> {
        if items.len() != self.len {
            return Err(ArrayError::LengthMismatch {
                expected: self.len,
                got: items.len(),
            });
        }
        // SAFETY: `len` elements; the lock is held and no guard lends them out; `items` is
        // process-local memory.
        self.with(|p| unsafe {
            std::ptr::copy_nonoverlapping(items.as_ptr(), p.as_ptr(), self.len);
        })
    }

    guarded_accessors!("array");

    /// Locks the array, waiting as long as it takes; the guard derefs to `[T]`.
    ///
    /// # Errors
    /// [`TryLockError::OwnerDied`] (holding the guard) while the array is marked
    /// inconsistent; [`TryLockError::WouldBlock`] if this thread already holds the array's
    /// lock (through another guard, whose `&mut [T]` a second guard would alias, or through
    /// `get_lock()`): waiting for itself would never end.
    pub fn lock(&self) -> TryLockResult<ArrayGuard<'_, T>> {
        if self.state().is_owned_by_caller() {
            return Err(TryLockError::WouldBlock);
        }
        self.data.take(None, false)?;
        self.guard()
    }

    /// Like [`lock`](Array::lock), but never waits.
    ///
    /// # Errors
    /// [`TryLockError::WouldBlock`] if another thread or process holds the lock, or this
    /// thread does; [`TryLockError::OwnerDied`] as for [`lock`](Array::lock).
    pub fn try_lock(&self) -> TryLockResult<ArrayGuard<'_, T>> {
        if self.state().is_owned_by_caller() {
            return Err(TryLockError::WouldBlock);
        }
        self.data.take(None, true)?;
        self.guard()
    }

    /// Like [`lock`](Array::lock), waiting at most `timeout`.
    ///
    /// # Errors
    /// [`TryLockError::Timeout`] if not acquired in time; [`TryLockError::WouldBlock`] if
    /// this thread already holds the lock; [`TryLockError::OwnerDied`] as for
    /// [`lock`](Array::lock).
    pub fn lock_timeout(&self, timeout: Duration) -> TryLockResult<ArrayGuard<'_, T>> {
        if self.state().is_owned_by_caller() {
            return Err(TryLockError::WouldBlock);
        }
        self.data.take(deadline_after(timeout), false)?;
        self.guard()
    }

    /// Wraps the lock, just acquired at depth 1 by this thread, in a guard.
    fn guard(&self) -> TryLockResult<ArrayGuard<'_, T>> {
        self.state().pin();
        self.data.guard(ArrayGuard { array: self })
    }
}

/// Holds an [`Array`]'s lock and derefs to its elements. Releases on drop; a panic while it
/// is held marks the array inconsistent.
///
/// The guard's slice is the one reference into shared memory mproc lends out (every other
/// access copies the elements in or out under the lock). While it lives, this process trusts
/// every process holding the array to honour the lock, as mproc does: a peer that wrote the
/// memory regardless could not make an element invalid (`ShmSafe` types are valid for every
/// bit pattern), but could change it under a `&[T]`, which Rust assumes does not happen. Use
/// the per-call accessors ([`Array::get`], [`Array::to_vec`]) where the peers are not trusted.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct ArrayGuard<'a, T: ShmSafe> {
    array: &'a Array<T>,
}

impl<T: ShmSafe> ArrayGuard<'_, T> {
    /// Declares the array consistent again (see [`Array::mark_consistent`]).
    pub fn mark_consistent(&self) {
        self.array.mark_consistent();
    }
}

impl<T: ShmSafe> Deref for ArrayGuard<'_, T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        // SAFETY: the guard holds the lock and has pinned it: other processes and threads
        // wait for it, this thread's per-call accessors refuse to run (`Array::with`), and no
        // one but the guard can release its level (`RLockState::release`), so nothing writes
        // the `len` valid elements while this borrow lives.
        unsafe { std::slice::from_raw_parts(self.array.ptr().as_ptr(), self.array.len) }
    }
}

impl<T: ShmSafe> DerefMut for ArrayGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut [T] {
        // SAFETY: as in `deref`; the `&mut self` borrow makes this the only reference.
        unsafe { std::slice::from_raw_parts_mut(self.array.ptr().as_ptr(), self.array.len) }
    }
}

impl<T: ShmSafe> Drop for ArrayGuard<'_, T> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.array.state().set_died(Some(0));
        }
        let _ = self.array.state().release_pinned();
    }
}

impl<T: ShmSafe + fmt::Debug> fmt::Debug for ArrayGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ArrayGuard").field(&&**self).finish()
    }
}

impl<T: ShmSafe + fmt::Debug> fmt::Debug for Array<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Array")
            .field("len", &self.len)
            .field("consistent", &self.is_consistent())
            .finish_non_exhaustive()
    }
}

impl<T: ShmSafe> Serialize for Array<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.data.serialize(s)
    }
}

impl<'de, T: ShmSafe> Deserialize<'de> for Array<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let data = Guarded::<T, ArrayState>::deserialize(d)?;
        let len = usize::try_from(data.shm.state().len()).unwrap_or(usize::MAX);
        let fits = len
            .checked_mul(size_of::<T>())
            .is_some_and(|b| b <= data.shm.data_len());
        if !fits {
            return Err(crate::codec::invalid_handle(
                "a received Array claims more elements than its segment holds",
            ));
        }
        Ok(Self { data, len })
    }
}
