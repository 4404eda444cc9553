//! The element types with hardware atomics: [`ShmAtomic`] (`load`, `store`, `swap`,
//! `compare_exchange`) and [`ShmInteger`] (`fetch_add`, `fetch_sub`), for [`Value`](crate::Value),
//! [`RawValue`](crate::RawValue) and [`RawArray`](crate::RawArray).

use std::ptr::NonNull;
use std::sync::atomic::Ordering::{self, SeqCst};
use std::sync::atomic::{
    AtomicI8, AtomicI16, AtomicI32, AtomicI64, AtomicIsize, AtomicU8, AtomicU16, AtomicU32,
    AtomicU64, AtomicUsize,
};

use crate::shm::{ShmBool, ShmSafe};

mod sealed {
    pub trait Sealed {}
}

/// Types whose size has a hardware atomic: the integers up to 64 bits, `f32`, `f64` and
/// [`ShmBool`]. A [`Value`](crate::Value) of one offers lock-free `load`, `store`, `swap` and
/// `compare_exchange`; they are the element types of [`RawValue`](crate::RawValue) and
/// [`RawArray`](crate::RawArray), whose every access is one atomic of the element's size.
///
/// Floats and [`ShmBool`] are compared by their bits: a `ShmBool` holding a byte a peer wrote
/// (2, say) equals neither `TRUE` nor `FALSE`, and `compare_exchange` on floats matches `NaN`
/// with the same `NaN` but not `0.0` with `-0.0`.
pub trait ShmAtomic: ShmSafe + sealed::Sealed {
    /// Atomic load with `order` (`Relaxed`, `Acquire` or `SeqCst`).
    ///
    /// # Safety
    /// `p` is aligned for `Self` and valid for reads and writes, and while this runs the
    /// memory is accessed only through atomics of `Self`'s size.
    #[doc(hidden)]
    unsafe fn atomic_load(p: NonNull<Self>, order: Ordering) -> Self;
    /// Atomic store with `order` (`Relaxed`, `Release` or `SeqCst`).
    ///
    /// # Safety
    /// As [`atomic_load`](ShmAtomic::atomic_load).
    #[doc(hidden)]
    unsafe fn atomic_store(p: NonNull<Self>, value: Self, order: Ordering);
    /// Atomic swap.
    ///
    /// # Safety
    /// As [`atomic_load`](ShmAtomic::atomic_load).
    #[doc(hidden)]
    unsafe fn atomic_swap(p: NonNull<Self>, value: Self) -> Self;
    /// Atomic compare-and-exchange of the bits.
    ///
    /// # Errors
    /// The value found, if it was not `current`.
    ///
    /// # Safety
    /// As [`atomic_load`](ShmAtomic::atomic_load).
    #[doc(hidden)]
    unsafe fn atomic_compare_exchange(
        p: NonNull<Self>,
        current: Self,
        new: Self,
    ) -> Result<Self, Self>;
}

/// Integer types: `fetch_add` and `fetch_sub` on a [`Value`](crate::Value), wrapping on
/// overflow as C integers do in Python's `Value`. Lock-free up to 64 bits; `u128` and `i128`
/// (no 128-bit atomic in `std`) take the value's lock.
pub trait ShmInteger: ShmSafe + sealed::Sealed {
    /// Whether [`atomic_fetch_add`](ShmInteger::atomic_fetch_add) is a hardware atomic.
    #[doc(hidden)]
    const LOCK_FREE: bool;
    /// Adds `n` (wrapping) to the integer at `p`; returns the previous value.
    ///
    /// # Safety
    /// `p` is aligned and valid for reads and writes. If `LOCK_FREE`, the memory is accessed
    /// only through atomics of `Self`'s size while this runs; otherwise nothing else accesses
    /// it while this runs.
    #[doc(hidden)]
    unsafe fn atomic_fetch_add(p: NonNull<Self>, n: Self) -> Self;
    /// Subtracts `n` (wrapping); returns the previous value.
    ///
    /// # Safety
    /// As [`atomic_fetch_add`](ShmInteger::atomic_fetch_add).
    #[doc(hidden)]
    unsafe fn atomic_fetch_sub(p: NonNull<Self>, n: Self) -> Self;
}

/// `$t` stored as `$a` (same size and alignment), converted with `$to`/`$from`.
macro_rules! shm_atomic {
    ($($t:ty => $a:ty, $to:expr, $from:expr;)*) => {$(
        const _: () = assert!(
            size_of::<$t>() == size_of::<$a>() && align_of::<$t>() >= align_of::<$a>()
        );

        impl sealed::Sealed for $t {}

        impl ShmAtomic for $t {
            unsafe fn atomic_load(p: NonNull<Self>, order: Ordering) -> Self {
                // SAFETY: aligned and valid (caller); `$a` has `$t`'s size and alignment, and
                // the memory is accessed only atomically meanwhile.
                $from(unsafe { <$a>::from_ptr(p.as_ptr().cast()) }.load(order))
            }
            unsafe fn atomic_store(p: NonNull<Self>, value: Self, order: Ordering) {
                // SAFETY: as in `atomic_load`.
                unsafe { <$a>::from_ptr(p.as_ptr().cast()) }.store($to(value), order);
            }
            unsafe fn atomic_swap(p: NonNull<Self>, value: Self) -> Self {
                // SAFETY: as in `atomic_load`.
                $from(unsafe { <$a>::from_ptr(p.as_ptr().cast()) }.swap($to(value), SeqCst))
            }
            unsafe fn atomic_compare_exchange(
                p: NonNull<Self>,
                current: Self,
                new: Self,
            ) -> Result<Self, Self> {
                // SAFETY: as in `atomic_load`.
                unsafe { <$a>::from_ptr(p.as_ptr().cast()) }
                    .compare_exchange($to(current), $to(new), SeqCst, SeqCst)
                    .map($from)
                    .map_err($from)
            }
        }
    )*};
}

/// The integers with a hardware atomic: `ShmAtomic` as themselves, and lock-free arithmetic.
macro_rules! shm_atomic_integer {
    ($($t:ty => $a:ty;)*) => {
        shm_atomic! { $($t => $a, std::convert::identity, std::convert::identity;)* }
        $(
            impl ShmInteger for $t {
                const LOCK_FREE: bool = true;
                unsafe fn atomic_fetch_add(p: NonNull<Self>, n: Self) -> Self {
                    // SAFETY: as in `ShmAtomic::atomic_load` (the caller's contract).
                    unsafe { <$a>::from_ptr(p.as_ptr()) }.fetch_add(n, SeqCst)
                }
                unsafe fn atomic_fetch_sub(p: NonNull<Self>, n: Self) -> Self {
                    // SAFETY: as above.
                    unsafe { <$a>::from_ptr(p.as_ptr()) }.fetch_sub(n, SeqCst)
                }
            }
        )*
    };
}

shm_atomic_integer! {
    u8 => AtomicU8; u16 => AtomicU16; u32 => AtomicU32; u64 => AtomicU64; usize => AtomicUsize;
    i8 => AtomicI8; i16 => AtomicI16; i32 => AtomicI32; i64 => AtomicI64; isize => AtomicIsize;
}

shm_atomic! {
    f32 => AtomicU32, f32::to_bits, f32::from_bits;
    f64 => AtomicU64, f64::to_bits, f64::from_bits;
    ShmBool => AtomicU8, ShmBool::to_byte, bool_of_byte;
}

/// The `ShmBool` holding `byte`, whatever it is (a peer may have written it; `to_bool` reports
/// it).
fn bool_of_byte(byte: u8) -> ShmBool {
    // SAFETY: `ShmBool` is `#[repr(transparent)]` over a `u8`, and every byte is a valid
    // `ShmBool` (`ShmSafe`).
    unsafe { std::mem::transmute::<u8, ShmBool>(byte) }
}

/// 128-bit integers: no hardware atomic in `std`, so only under a lock.
macro_rules! shm_locked_integer {
    ($($t:ty)*) => {$(
        impl sealed::Sealed for $t {}
        impl ShmInteger for $t {
            const LOCK_FREE: bool = false;
            unsafe fn atomic_fetch_add(p: NonNull<Self>, n: Self) -> Self {
                // SAFETY: aligned and valid, and nothing else accesses it (the caller's
                // contract when `LOCK_FREE` is false).
                unsafe {
                    let old = p.read();
                    p.write(old.wrapping_add(n));
                    old
                }
            }
            unsafe fn atomic_fetch_sub(p: NonNull<Self>, n: Self) -> Self {
                // SAFETY: as above.
                unsafe {
                    let old = p.read();
                    p.write(old.wrapping_sub(n));
                    old
                }
            }
        }
    )*};
}

shm_locked_integer! { u128 i128 }
