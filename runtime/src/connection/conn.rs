//! [`Connection`]: one end of an established, authenticated connection.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::codec::Codec;
use super::error::ConnectionError;
use super::frame::Stream;
use super::handshake::{self, Policy};
use crate::codec;

/// The default limit on one received message: 1 GiB (see
/// [`Connection::set_max_message_len`]). Python has none; whatever the limit, a receiver only
/// ever allocates 1 MiB or twice what really arrived, whichever is larger, never what a peer
/// declared.
pub const DEFAULT_MAX_MESSAGE_LEN: u64 = 1 << 30;

/// One end of a connection made by a [`Listener`](super::Listener) or a
/// [`Client`](super::Client): Python's `multiprocessing.connection.Connection`, speaking its
/// exact framing, so the other end may be a Python program.
///
/// - [`send_bytes`](Self::send_bytes) / [`recv_bytes`](Self::recv_bytes) carry raw messages,
///   the way to talk to Python (its `send_bytes`/`recv_bytes`).
/// - [`send`](Self::send) / [`recv`](Self::recv) carry typed values (serde + postcard), between
///   mproc programs. The peer is another program, so the type is not checked across the
///   connection: a message that does not decode as the type asked for is a
///   [`ConnectionError::Decode`] (and is consumed). Over a Unix socket a value may hold mproc
///   handles (their descriptors travel beside the bytes); over TCP that is
///   [`ConnectionError::HandlesNeedUnixSocket`]. Python cannot read these messages (it expects
///   pickles).
///
/// A `Connection` is `Send + Sync`: one thread may send while another receives. Sends are
/// serialized among themselves, and so are receives, so concurrent callers never interleave the
/// bytes of two messages (Python's `Connection` gives no such guarantee).
///
/// A `Connection` is also a handle (`Serialize`/`Deserialize` with mproc's codec): give it to a
/// worker process as an argument, or send it through a pipe, and the worker serves the peer
/// (see `handle.rs`). A forked child never keeps a connection it was not given.
///
/// Every blocking call has a `_timeout` form. A timeout or error in the middle of a message
/// leaves the stream out of step: the connection then reports [`ConnectionError::Broken`].
pub struct Connection {
    stream: Stream,
    send_lock: Mutex<()>,
    recv_lock: Mutex<()>,
    max_len: u64,
    codec: Codec,
}

impl Connection {
    pub(crate) fn new(stream: Stream, max_len: u64) -> Self {
        Self {
            stream,
            send_lock: Mutex::new(()),
            recv_lock: Mutex::new(()),
            max_len,
            codec: Codec::Postcard,
        }
    }

    /// How [`send`](Self::send) and [`recv`](Self::recv) encode values (see [`Codec`]).
    #[must_use]
    pub fn codec(&self) -> &Codec {
        &self.codec
    }

    /// Sets how [`send`](Self::send) and [`recv`](Self::recv) encode values; both ends must
    /// agree (the codec is not negotiated).
    pub fn set_codec(&mut self, codec: Codec) {
        self.codec = codec;
    }

    /// This connection with `codec` (see [`set_codec`](Self::set_codec)).
    #[must_use]
    pub fn with_codec(mut self, codec: Codec) -> Self {
        self.codec = codec;
        self
    }

    /// Closes the connection (the same as dropping it); the peer sees the end of the stream.
    pub fn close(self) {}

    /// Whether this connection is a Unix socket (path or abstract name), which can carry handles.
    #[must_use]
    pub fn is_unix(&self) -> bool {
        self.stream.is_unix()
    }

    /// The largest message this end accepts (default [`DEFAULT_MAX_MESSAGE_LEN`]).
    #[must_use]
    pub fn max_message_len(&self) -> u64 {
        self.max_len
    }

    /// Sets the largest message this end accepts. A longer one is refused, before anything is
    /// allocated for it, with [`ConnectionError::TooLarge`], and breaks the connection.
    pub fn set_max_message_len(&mut self, max: u64) {
        self.max_len = max;
    }

    fn send_frame(
        &self,
        payload: &[u8],
        fds: &[OwnedFd],
        deadline: Option<Instant>,
    ) -> Result<(), ConnectionError> {
        let fds: Vec<BorrowedFd<'_>> = fds.iter().map(AsFd::as_fd).collect();
        let _turn = self
            .send_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        self.stream.send_frame(payload, &fds, deadline)
    }

    fn recv_frame(
        &self,
        max: u64,
        deadline: Option<Instant>,
    ) -> Result<(Vec<u8>, Vec<OwnedFd>), ConnectionError> {
        let _turn = self
            .recv_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut fds = Vec::new();
        let payload = self.stream.recv_frame(max, deadline, &mut fds)?;
        Ok((payload, fds))
    }

    /// Sends `value`, encoded with this connection's [`Codec`] (by default postcard, with
    /// handles beside it over Unix sockets; or a pickle, for Python's `recv`).
    ///
    /// # Errors
    /// [`ConnectionError::Encode`] if it cannot be serialized,
    /// [`ConnectionError::HandlesNeedUnixSocket`] for handles over TCP (nothing is sent in
    /// either case); [`ConnectionError::Disconnected`] if the peer is gone; I/O errors.
    pub fn send<T: Serialize + ?Sized>(&self, value: &T) -> Result<(), ConnectionError> {
        self.send_value(value, None)
    }

    /// Sends `value`, waiting at most `timeout` for room.
    ///
    /// # Errors
    /// [`ConnectionError::Timeout`] if there was no room in time (the connection is broken if
    /// part of the message went out); otherwise as [`send`](Self::send).
    pub fn send_timeout<T: Serialize + ?Sized>(
        &self,
        value: &T,
        timeout: Duration,
    ) -> Result<(), ConnectionError> {
        self.send_value(value, deadline_in(timeout))
    }

    fn send_value<T: Serialize + ?Sized>(
        &self,
        value: &T,
        deadline: Option<Instant>,
    ) -> Result<(), ConnectionError> {
        match &self.codec {
            Codec::Postcard => {
                codec::with_encoded(value, |bytes, fds| self.send_frame(bytes, fds, deadline))
                    .map_err(ConnectionError::Encode)?
            }
            #[cfg(feature = "pickle")]
            Codec::Pickle(_) => {
                let bytes = super::pickle::dumps(value).map_err(ConnectionError::Encode)?;
                self.send_frame(&bytes, &[], deadline)
            }
        }
    }

    /// Receives the next message as a `T`.
    ///
    /// # Errors
    /// [`ConnectionError::Eof`] once the peer closed and every message was received;
    /// [`ConnectionError::Decode`] if the message is not a `T` (it is consumed; the connection
    /// stays usable), or with the pickle codec `ConnectionError::Unpickle` (the same, and
    /// also for a pickle that is not plain data or exceeds the codec's limits);
    /// [`ConnectionError::TooLarge`] above this end's limit;
    /// [`ConnectionError::Truncated`] if the peer closed in the middle of a message.
    pub fn recv<T: DeserializeOwned>(&self) -> Result<T, ConnectionError> {
        self.recv_value(None)
    }

    /// Receives the next message as a `T`, waiting at most `timeout`.
    ///
    /// # Errors
    /// [`ConnectionError::Timeout`] if no message came (the connection is broken if part of
    /// one had arrived); otherwise as [`recv`](Self::recv).
    pub fn recv_timeout<T: DeserializeOwned>(
        &self,
        timeout: Duration,
    ) -> Result<T, ConnectionError> {
        self.recv_value(deadline_in(timeout))
    }

    fn recv_value<T: DeserializeOwned>(
        &self,
        deadline: Option<Instant>,
    ) -> Result<T, ConnectionError> {
        let (payload, fds) = self.recv_frame(self.max_len, deadline)?;
        match &self.codec {
            Codec::Postcard => codec::decode(&payload, fds).map_err(ConnectionError::Decode),
            #[cfg(feature = "pickle")]
            Codec::Pickle(limits) => {
                super::pickle::loads(&payload, limits).map_err(ConnectionError::Unpickle)
            }
        }
    }

    /// Sends `buf` as one message (Python's `send_bytes(buf)`).
    ///
    /// # Errors
    /// [`ConnectionError::Disconnected`] if the peer is gone; I/O errors.
    pub fn send_bytes(&self, buf: &[u8]) -> Result<(), ConnectionError> {
        self.send_frame(buf, &[], None)
    }

    /// Sends `buf` as one message, waiting at most `timeout` for room.
    ///
    /// # Errors
    /// [`ConnectionError::Timeout`] (see [`send_timeout`](Self::send_timeout)); otherwise as
    /// [`send_bytes`](Self::send_bytes).
    pub fn send_bytes_timeout(&self, buf: &[u8], timeout: Duration) -> Result<(), ConnectionError> {
        self.send_frame(buf, &[], deadline_in(timeout))
    }

    /// Sends `buf[offset..offset + size]` (`size: None`: to the end) as one message, as
    /// Python's `send_bytes(buf, offset, size)`.
    ///
    /// # Errors
    /// [`ConnectionError::OutOfBounds`] if the range does not fit (nothing is sent); otherwise
    /// as [`send_bytes`](Self::send_bytes).
    pub fn send_bytes_range(
        &self,
        buf: &[u8],
        offset: usize,
        size: Option<usize>,
    ) -> Result<(), ConnectionError> {
        let out = || ConnectionError::OutOfBounds {
            offset,
            size,
            len: buf.len(),
        };
        let end = match size {
            None => buf.len(),
            Some(size) => offset.checked_add(size).ok_or_else(out)?,
        };
        let part = buf.get(offset..end).ok_or_else(out)?;
        self.send_bytes(part)
    }

    /// Receives the next message as bytes (Python's `recv_bytes()`). Handles that came with
    /// it are closed.
    ///
    /// # Errors
    /// As [`recv`](Self::recv), without decoding.
    pub fn recv_bytes(&self) -> Result<Vec<u8>, ConnectionError> {
        Ok(self.recv_frame(self.max_len, None)?.0)
    }

    /// Receives the next message as bytes, waiting at most `timeout`.
    ///
    /// # Errors
    /// [`ConnectionError::Timeout`] (see [`recv_timeout`](Self::recv_timeout)); otherwise as
    /// [`recv_bytes`](Self::recv_bytes).
    pub fn recv_bytes_timeout(&self, timeout: Duration) -> Result<Vec<u8>, ConnectionError> {
        Ok(self.recv_frame(self.max_len, deadline_in(timeout))?.0)
    }

    /// Receives the next message if it is at most `max` bytes long (Python's
    /// `recv_bytes(maxlength)`). As in Python, a longer message breaks the connection: it is
    /// refused unread ([`ConnectionError::TooLarge`]) and the stream is left in its middle.
    ///
    /// # Errors
    /// [`ConnectionError::TooLarge`]; otherwise as [`recv_bytes`](Self::recv_bytes).
    pub fn recv_bytes_max(&self, max: usize) -> Result<Vec<u8>, ConnectionError> {
        Ok(self.recv_frame(self.max_len.min(max as u64), None)?.0)
    }

    /// Receives the next message into `buf[offset..]` and returns its length (Python's
    /// `recv_bytes_into(buf, offset)`).
    ///
    /// # Errors
    /// [`ConnectionError::OutOfBounds`] if `offset > buf.len()` (checked before reading, so
    /// the message stays queued); [`ConnectionError::BufferTooShort`] with the whole message if
    /// it does not fit (it is consumed, as in Python); otherwise as
    /// [`recv_bytes`](Self::recv_bytes).
    pub fn recv_bytes_into(&self, buf: &mut [u8], offset: usize) -> Result<usize, ConnectionError> {
        let Some(room) = buf.get_mut(offset..) else {
            return Err(ConnectionError::OutOfBounds {
                offset,
                size: None,
                len: buf.len(),
            });
        };
        let message = self.recv_bytes()?;
        match room.get_mut(..message.len()) {
            Some(dest) => {
                dest.copy_from_slice(&message);
                Ok(message.len())
            }
            None => Err(ConnectionError::BufferTooShort { message }),
        }
    }

    /// Whether a message (or the end of the stream) is waiting: Python's `poll(timeout)`.
    /// `None` waits as long as it takes; `Some(Duration::ZERO)` only looks.
    ///
    /// # Errors
    /// [`ConnectionError::Broken`] after an earlier error; [`ConnectionError::Os`] if polling
    /// fails.
    pub fn poll(&self, timeout: Option<Duration>) -> Result<bool, ConnectionError> {
        self.stream.readable(timeout.and_then(deadline_in))
    }

    /// Challenges the peer to prove it knows `authkey`, within `timeout` (Python's
    /// `deliver_challenge(connection, authkey)`): for protocols that authenticate an
    /// unauthenticated connection later, or again. The peer runs
    /// [`answer_challenge`](Self::answer_challenge). Only the `{sha256}`/`{sha384}` forms are
    /// accepted here (no legacy MD5).
    ///
    /// # Errors
    /// [`ConnectionError::DigestReceivedWrong`] if the peer's answer is wrong (it is told
    /// `#FAILURE#`), the other handshake variants of [`ConnectionError`] for a peer that does
    /// not follow the protocol, [`ConnectionError::HandshakeTimeout`], and I/O errors.
    pub fn deliver_challenge(
        &self,
        authkey: &[u8],
        timeout: Duration,
    ) -> Result<(), ConnectionError> {
        let _both = self.both_directions();
        handshake::deliver_challenge(&self.stream, strict(authkey), handshake_deadline(timeout))
    }

    /// Answers the peer's challenge with `authkey`, within `timeout` (Python's
    /// `answer_challenge(connection, authkey)`; see
    /// [`deliver_challenge`](Self::deliver_challenge)).
    ///
    /// # Errors
    /// [`ConnectionError::DigestSentRejected`] if the peer refuses the answer; otherwise as
    /// [`deliver_challenge`](Self::deliver_challenge).
    pub fn answer_challenge(
        &self,
        authkey: &[u8],
        timeout: Duration,
    ) -> Result<(), ConnectionError> {
        let _both = self.both_directions();
        handshake::answer_challenge(&self.stream, strict(authkey), handshake_deadline(timeout))
    }

    /// Both directions, held so a handshake's messages interleave with no other send or
    /// receive on this connection.
    fn both_directions(&self) -> (MutexGuard<'_, ()>, MutexGuard<'_, ()>) {
        let sending = self
            .send_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let receiving = self
            .recv_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        (sending, receiving)
    }
}

fn strict(key: &[u8]) -> Policy<'_> {
    Policy {
        key,
        legacy_md5: false,
    }
}

/// A handshake's deadline: `timeout` from now, capped at a day (a handshake needs one).
pub(crate) fn handshake_deadline(timeout: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(timeout)
        .unwrap_or_else(|| now + Duration::from_hours(24))
}

impl AsFd for Connection {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.stream.fd()
    }
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use std::os::fd::AsRawFd;
        f.debug_struct("Connection")
            .field("fd", &self.stream.fd().as_raw_fd())
            .field("unix", &self.stream.is_unix())
            .field("max_message_len", &self.max_len)
            .finish_non_exhaustive()
    }
}

/// A deadline `timeout` from now (`None`, meaning none, if that is beyond the clock).
pub(crate) fn deadline_in(timeout: Duration) -> Option<Instant> {
    Instant::now().checked_add(timeout)
}
