//! [`Value`]: one [`ShmSafe`] value in shared memory, with its lock.

use std::fmt;
use std::ptr::NonNull;
use std::sync::atomic::Ordering::SeqCst;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::atomic::{ShmAtomic, ShmInteger};
use super::data::ValueState;
use super::gate::Gate;
use super::guarded::Guarded;
use crate::shm::{ShmBox, ShmError, ShmSafe, type_tag};
use crate::sync::{RLock, RLockState, TryLockResult, deadline_after};

/// A `T` in shared memory, guarded by an [`RLock`]: Python's `multiprocessing.Value`.
///
/// `get`, `set` and `update` each take the lock for the whole operation, so unlike Python's
/// `v.value += 1`, `v.update(|x| x + 1)` never loses an increment; for integers,
/// `v.fetch_add(1)` does the same on the hardware atomic without the lock (see
/// [Atomics](#atomics)).
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
/// holding a guard or `get_lock()`), the value reads as *inconsistent* at once, and the next
/// acquirer takes the lock over and keeps that mark: it still holds a valid `T` (see
/// [`ShmSafe`]: any bytes are a valid `T`), but possibly the old value, the new one, or (for
/// values wider than one machine word written in the middle) a mix of both. `get`, `set`,
/// `update`, `fetch_add` and the other atomics keep working (as Python's would, had it not
/// hung); [`is_consistent`](Value::is_consistent) reports the
/// mark, [`lock`](Value::lock) returns [`OwnerDied`](crate::OwnerDied) (with the guard) while it is set, and
/// [`mark_consistent`](Value::mark_consistent) clears it once the program has checked or
/// repaired the value. This is `std::sync::Mutex` poisoning, across processes; a panic while
/// holding a [`ValueGuard`] marks the value the same way.
///
/// # Atomics
/// For integers up to 64 bits, `f32`, `f64` and [`ShmBool`](crate::ShmBool) ([`ShmAtomic`]),
/// [`load`](Value::load), [`store`](Value::store), [`swap`](Value::swap),
/// [`compare_exchange`](Value::compare_exchange) and (integers, [`ShmInteger`])
/// [`fetch_add`](Value::fetch_add)/[`fetch_sub`](Value::fetch_sub) are single hardware atomic
/// instructions that do not take the lock. They still respect it:
///
/// - **Atomic relative to a locked section.** Each lock-free operation takes effect entirely
///   before or entirely after any section that holds the lock (a [`ValueGuard`], or
///   `get_lock()` around `get`/`set`, Python's `with v.get_lock(): v.value += 1`): while the
///   lock is held they wait for it as `get` does, and the holder's first access waits for
///   the few that were already running. So a locked read-modify-write never loses a
///   concurrent `fetch_add`, and a `fetch_add` never sees a section half done.
/// - **Lock-free while nobody holds the lock.** Then they cost one atomic instruction plus a
///   claim on a cache line of the caller's own (see `shared::gate` in the source).
/// - **`u128`/`i128`**: `fetch_add`/`fetch_sub` take the lock (`std` has no 128-bit atomic).
///
/// Crashes: a process killed in a lock-free operation leaves the value consistent (one
/// instruction either ran or did not) and holders do not wait for it; a process killed
/// holding the lock marks the value inconsistent, as below, and lock-free operations keep
/// working once the lock was taken over (the first one to find the dead holder does it).
///
/// # What a reader trusts
/// Every access copies the value in or out, under the lock or with one atomic instruction; no
/// reference into shared memory is made. Whatever another process writes into the segment,
/// with or without the lock, a read gives a valid `T`, because `ShmSafe` types are valid for every bit pattern: for a `bool`,
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

    fn gate(&self) -> &Gate {
        self.data.shm.state().gate()
    }

    /// Runs `op` on the value through the gate (if `lock_free`: `op` is a hardware atomic),
    /// or under the lock when the gate sends it there (someone holds the lock).
    fn bypassing<R>(&self, lock_free: bool, op: impl Fn(NonNull<T>) -> R) -> R {
        let p = self.ptr();
        if lock_free && let Some(out) = self.gate().bypass(self.state(), || op(p)) {
            return out;
        }
        self.with(&op)
    }

    /// Runs `f` on the value under the lock, once no lock-free operation is in progress.
    fn with<R>(&self, f: impl FnOnce(NonNull<T>) -> R) -> R {
        self.data.with(|p| {
            self.gate().drain();
            f(p)
        })
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

/// Lock-free operations on the hardware atomic: they never take the value's lock while it
/// is free, and never land inside a section that holds it (see [Atomics](Value#atomics)).
impl<T: ShmAtomic> Value<T> {
    /// The value, read with one atomic load.
    #[must_use]
    pub fn load(&self) -> T {
        // SAFETY: the data area holds a T, aligned; through the gate or under the drained
        // lock, every other access meanwhile is atomic (or there is none).
        self.atomic(|p| unsafe { T::atomic_load(p, SeqCst) })
    }

    /// Replaces the value with one atomic store.
    pub fn store(&self, value: T) {
        // SAFETY: as in `load`.
        self.atomic(|p| unsafe { T::atomic_store(p, value, SeqCst) });
    }

    /// Replaces the value; returns the previous one.
    pub fn swap(&self, value: T) -> T {
        // SAFETY: as in `load`.
        self.atomic(|p| unsafe { T::atomic_swap(p, value) })
    }

    /// Stores `new` if the value is `current` (compared bit for bit).
    ///
    /// # Errors
    /// The value found, if it was not `current` (nothing is stored).
    pub fn compare_exchange(&self, current: T, new: T) -> Result<T, T> {
        // SAFETY: as in `load`.
        self.atomic(|p| unsafe { T::atomic_compare_exchange(p, current, new) })
    }

    fn atomic<R>(&self, op: impl Fn(NonNull<T>) -> R) -> R {
        self.bypassing(true, op)
    }
}

impl<T: ShmInteger> Value<T> {
    /// Adds `n` (wrapping on overflow, as C integers in Python's `Value` do) and returns the
    /// previous value; atomic with respect to every other operation on the value, locked
    /// sections included. Lock-free up to 64 bits (see [Atomics](Value#atomics)).
    pub fn fetch_add(&self, n: T) -> T {
        // SAFETY: the data area holds a T, aligned; through the gate every access meanwhile
        // is atomic, and under the drained lock there is no other.
        self.integer(|p| unsafe { T::atomic_fetch_add(p, n) })
    }

    /// Subtracts `n` (wrapping) and returns the previous value; atomic like
    /// [`fetch_add`](Value::fetch_add).
    pub fn fetch_sub(&self, n: T) -> T {
        // SAFETY: as in `fetch_add`.
        self.integer(|p| unsafe { T::atomic_fetch_sub(p, n) })
    }

    fn integer<R>(&self, op: impl Fn(NonNull<T>) -> R) -> R {
        self.bypassing(T::LOCK_FREE, op)
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
        // The lock may have been released and taken again since the last access (a
        // `Condition` wait on it): wait out the lock-free operations every time.
        self.value.gate().drain();
        // SAFETY: this guard holds the lock and no lock-free operation is in progress; the
        // area is a valid T.
        unsafe { self.value.ptr().read() }
    }

    /// Replaces the value.
    pub fn set(&mut self, value: T) {
        self.value.gate().drain();
        // SAFETY: as in `get`.
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
