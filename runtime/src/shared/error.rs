//! The errors of the shared data: [`ArrayError`] (a [`Value`](crate::Value) has none: its
//! accessors cannot fail, and its lock reports through the lock's own types).

use serde::{Deserialize, Serialize};

use crate::sync::LockError;

/// Indexing an [`Array`](crate::Array) or a [`RawArray`](crate::RawArray) (which reports only
/// `IndexOutOfRange` and `LengthMismatch`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ArrayError {
    /// The index is not below the length.
    #[error("index {index} out of range for an array of length {len}")]
    IndexOutOfRange {
        /// The index given.
        index: usize,
        /// The array's length.
        len: usize,
    },
    /// A slice of another length was given for the whole array.
    #[error("expected {expected} elements, got {got}")]
    LengthMismatch {
        /// The array's length.
        expected: usize,
        /// The length given.
        got: usize,
    },
    /// This thread holds the array's lock through an [`ArrayGuard`](crate::ArrayGuard),
    /// which lends out references into the elements: use the guard instead (a per-call
    /// accessor would write under a live `&mut [T]`).
    #[error("the array is borrowed by an ArrayGuard of this thread; use the guard")]
    Borrowed,
    /// Locking the array failed (only `LockError::OwnerDied` is possible: the caller got it).
    #[error(transparent)]
    Lock(#[from] LockError),
}
