//! [`Value`]: one [`ShmSafe`] value in shared memory, with its lock.

use std::fmt;
use std::ptr::NonNull;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::data::ValueState;
use super::guarded::Guarded;
use crate::shm::{ShmBox, ShmError, ShmSafe, type_tag};
use crate::sync::{RLock, RLockState, TryLockResult, deadline_after};

/// A `T` in shared memory, guarded by an [`RLock`]: Python's `multiprocessing.Value`.
///
/// `get`, `set`, `update` and (for integers) `fetch_add` each take the lock for the whole
/// operation, so unlike Python's `v.value += 1`, `v.update(|x| x + 1)` and `v.fetch_add(1)`
/// never lose an increment.
///
/// ```
/// use mproc::{Process, Value};
///
/// fn add_many(v: Value<u64>) {
///     for _ in 0..1000 {
///         v.fetch_add(1);
///     }
/// }
///
/// # fn main() -> mproc::Result<()> {
/// let v = Value::new(0u64)?;
/// let kids = [
///     Process::new(add_many, v.clone()).start()?,
///     Process::new(add_many, v.clone()).start()?,
/// ];
/// for k in kids {
///     k.join()?;
/// }
/// assert_eq!(v.get(), 2000);
/// # Ok(())
/// # }
/// ```
///
/// # Owner death and consistency
/// If a process dies holding the value's lock (killed in the middle of an update, or while
/// holding a guard or `get_lock()`), the next acquirer takes the lock over and the value is
/// marked *inconsistent*: it still holds a valid `T` (see [`ShmSafe`]: any bytes are a valid
/// `T`), but possibly the old value, the new one, or (for values wider than one machine word
/// written in the middle) a mix of both. `get`, `set`, `update` and `fetch_add` keep working
/// (as Python's would, had it not hung); [`is_consistent`](Value::is_consistent) reports the
/// mark, [`lock`](Value::lock) returns [`OwnerDied`](crate::OwnerDied) (with the guard) while it is set, and
/// [`mark_consistent`](Value::mark_consistent) clears it once the program has checked or
/// repaired the value. This is `std::sync::Mutex` poisoning, across processes; a panic while
/// holding a [`ValueGuard`] marks the value the same way.
///
/// # What a reader trusts
/// Every access copies the value in or out under the lock; no reference into shared memory is
/// made. Whatever another process writes into the segment, with or without the lock, a read
/// gives a valid `T`, because `ShmSafe` types are valid for every bit pattern: for a `bool`,
/// store a [`ShmBool`](crate::ShmBool), whose read reports any byte but 0 or 1 as an error.
pub struct Value<T> {
    data: Guarded<T, ValueState>,
}

impl<T> Clone for Value<T> {
    fn clone(&self) -> Self {
        Self {
            data: self.data.clone(),
        }
    }
}

impl<T: ShmSafe> Value<T> {
    /// A shared value holding `value`, with a new lock.
    ///
    /// # Errors
    /// [`ShmError`] if the shared memory cannot be created.
    pub fn new(value: T) -> Result<Self, ShmError> {
        Self::with_lock(value, RLock::new()?)
    }

    /// A shared value guarded by `lock` (Python's `Value(..., lock=rlock)`).
    ///
    /// # Errors
    /// [`ShmError`] if the shared memory cannot be created.
    pub fn with_lock(value: T, lock: RLock) -> Result<Self, ShmError> {
        const {
            assert!(
                align_of::<T>() <= 64,
                "ShmSafe types are at most 64-byte aligned"
            );
        };
        let shm = ShmBox::create(type_tag::<T>(), size_of::<T>(), |s: &ValueState, data| {
            s.set_len(1);
            // SAFETY: the data area is size_of::<T>() bytes, 64-byte aligned (>= align_of::<T>()),
            // and not yet shared.
            unsafe { data.cast::<T>().write(value) };
        })?;
        Ok(Self {
            data: Guarded::new(lock, shm),
        })
    }

    fn ptr(&self) -> NonNull<T> {
        self.data.ptr()
    }

    fn state(&self) -> &RLockState {
        self.data.state()
    }

    fn with<R>(&self, f: impl FnOnce(NonNull<T>) -> R) -> R {
        self.data.with(f)
    }

    /// The value.
    #[must_use]
    pub fn get(&self) -> T {
        // SAFETY: the lock is held, so no other party writes; the area holds a valid T
        // (ShmSafe: any mix of valid values' bytes is valid).
        self.with(|p| unsafe { p.read() })
    }

    /// Replaces the value.
    pub fn set(&self, value: T) {
        // SAFETY: the lock is held; the area is a T.
        self.with(|p| unsafe { p.write(value) });
    }

    /// Replaces the value with `f(old)` atomically (under the lock); returns the new value.
    pub fn update(&self, f: impl FnOnce(T) -> T) -> T {
        self.with(|p| {
            // SAFETY: the lock is held for the read and the write.
            let new = f(unsafe { p.read() });
            // SAFETY: as above.
            unsafe { p.write(new) };
            new
        })
    }

    guarded_accessors!("value");

    /// Locks the value and returns a guard to read and write it.
    ///
    /// # Errors
    /// [`TryLockError::OwnerDied`](crate::TryLockError::OwnerDied) (holding the guard) while the value is marked
    /// inconsistent; never `WouldBlock` or `Timeout` (the result type is the one of `try_lock`
    /// and `lock_timeout`, and of [`Array::lock`](crate::Array::lock)).
    pub fn lock(&self) -> TryLockResult<ValueGuard<'_, T>> {
        self.data.take(None, false)?;
        self.data.guard(ValueGuard { value: self })
    }

    /// Like [`lock`](Value::lock), but never waits.
    ///
    /// # Errors
    /// [`TryLockError::WouldBlock`](crate::TryLockError::WouldBlock) if another thread or process holds the lock;
    /// [`TryLockError::OwnerDied`](crate::TryLockError::OwnerDied) as for [`lock`](Value::lock).
    pub fn try_lock(&self) -> TryLockResult<ValueGuard<'_, T>> {
        self.data.take(None, true)?;
        self.data.guard(ValueGuard { value: self })
    }

    /// Like [`lock`](Value::lock), waiting at most `timeout`.
    ///
    /// # Errors
    /// [`TryLockError::Timeout`](crate::TryLockError::Timeout) if not acquired in time;
    /// [`TryLockError::OwnerDied`](crate::TryLockError::OwnerDied) as for
    /// [`lock`](Value::lock).
    pub fn lock_timeout(&self, timeout: Duration) -> TryLockResult<ValueGuard<'_, T>> {
        self.data.take(deadline_after(timeout), false)?;
        self.data.guard(ValueGuard { value: self })
    }
}

/// Integer types: [`Value::fetch_add`] and [`Value::fetch_sub`].
pub trait ShmInteger: ShmSafe + sealed::Sealed {
    #[doc(hidden)]
    #[must_use]
    fn wrapping_add_(self, rhs: Self) -> Self;
    #[doc(hidden)]
    #[must_use]
    fn wrapping_sub_(self, rhs: Self) -> Self;
}

mod sealed {
    pub trait Sealed {}
}

macro_rules! shm_integer {
    ($($t:ty)*) => {$(
        impl sealed::Sealed for $t {}
        impl ShmInteger for $t {
            fn wrapping_add_(self, rhs: Self) -> Self {
                self.wrapping_add(rhs)
            }
            fn wrapping_sub_(self, rhs: Self) -> Self {
                self.wrapping_sub(rhs)
            }
        }
    )*};
}
shm_integer! { u8 u16 u32 u64 u128 usize i8 i16 i32 i64 i128 isize }

impl<T: ShmInteger> Value<T> {
    /// Adds `n` (wrapping on overflow, as C integers in Python's `Value` do) and returns the
    /// previous value; atomic with respect to every other operation on the value.
    pub fn fetch_add(&self, n: T) -> T {
        let mut old = n;
        self.update(|v| {
            old = v;
            v.wrapping_add_(n)
        });
        old
    }

    /// Subtracts `n` (wrapping) and returns the previous value; atomic like
    /// [`fetch_add`](Value::fetch_add).
    pub fn fetch_sub(&self, n: T) -> T {
        let mut old = n;
        self.update(|v| {
            old = v;
            v.wrapping_sub_(n)
        });
        old
    }
}

/// Holds a [`Value`]'s lock; reads and writes the value. Releases on drop; a panic while it
/// is held marks the value inconsistent (see [`Value`]).
///
/// The guard copies values in and out (no reference into shared memory), so holding several
/// (the lock is recursive) is sound.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct ValueGuard<'a, T: ShmSafe> {
    value: &'a Value<T>,
}

impl<T: ShmSafe> ValueGuard<'_, T> {
    /// The value.
    #[must_use]
    pub fn get(&self) -> T {
        // SAFETY: this guard holds the lock; the area is a valid T.
        unsafe { self.value.ptr().read() }
    }

    /// Replaces the value.
    pub fn set(&mut self, value: T) {
        // SAFETY: this guard holds the lock; the area is a T.
        unsafe { self.value.ptr().write(value) };
    }

    /// Declares the value consistent again (see [`Value::mark_consistent`]).
    pub fn mark_consistent(&self) {
        self.value.mark_consistent();
    }
}

impl<T: ShmSafe> Drop for ValueGuard<'_, T> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.value.state().set_died(Some(0));
        }
        let _ = self.value.state().release();
    }
}

impl<T: ShmSafe + fmt::Debug> fmt::Debug for ValueGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ValueGuard").field(&self.get()).finish()
    }
}

impl<T: ShmSafe + fmt::Debug> fmt::Debug for Value<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Value")
            .field("value", &self.get())
            .field("consistent", &self.is_consistent())
            .finish()
    }
}

impl<T: ShmSafe> Serialize for Value<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.data.serialize(s)
    }
}

impl<'de, T: ShmSafe> Deserialize<'de> for Value<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let data = Guarded::<T, ValueState>::deserialize(d)?;
        if data.shm.state().len() != 1 || data.shm.data_len() < size_of::<T>() {
            return Err(crate::codec::invalid_handle(
                "a received Value has the wrong size",
            ));
        }
        Ok(Self { data })
    }
}
