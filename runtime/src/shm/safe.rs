//! [`ShmSafe`]: plain data, valid for every bit pattern, that may live in shared memory; and
//! [`ShmBool`], the `bool` of shared memory.

use std::fmt;

/// A type whose values can be stored in shared memory and read by other processes: the element
/// type of [`Value`](crate::Value) and [`Array`](crate::Array).
///
/// `ShmSafe` means *valid for every bit pattern*: whatever bytes another process leaves in the
/// segment (a peer's bug, a process killed in the middle of a write, a hostile peer), reading
/// them gives a valid `T`, never undefined behaviour. It is the rule of bytemuck's
/// `AnyBitPattern` plus "no pointers".
///
/// Implemented for the integer and floating-point primitives, [`ShmBool`], arrays and tuples
/// (up to four) of `ShmSafe` types. Not for `bool` (a peer can write the byte 2), `char` (a
/// peer can write a surrogate), enums (a discriminant that names no variant), `NonZero*` (zero),
/// references, raw or function pointers. For a `bool`, use [`ShmBool`], whose read returns a
/// typed error on a byte other than 0 or 1; for a `char`, a `u32` and `char::from_u32`.
///
/// For your own `#[repr(C)]` struct of such fields, derive it: the derive checks every field is
/// `ShmSafe` and refuses enums, unions, `bool`, `char`, references, pointers and a struct
/// without `#[repr(C)]` (or `#[repr(transparent)]`).
///
/// ```
/// use mproc::{ShmBool, ShmSafe, Value};
///
/// #[derive(Clone, Copy, Debug, PartialEq, ShmSafe)]
/// #[repr(C)]
/// struct Point {
///     x: f64,
///     y: f64,
///     hits: u32,
///     seen: ShmBool,
/// }
///
/// # fn main() -> mproc::Result<()> {
/// let p = Value::new(Point { x: 1.0, y: 2.0, hits: 0, seen: ShmBool::FALSE })?;
/// p.update(|mut p| {
///     p.hits += 1;
///     p.seen = true.into();
///     p
/// });
/// assert_eq!(p.get().hits, 1);
/// assert_eq!(p.get().seen.to_bool(), Ok(true));
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
/// ```compile_fail
/// #[derive(Clone, Copy, mproc::ShmSafe)]
/// #[repr(C)]
/// struct Particle {
///     alive: bool, // a peer can write 2: use `mproc::ShmBool`
/// }
/// ```
///
/// # Padding
/// A `#[repr(C)]` struct may have padding bytes (`Point` above has four). mproc reads a `T`
/// only as a `T`, by a typed copy in which padding carries no value, and never views a `T` as
/// bytes, so whatever a peer left in the padding is ignored: this is `AnyBitPattern`, not
/// bytemuck's stricter `Pod` (which forbids padding so that a value can be viewed as bytes).
/// In the other direction, the padding of a value you write may carry stale bytes of your
/// stack to the processes that share the segment; if they must not see them, replace the
/// padding with explicit fields.
///
/// # Safety
///
/// Implementing this trait promises that the type:
/// - is valid for every bit pattern: any `size_of::<Self>()` bytes, padding bytes ignored, are
///   a valid value (so, in particular, all zeros, as in a new array, and any byte-wise mix of
///   two values, as a process killed in the middle of a write leaves). Integers, floats,
///   [`ShmBool`] and arrays, tuples and `#[repr(C)]` structs of them qualify; `bool`, `char`,
///   enums, `NonZero*`, references and function pointers do not;
/// - holds no pointers or handles whose meaning is per-process (addresses, descriptors,
///   `Box`, `String`, `Vec`...): a peer's bytes must never be followed or called;
/// - has no `Drop` glue (it is `Copy`);
/// - has the same layout in every process that shares it (true for one executable; use
///   `#[repr(C)]` for structs).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot live in shared memory: it is not `ShmSafe`",
    label = "not valid for every bit pattern, or holds a pointer or owned memory",
    note = "`ShmSafe` types are plain data valid for every bit pattern: integers, floats, \
            `mproc::ShmBool`, arrays and tuples of them, and `#[derive(ShmSafe)]` structs"
)]
pub unsafe trait ShmSafe: Copy + Send + Sync + 'static {}

macro_rules! shm_safe {
    ($($t:ty)*) => {$(
        // SAFETY: a primitive with no pointers, no padding, and no invalid bit pattern.
        unsafe impl ShmSafe for $t {}
    )*};
}
shm_safe! { u8 u16 u32 u64 u128 usize i8 i16 i32 i64 i128 isize f32 f64 }

// SAFETY: an array of `ShmSafe` elements meets each rule element by element (no padding
// between elements beyond each element's own).
unsafe impl<T: ShmSafe, const N: usize> ShmSafe for [T; N] {}

macro_rules! shm_safe_tuple {
    ($(($($t:ident),+))*) => {$(
        // SAFETY: each field is `ShmSafe`, so valid for every bit pattern; padding bytes are
        // never interpreted; the layout is the same in every process running one executable.
        unsafe impl<$($t: ShmSafe),+> ShmSafe for ($($t,)+) {}
    )*};
}
shm_safe_tuple! { (A) (A, B) (A, B, C) (A, B, C, D) }

/// A `bool` for shared memory: one byte, 0 for false and 1 for true.
///
/// `bool` itself is not [`ShmSafe`]: a byte other than 0 or 1 in a `bool` is undefined
/// behaviour, and a peer process can write any byte. `ShmBool` stores the byte; reading it
/// with [`to_bool`](ShmBool::to_bool) checks it and returns [`InvalidBool`] for any other
/// byte, so a peer can produce an error but never an invalid `bool`. Comparison is by byte:
/// an invalid `ShmBool` equals neither [`TRUE`](ShmBool::TRUE) nor [`FALSE`](ShmBool::FALSE).
///
/// ```
/// use mproc::{ShmBool, Value};
///
/// # fn main() -> mproc::Result<()> {
/// let ready = Value::new(ShmBool::FALSE)?;
/// ready.set(true.into());
/// assert_eq!(ready.get(), ShmBool::TRUE);
/// assert_eq!(ready.get().to_bool(), Ok(true));
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
#[repr(transparent)]
pub struct ShmBool(u8);

impl ShmBool {
    /// `false` (the byte 0; also what a zero-filled [`Array`](crate::Array) holds).
    pub const FALSE: Self = Self(0);
    /// `true` (the byte 1).
    pub const TRUE: Self = Self(1);

    /// The `ShmBool` holding `value`.
    #[must_use]
    pub const fn new(value: bool) -> Self {
        if value { Self::TRUE } else { Self::FALSE }
    }

    /// The `bool` this byte stands for.
    ///
    /// # Errors
    /// [`InvalidBool`] if the byte is neither 0 nor 1 (only another process writing the
    /// segment's bytes directly can put such a byte there).
    pub const fn to_bool(self) -> Result<bool, InvalidBool> {
        match self.0 {
            0 => Ok(false),
            1 => Ok(true),
            byte => Err(InvalidBool { byte }),
        }
    }

    /// The stored byte, unchecked: 0 or 1 unless a peer wrote something else.
    #[must_use]
    pub const fn to_byte(self) -> u8 {
        self.0
    }
}

impl From<bool> for ShmBool {
    fn from(value: bool) -> Self {
        Self::new(value)
    }
}

impl TryFrom<ShmBool> for bool {
    type Error = InvalidBool;

    fn try_from(value: ShmBool) -> Result<Self, InvalidBool> {
        value.to_bool()
    }
}

impl fmt::Debug for ShmBool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_bool() {
            Ok(b) => f.debug_tuple("ShmBool").field(&b).finish(),
            Err(e) => write!(f, "ShmBool(invalid byte {})", e.byte),
        }
    }
}

// SAFETY: `#[repr(transparent)]` over a `u8`: every byte is a valid `ShmBool` (the invalid
// ones are reported by `to_bool`, never turned into a `bool`), no pointers, `Copy`.
unsafe impl ShmSafe for ShmBool {}

/// A [`ShmBool`] held a byte other than 0 (false) or 1 (true): another process wrote the
/// shared memory directly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a shared bool holds the byte {byte}, which is neither 0 (false) nor 1 (true)")]
pub struct InvalidBool {
    byte: u8,
}

impl InvalidBool {
    /// The byte found.
    #[must_use]
    pub fn byte(&self) -> u8 {
        self.byte
    }
}

#[cfg(test)]
mod tests {
    use super::{InvalidBool, ShmBool, ShmSafe};

    fn assert_shm_safe<T: ShmSafe>() {}

    #[test]
    fn every_byte_reads_as_a_bool_or_an_error() {
        for byte in 0..=u8::MAX {
            let read = ShmBool(byte).to_bool();
            match byte {
                0 => assert_eq!(read, Ok(false)),
                1 => assert_eq!(read, Ok(true)),
                _ => assert_eq!(read, Err(InvalidBool { byte })),
            }
        }
    }

    #[test]
    fn an_invalid_byte_equals_neither_true_nor_false() {
        for byte in [2, 255] {
            let b = ShmBool(byte);
            assert_ne!(b, ShmBool::TRUE);
            assert_ne!(b, ShmBool::FALSE);
            assert_eq!(bool::try_from(b).map_err(|e| e.byte()), Err(byte));
            assert_eq!(format!("{b:?}"), format!("ShmBool(invalid byte {byte})"));
        }
        assert_eq!(
            InvalidBool { byte: 2 }.to_string(),
            "a shared bool holds the byte 2, which is neither 0 (false) nor 1 (true)"
        );
    }

    #[test]
    fn conversions_round_trip() {
        assert_eq!(ShmBool::from(true), ShmBool::TRUE);
        assert_eq!(ShmBool::new(false), ShmBool::FALSE);
        assert_eq!(ShmBool::default(), ShmBool::FALSE);
        assert_eq!(ShmBool::TRUE.to_byte(), 1);
        assert_eq!(format!("{:?}", ShmBool::TRUE), "ShmBool(true)");
        assert_eq!(size_of::<ShmBool>(), 1);
        assert_shm_safe::<ShmBool>();
        assert_shm_safe::<([ShmBool; 3], u64)>();
    }
}
