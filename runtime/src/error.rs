//! Error types: one enum per operation family, and [`Error`] wrapping them all for `?` in
//! `main`.

use std::io;

pub use crate::codec::CodecError;
use crate::sys::proc::signal_name;

/// Starting a process failed; no child is left behind.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpawnError {
    /// The arguments could not be serialized.
    #[error("cannot serialize the process arguments")]
    Encode(#[source] CodecError),
    /// The target function does not live in the main executable (for example it is in a shared
    /// library), so a re-executed child could not find it. Use the `Fork` start method.
    #[error("the target function is not part of the main executable; use the fork start method")]
    TargetNotInExecutable,
    /// A system call failed.
    #[error("cannot start a process: {op} failed")]
    Os {
        /// The operation that failed.
        op: &'static str,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}

impl SpawnError {
    pub(crate) fn os(op: &'static str) -> impl FnOnce(io::Error) -> Self {
        move |source| SpawnError::Os { op, source }
    }
}

/// A child did not produce its function's value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProcessError {
    /// The function panicked; the message is the panic payload (as `panic!` formatted it).
    #[error("process panicked: {message}")]
    Panicked {
        /// The panic message.
        message: String,
    },
    /// The process exited (for example with `std::process::exit(code)`) without returning.
    #[error("process exited with code {code} before returning a value")]
    Exited {
        /// The exit code (its low 8 bits, as the kernel keeps them).
        code: i32,
    },
    /// The process was ended by a signal.
    #[error("process was killed by signal {signal} ({})", signal_name(*signal))]
    Killed {
        /// The signal number.
        signal: i32,
    },
    /// The deadline passed while the process was still running; it can be joined again.
    #[error("timed out waiting for the process")]
    Timeout,
    /// The process was already joined (its value was taken by an earlier `join`).
    #[error("process was already joined")]
    AlreadyJoined,
    /// The child could not start running the function: its arguments did not decode, or its
    /// start-up failed. The message says why.
    #[error("process could not start its function: {message}")]
    Bootstrap {
        /// What failed in the child.
        message: String,
    },
    /// The child's return value could not be serialized (in the child).
    #[error("process could not serialize its return value: {message}")]
    EncodeResult {
        /// The serialization error, as the child saw it.
        message: String,
    },
    /// The child's return value arrived but does not decode as the expected type.
    #[error("cannot decode the process result")]
    DecodeResult(#[source] CodecError),
    /// The result channel was corrupted.
    #[error("the result channel from the process is corrupted: {0}")]
    Corrupted(String),
    /// A system call failed while waiting for or signalling the process.
    #[error("{op} failed")]
    Os {
        /// The operation that failed.
        op: &'static str,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}

impl ProcessError {
    pub(crate) fn os(op: &'static str) -> impl FnOnce(io::Error) -> Self {
        move |source| ProcessError::Os { op, source }
    }
}

/// Any mproc error, for `?` in functions that use several families.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// See [`SpawnError`].
    #[error(transparent)]
    Spawn(#[from] SpawnError),
    /// See [`ProcessError`].
    #[error(transparent)]
    Process(#[from] ProcessError),
    /// See [`CodecError`].
    #[error(transparent)]
    Codec(#[from] CodecError),
    /// See [`PipeError`].
    #[error(transparent)]
    Pipe(#[from] PipeError),
    /// An I/O error from code around mproc (files, sockets the user opened).
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// `Result` with [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A pipe operation failed. Unless it says otherwise, the connection stays usable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PipeError {
    /// The other end is closed (in every process) and every message sent before was received
    /// (Python's `EOFError`).
    #[error("the other end of the pipe is closed and no message is left")]
    Eof,
    /// Sending failed because the other end is closed (Python's `BrokenPipeError`).
    #[error("the other end of the pipe is closed")]
    Disconnected,
    /// The deadline passed; nothing was sent or received.
    #[error("timed out")]
    Timeout,
    /// A message longer than this end accepts. From `recv`/`recv_bytes` the message was
    /// discarded unread; from `recv_bytes_max` it was left in the pipe for another call.
    #[error("message of {len} bytes exceeds the maximum of {max} bytes")]
    TooLarge {
        /// The message's length.
        len: u64,
        /// The maximum in force.
        max: u64,
    },
    /// `recv_bytes_into`'s buffer was too short; the whole message is here (Python's
    /// `BufferTooShort`, whose `args[0]` is the message).
    #[error("buffer too short for a message of {} bytes", message.len())]
    BufferTooShort {
        /// The complete message, which was received.
        message: Vec<u8>,
    },
    /// `offset`/`size` do not describe a part of the buffer.
    #[error("offset {offset} and size {size:?} do not fit a buffer of {len} bytes")]
    OutOfBounds {
        /// The offset given.
        offset: usize,
        /// The size given (`None`: to the end).
        size: Option<usize>,
        /// The buffer's length.
        len: usize,
    },
    /// The value could not be serialized; nothing was sent.
    #[error("cannot serialize the message")]
    Encode(#[source] CodecError),
    /// The message does not decode as the expected type; it was consumed.
    #[error("cannot deserialize the message")]
    Decode(#[source] CodecError),
    /// A message mproc does not send arrived (a foreign or malicious peer); it was discarded.
    #[error("malformed message: {0}")]
    Malformed(&'static str),
    /// A descriptor received as a pipe end is not an mproc pipe socket.
    #[error("the descriptor is not an mproc pipe end")]
    NotAPipe,
    /// A system call failed.
    #[error("{op} failed")]
    Os {
        /// The operation that failed.
        op: &'static str,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}
