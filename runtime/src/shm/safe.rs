//! [`ShmSafe`]: plain data that may live in shared memory.

/// A type whose values can be stored in shared memory and read by other processes: the element
/// type of [`Value`](crate::Value) and [`Array`](crate::Array).
///
/// Implemented for the integer and floating-point primitives, `bool`, arrays and tuples (up to
/// four) of `ShmSafe` types. For your own `#[repr(C)]` struct of such fields, derive it: the
/// derive checks every field is `ShmSafe` and refuses enums, references and a struct without
/// `#[repr(C)]`.
///
/// ```
/// use mproc::{ShmSafe, Value};
///
/// #[derive(Clone, Copy, Debug, PartialEq, ShmSafe)]
/// #[repr(C)]
/// struct Point {
///     x: f64,
///     y: f64,
///     hits: u32,
/// }
///
/// # fn main() -> mproc::Result<()> {
/// let p = Value::new(Point { x: 1.0, y: 2.0, hits: 0 })?;
/// p.update(|mut p| {
///     p.hits += 1;
///     p
/// });
/// assert_eq!(p.get().hits, 1);
/// # Ok(())
/// # }
/// ```
///
/// ```compile_fail
/// #[derive(Clone, Copy, mproc::ShmSafe)]
/// #[repr(C)]
/// struct Named {
///     name: &'static str, // a reference means nothing in another process
/// }
/// ```
///
/// # Safety
///
/// Implementing this trait promises that the type:
/// - holds no pointers or references (an address means nothing in another process), and no
///   handles whose meaning is per-process (descriptors, `Box`, `String`, `Vec`...);
/// - has no `Drop` glue (it is `Copy`);
/// - is valid when all its bytes are zero (new arrays are zero-filled);
/// - is valid for any byte-wise mix of two valid values: a process killed in the middle of a
///   write leaves some bytes old and some new. Integers, floats and `bool` qualify; `char`,
///   enums and references do not;
/// - has the same layout in every process that shares it (true for one executable; use
///   `#[repr(C)]` for structs).
pub unsafe trait ShmSafe: Copy + Send + Sync + 'static {}

macro_rules! shm_safe {
    ($($t:ty)*) => {$(
        // SAFETY: a primitive with no pointers; every bit pattern is valid (for `bool` a byte
        // is written whole, so a torn write still leaves 0 or 1).
        unsafe impl ShmSafe for $t {}
    )*};
}
shm_safe! { u8 u16 u32 u64 u128 usize i8 i16 i32 i64 i128 isize f32 f64 bool }

// SAFETY: an array of `ShmSafe` elements meets each rule element by element.
unsafe impl<T: ShmSafe, const N: usize> ShmSafe for [T; N] {}

macro_rules! shm_safe_tuple {
    ($(($($t:ident),+))*) => {$(
        // SAFETY: each field is `ShmSafe`; padding bytes are never interpreted.
        unsafe impl<$($t: ShmSafe),+> ShmSafe for ($($t,)+) {}
    )*};
}
shm_safe_tuple! { (A) (A, B) (A, B, C) (A, B, C, D) }
