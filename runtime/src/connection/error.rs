//! The one error type of [`crate::connection`].

use std::io;

use crate::codec::CodecError;

/// Why a [`Listener`](super::Listener), [`Client`](super::Client) or
/// [`Connection`](super::Connection) operation failed.
///
/// Variants after [`HandshakeTimeout`](Self::HandshakeTimeout) in this list are failures of the
/// authentication handshake ([`is_authentication`](Self::is_authentication) says which are a
/// refused key rather than a broken peer); Python raises `AuthenticationError` for them.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectionError {
    /// The address could not be understood (or a host name did not resolve).
    #[error("invalid address `{address}`: {reason}")]
    InvalidAddress {
        /// The address as given.
        address: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A system call failed.
    #[error("{op} failed: {source}")]
    Os {
        /// The operation (`bind`, `connect`, `accept`, `recv`, ...).
        op: &'static str,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The peer closed the connection, and every message it sent before was received.
    #[error("end of stream: the peer closed the connection")]
    Eof,
    /// The peer closed the connection in the middle of a message.
    #[error("the peer closed the connection {got} bytes into a {expected}-byte frame")]
    Truncated {
        /// Bytes of the frame (length header included) that arrived.
        got: u64,
        /// Bytes the frame should have had (as far as its header was read).
        expected: u64,
    },
    /// A message is longer than this end accepts; it was refused before anything was allocated
    /// for it, and the connection is [broken](Self::Broken) (its rest is still in the stream).
    #[error("a message of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// The length the peer declared.
        len: u64,
        /// This end's limit.
        max: u64,
    },
    /// A frame header that no Python or mproc peer writes (a negative length other than -1).
    #[error("malformed frame: {0}")]
    Malformed(&'static str),
    /// Nothing happened before the timeout. If part of a message had been sent or received, the
    /// connection is [broken](Self::Broken) afterwards.
    #[error("timed out")]
    Timeout,
    /// An earlier error left the stream out of step (in the middle of a frame): the connection
    /// can only be closed.
    #[error("the connection is unusable after an earlier error in the middle of a message")]
    Broken,
    /// The peer is gone: sending failed with a closed or reset connection.
    #[error("the peer closed the connection")]
    Disconnected,
    /// The value could not be serialized; nothing was sent.
    #[error(transparent)]
    Encode(CodecError),
    /// The message is not a valid value of the expected type; it was consumed, and the
    /// connection stays usable.
    #[error(transparent)]
    Decode(CodecError),
    /// With the pickle [`Codec`](super::Codec): the message is not a pickle of plain data, not
    /// the type expected, or exceeds the codec's limits. It was consumed and nothing of it was
    /// executed; the connection stays usable.
    #[cfg(feature = "pickle")]
    #[error(transparent)]
    Unpickle(super::pickle::PickleError),
    /// The message did not fit the buffer given to `recv_bytes_into`: here it is, whole (it was
    /// consumed, as in Python).
    #[error("buffer too short for a message of {} bytes", message.len())]
    BufferTooShort {
        /// The whole message.
        message: Vec<u8>,
    },
    /// `offset`/`size` do not fit the buffer (nothing was sent or received).
    #[error("range at offset {offset} (size {size:?}) does not fit a buffer of {len} bytes")]
    OutOfBounds {
        /// The offset given.
        offset: usize,
        /// The size given, if any.
        size: Option<usize>,
        /// The buffer's length.
        len: usize,
    },
    /// A value holding handles (descriptors) was sent over a TCP connection: descriptors can
    /// travel only over Unix sockets. Nothing was sent.
    #[error("{count} handles cannot travel over a TCP connection (only over Unix sockets)")]
    HandlesNeedUnixSocket {
        /// How many descriptors the value holds.
        count: usize,
    },
    /// The peer did not complete the authentication handshake in time (it connected and said
    /// nothing, or too slowly).
    #[error("the authentication handshake timed out")]
    HandshakeTimeout,
    /// A handshake message was longer than the 256 bytes Python allows (refused unread).
    #[error("a handshake message of {len} bytes exceeds the limit of 256 bytes")]
    HandshakeTooLong {
        /// The length the peer declared.
        len: u64,
    },
    /// The peer's first handshake message was not a `#CHALLENGE#` (for instance, it is not
    /// authenticating at all, or it is not a multiprocessing peer).
    #[error("protocol error: expected a challenge")]
    NotAChallenge,
    /// The challenge is shorter than the 20 bytes Python requires.
    #[error("challenge too short: {len} bytes")]
    ChallengeTooShort {
        /// The length of the challenge (without its `#CHALLENGE#` prefix).
        len: usize,
    },
    /// The peer asked for, or answered with, a digest mproc does not speak (mproc speaks
    /// `sha256` and `sha384`, and `md5` where legacy authentication is allowed), or without the
    /// `{digest}` prefix.
    #[error("unsupported digest, or missing digest prefix, in the peer's handshake message")]
    UnsupportedDigest,
    /// The peer uses the legacy HMAC-MD5 handshake (Python 3.11 and earlier), which this end
    /// does not allow (see [`Options::allow_legacy_md5`](super::Options::allow_legacy_md5)).
    #[error("the peer uses legacy HMAC-MD5 authentication (Python <= 3.11), which is not allowed")]
    LegacyRefused,
    /// The peer's answer to our challenge was wrong: it does not know our key (Python's
    /// `AuthenticationError('digest received was wrong')`).
    #[error("digest received was wrong")]
    DigestReceivedWrong,
    /// The peer rejected our answer to its challenge: we do not know its key (Python's
    /// `AuthenticationError('digest sent was rejected')`).
    #[error("digest sent was rejected")]
    DigestSentRejected,
}

impl ConnectionError {
    /// Whether this is a refusal by the authentication handshake (a wrong or unsupported key
    /// or protocol), Python's `AuthenticationError`.
    #[must_use]
    pub fn is_authentication(&self) -> bool {
        matches!(
            self,
            Self::HandshakeTooLong { .. }
                | Self::NotAChallenge
                | Self::ChallengeTooShort { .. }
                | Self::UnsupportedDigest
                | Self::LegacyRefused
                | Self::DigestReceivedWrong
                | Self::DigestSentRejected
        )
    }

    /// Whether the connection cannot be used after this error (the stream is out of step).
    pub(crate) fn breaks_stream(&self) -> bool {
        matches!(
            self,
            Self::Os { .. }
                | Self::Truncated { .. }
                | Self::TooLarge { .. }
                | Self::Malformed(_)
                | Self::Broken
                | Self::Disconnected
        )
    }

    pub(crate) fn os(op: &'static str) -> impl FnOnce(io::Error) -> Self {
        move |source| Self::Os { op, source }
    }
}
