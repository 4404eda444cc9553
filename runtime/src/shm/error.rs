//! Errors of shared-memory segments.

use std::io;

/// A shared-memory segment could not be created, or a received one is not what it claims.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ShmError {
    /// The descriptor is not an mproc segment (no magic number).
    #[error("the descriptor is not an mproc shared-memory segment (bad magic number)")]
    BadMagic,
    /// The segment was made by an mproc with another memory layout.
    #[error("shared-memory layout version {found} is not the supported version {expected}")]
    WrongVersion {
        /// The version in the segment.
        found: u32,
        /// The version this build understands.
        expected: u32,
    },
    /// The segment holds another kind of object (for example a `Lock` received as an `Event`).
    #[error("the segment holds an object of kind {found}, not {expected}")]
    WrongKind {
        /// What the segment holds.
        found: &'static str,
        /// What was expected.
        expected: &'static str,
    },
    /// The segment holds a `Value`/`Array` of another element type.
    #[error("the segment holds elements of another type than `{expected}`")]
    WrongType {
        /// The element type expected.
        expected: &'static str,
    },
    /// The segment is smaller than its header or its contents claim.
    #[error("the segment is too small: {size} bytes, {needed} needed")]
    TooSmall {
        /// Its size in bytes.
        size: usize,
        /// What its header requires.
        needed: usize,
    },
    /// The descriptor is not a memfd sealed against resizing, so it could be truncated under
    /// the mapping.
    #[error("the descriptor is not a sealed mproc memfd")]
    NotSealed,
    /// The requested size does not fit in memory.
    #[error("a shared object of {0} bytes is too large")]
    TooLarge(usize),
    /// An array of `len` elements of `elem_size` bytes each: its byte count does not even fit
    /// in the address space.
    #[error(
        "an array of {len} elements of {elem_size} bytes each ({} bytes) is larger than the address space",
        u128::from(*len as u64) * u128::from(*elem_size as u64)
    )]
    ArrayTooLarge {
        /// The number of elements asked for.
        len: usize,
        /// The size of one element in bytes.
        elem_size: usize,
    },
    /// A system call failed.
    #[error("{op} failed")]
    Os {
        /// The operation.
        op: &'static str,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}

impl ShmError {
    pub(crate) fn os(op: &'static str) -> impl FnOnce(io::Error) -> Self {
        move |source| ShmError::Os { op, source }
    }
}
