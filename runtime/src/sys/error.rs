//! [`OsError`]: the one shape of a failed system call, which each module's error enum wraps.

use std::io;

/// A system call (or a short sequence of them) failed: which operation, and the OS error.
///
/// Each error enum that can meet one (`SpawnError::Os`, `ProcessError::Os`, `PipeError::Os`,
/// …) wraps this type rather than repeating its fields.
#[derive(Debug, thiserror::Error)]
#[error("{op} failed")]
#[non_exhaustive]
pub struct OsError {
    /// The operation that failed (a system call's name, or what mproc was doing).
    pub op: &'static str,
    /// The OS error.
    #[source]
    pub source: io::Error,
}

impl OsError {
    /// `source` as the failure of `op`.
    #[must_use]
    pub fn new(op: &'static str, source: io::Error) -> Self {
        Self { op, source }
    }
}

/// `E::os("op")`: a `map_err` adapter from `io::Error` to any error that wraps [`OsError`].
pub(crate) trait OsContext: From<OsError> {
    /// Turns the `io::Error` of `op` into `Self`.
    fn os(op: &'static str) -> impl FnOnce(io::Error) -> Self {
        move |source| OsError { op, source }.into()
    }
}

impl<E: From<OsError>> OsContext for E {}
