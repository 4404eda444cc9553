//! Errors of named shared memory and of `ShareableList`.

use crate::sys::OsError;

/// A named shared-memory block could not be created, attached, accessed or unlinked.
///
/// The cases Python reports as `ValueError`, `FileExistsError` and `FileNotFoundError` each
/// have their own variant.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SharedMemoryError {
    /// The name cannot name a POSIX shared-memory object.
    #[error("invalid shared memory name {name:?}: {reason}")]
    InvalidName {
        /// The name given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A block is created with size zero (Python: `ValueError`).
    #[error("a new shared memory block needs a size of at least one byte")]
    ZeroSize,
    /// `create` on a name that exists (Python: `FileExistsError`).
    #[error("a shared memory block named {0:?} already exists")]
    Exists(String),
    /// `attach` or `unlink` of a name that does not exist (Python: `FileNotFoundError`).
    #[error("no shared memory block is named {0:?}")]
    NotFound(String),
    /// The block exists but has no bytes, so it cannot be mapped.
    #[error("the shared memory block {0:?} is empty")]
    Empty(String),
    /// A read or write reaches past the end of the block.
    #[error("{len} bytes at offset {offset} reach past the end of the {size}-byte block")]
    OutOfBounds {
        /// Where the access starts.
        offset: usize,
        /// How many bytes it covers.
        len: usize,
        /// The block's size.
        size: usize,
    },
    /// A system call failed.
    #[error("a shared memory operation failed")]
    Os(#[from] OsError),
}

/// A `ShareableList` operation failed, or the block does not hold a valid list.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ShareableListError {
    /// The block itself failed.
    #[error(transparent)]
    SharedMemory(#[from] SharedMemoryError),
    /// The index is not below the list's length (Python: `IndexError`).
    #[error("index {index} is out of range for a list of {len} items")]
    IndexOutOfRange {
        /// The index asked for.
        index: usize,
        /// The list's length.
        len: usize,
    },
    /// A `str` or `bytes` value is longer than the slot it replaces (Python: `ValueError`).
    #[error("item {index}: {len} bytes exceed the {capacity} bytes of storage of the slot")]
    TooLong {
        /// The index written.
        index: usize,
        /// The encoded length of the value.
        len: usize,
        /// The bytes the slot holds.
        capacity: usize,
    },
    /// A `str` or `bytes` item is too long for the layout's 8-character format field.
    #[error("a {len}-byte item is too long for a shareable list")]
    ItemTooLarge {
        /// Its encoded length.
        len: usize,
    },
    /// The block does not hold a valid list, or one of its items is malformed: what a
    /// careless or hostile writer left there, detected before anything is read out of bounds.
    #[error("the shareable list is corrupted: {0}")]
    Corrupted(String),
}
