//! [`PipeError`]: what a pipe operation reports.

use crate::codec::CodecError;
use crate::sys::OsError;

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
    /// The deadline of a `_timeout` form passed; nothing was sent or received.
    #[error("timed out")]
    Timeout,
    /// A `try_` form found nothing to receive, or no room to send; nothing was sent or
    /// received.
    #[error("the operation would block")]
    WouldBlock,
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
    /// This process was forked (start method `Fork`) and reached a pipe end it was not given:
    /// one it inherited in its copy of the parent's memory (through a static, a global or a
    /// captured value) instead of receiving it as an argument or in a message. A forked child
    /// lets go of such ends, so that they do not keep the pipe open for the child's whole life;
    /// pass the end to the process as an argument (as `Spawn` and `ForkServer` require anyway).
    #[error(
        "this pipe end was not passed to this process (it was inherited from the parent); pass it as an argument"
    )]
    NotPassed,
    /// A system call failed.
    #[error(transparent)]
    Os(#[from] OsError),
}
