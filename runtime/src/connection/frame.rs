//! Python's framing on a byte stream: a 4-byte big-endian signed length, or `-1` and an 8-byte
//! big-endian length for messages over 2 GiB - 1, then the payload.
//!
//! Reads are bounded: a declared length is checked against the receiver's limit first, and the
//! payload buffer then grows (doubling, from at most 1 MiB) only as bytes really arrive, so a
//! peer that declares 2^63 bytes and sends three costs the receiver at most 1 MiB (a constant,
//! so messages up to 1 MiB are received without reallocation), and a longer message at most
//! twice what really arrived.
//!
//! Without a deadline the socket's own blocking calls wait (one system call per chunk); with
//! one, every call is `MSG_DONTWAIT` and waiting is `poll(2)` until the deadline. The sockets
//! are in blocking mode either way (a `WouldBlock` without a deadline is still handled by
//! polling, so a socket some other code made non-blocking only costs an extra call).
//!
//! Reads take exactly the bytes of one frame and nothing more (no user-space read-ahead): so
//! `poll(2)` on the socket, and therefore [`wait`](super::wait), tell the truth, and descriptors
//! passed with a frame (Unix sockets) are never attributed to the wrong one.

use std::io::{self, IoSlice};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use super::error::ConnectionError;
use crate::pipe::inherited;
use crate::sys;
use crate::sys::fd::Interest;

/// Largest length that fits the 4-byte header (Python's `0x7fffffff`).
const SHORT_MAX: u64 = 0x7fff_ffff;
/// The first allocation for a payload, whatever its declared length (a constant a peer cannot
/// choose; beyond it, memory grows only with the bytes that arrived).
const FIRST_CHUNK: usize = 1 << 20;

/// The 4-byte or 12-byte header of a frame of `len` bytes.
pub(crate) fn header(len: u64) -> ([u8; 12], usize) {
    let mut out = [0u8; 12];
    if len > SHORT_MAX {
        out[..4].copy_from_slice(&(-1i32).to_be_bytes());
        out[4..].copy_from_slice(&len.to_be_bytes());
        (out, 12)
    } else {
        #[allow(clippy::cast_possible_truncation, reason = "len <= 0x7fffffff")]
        out[..4].copy_from_slice(&(len as u32).to_be_bytes());
        (out, 4)
    }
}

/// A connected stream socket (TCP or Unix) carrying frames.
///
/// The `broken` flag is set by any error that leaves the stream in the middle of a frame; every
/// later operation then fails with [`ConnectionError::Broken`].
///
/// # Memory ordering
/// `broken` only ever goes from `false` to `true` and guards no other data: `Relaxed` suffices
/// (a thread that misses the store fails on the stream itself instead).
#[derive(Debug)]
pub(crate) struct Stream {
    sock: OwnedFd,
    unix: bool,
    broken: AtomicBool,
}

impl Stream {
    pub(crate) fn new(sock: OwnedFd, unix: bool) -> Self {
        // A child forked later lets go of this socket unless it was passed to it, so it never
        // keeps a connection open behind its owner's back (see `pipe::inherited`).
        inherited::register(sock.as_raw_fd());
        Self {
            sock,
            unix,
            broken: AtomicBool::new(false),
        }
    }

    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }

    pub(crate) fn is_unix(&self) -> bool {
        self.unix
    }

    fn check(&self) -> Result<(), ConnectionError> {
        if self.broken.load(Ordering::Relaxed) {
            Err(ConnectionError::Broken)
        } else {
            Ok(())
        }
    }

    /// Marks the stream broken when `e` (after `partial` progress in a frame) warrants it.
    fn fail(&self, e: ConnectionError, partial: bool) -> ConnectionError {
        if partial || e.breaks_stream() {
            self.broken.store(true, Ordering::Relaxed);
        }
        e
    }

    /// Sends one frame carrying `payload`, with `fds` attached to its first byte (Unix sockets
    /// only), waiting for room until `deadline`.
    pub(crate) fn send_frame(
        &self,
        payload: &[u8],
        fds: &[BorrowedFd<'_>],
        deadline: Option<Instant>,
    ) -> Result<(), ConnectionError> {
        self.check()?;
        if !fds.is_empty() && !self.unix {
            return Err(ConnectionError::HandlesNeedUnixSocket { count: fds.len() });
        }
        let (head, head_len) = header(payload.len() as u64);
        let head = &head[..head_len];
        let total = head_len + payload.len();
        let mut raw: Vec<RawFd> = fds.iter().map(AsRawFd::as_raw_fd).collect();
        let mut sent = 0usize;
        while sent < total {
            let bufs = if sent < head_len {
                [IoSlice::new(&head[sent..]), IoSlice::new(payload)]
            } else {
                [IoSlice::new(&payload[sent - head_len..]), IoSlice::new(&[])]
            };
            match sys::socket::send(self.fd(), &bufs, &raw, deadline.is_some()) {
                Ok(n) => {
                    sent += n;
                    raw.clear(); // the descriptors went with the first byte
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    match sys::fd::poll([Interest::write(self.fd())], deadline) {
                        Ok(Some(_)) => {}
                        Ok(None) => return Err(self.fail(ConnectionError::Timeout, sent > 0)),
                        Err(e) => return Err(self.fail(ConnectionError::os("poll")(e), true)),
                    }
                }
                Err(e) if matches!(e.raw_os_error(), Some(libc::EPIPE | libc::ECONNRESET)) => {
                    return Err(self.fail(ConnectionError::Disconnected, true));
                }
                Err(e) => return Err(self.fail(ConnectionError::os("sendmsg")(e), true)),
            }
        }
        Ok(())
    }

    /// Waits until the socket is readable (or closed) until `deadline`: `Ok(false)` on timeout.
    pub(crate) fn readable(&self, deadline: Option<Instant>) -> Result<bool, ConnectionError> {
        self.check()?;
        sys::fd::poll([Interest::read(self.fd())], deadline)
            .map(|ready| ready.is_some())
            .map_err(ConnectionError::os("poll"))
    }

    /// Receives one frame of at most `max` bytes, waiting until `deadline`. Descriptors that
    /// came with the frame (Unix sockets) are appended to `fds`.
    ///
    /// A frame over `max` is refused unread ([`ConnectionError::TooLarge`]) and breaks the
    /// stream, as in Python (which reports `bad message length` and stops reading).
    pub(crate) fn recv_frame(
        &self,
        max: u64,
        deadline: Option<Instant>,
        fds: &mut Vec<OwnedFd>,
    ) -> Result<Vec<u8>, ConnectionError> {
        self.check()?;
        let mut head = [0u8; 12];
        let mut got = self.read_header(&mut head[..4], 0, 4, deadline, fds)?;
        let declared = i32::from_be_bytes([head[0], head[1], head[2], head[3]]);
        let len = match declared {
            -1 => {
                got += self.read_header(&mut head[4..], got, 12, deadline, fds)?;
                u64::from_be_bytes(head[4..12].try_into().expect("invariant: 8 bytes"))
            }
            n if n < 0 => {
                return Err(self.fail(ConnectionError::Malformed("negative frame length"), true));
            }
            n => u64::from(n.unsigned_abs()),
        };
        if len > max {
            return Err(self.fail(ConnectionError::TooLarge { len, max }, true));
        }
        let len = usize::try_from(len)
            .map_err(|_| self.fail(ConnectionError::TooLarge { len, max }, true))?;
        let mut payload = Vec::with_capacity(len.min(FIRST_CHUNK));
        while payload.len() < len {
            if payload.len() == payload.capacity() {
                // Double what arrived so far: memory follows the bytes, not the declaration.
                payload.reserve(payload.len().min(len - payload.len()));
            }
            let want = (payload.capacity() - payload.len()).min(len - payload.len());
            match sys::stream::recv_append(self.fd(), &mut payload, want, deadline.is_some()) {
                Ok(0) => {
                    return Err(self.fail(
                        ConnectionError::Truncated {
                            got: (got + payload.len()) as u64, // <= 12 + what arrived
                            expected: (got as u64).saturating_add(len as u64),
                        },
                        true,
                    ));
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.wait_readable(deadline)
                        .map_err(|e| self.fail(e, true))?;
                }
                Err(e) => return Err(self.recv_os_error(e)),
            }
        }
        Ok(payload)
    }

    /// Reads `buf` (part of a header that starts `before` bytes earlier and is `whole` bytes
    /// long) exactly; returns its length. Descriptors that come with it go to `fds`.
    fn read_header(
        &self,
        buf: &mut [u8],
        before: usize,
        whole: usize,
        deadline: Option<Instant>,
        fds: &mut Vec<OwnedFd>,
    ) -> Result<usize, ConnectionError> {
        let mut got = 0;
        while got < buf.len() {
            let nonblocking = deadline.is_some();
            // Descriptors can only come over Unix sockets; TCP reads need no control buffer.
            let received = if self.unix {
                sys::socket::recv(self.fd(), &mut buf[got..], fds, nonblocking, false)
                    .map(|r| r.len)
            } else {
                sys::stream::recv_into(self.fd(), &mut buf[got..], nonblocking)
            };
            match received {
                Ok(0) if before + got == 0 => return Err(self.fail(ConnectionError::Eof, false)),
                Ok(0) => {
                    return Err(self.fail(
                        ConnectionError::Truncated {
                            got: (before + got) as u64,
                            expected: whole as u64,
                        },
                        true,
                    ));
                }
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if let Err(e) = self.wait_readable(deadline) {
                        return Err(self.fail(e, before + got > 0));
                    }
                }
                Err(e) => return Err(self.recv_os_error(e)),
            }
        }
        Ok(got)
    }

    /// Waits for more bytes of a frame already begun; a timeout breaks the stream.
    fn wait_readable(&self, deadline: Option<Instant>) -> Result<(), ConnectionError> {
        match sys::fd::poll([Interest::read(self.fd())], deadline) {
            Ok(Some(_)) => Ok(()),
            Ok(None) => Err(ConnectionError::Timeout),
            Err(e) => Err(self.fail(ConnectionError::os("poll")(e), true)),
        }
    }

    fn recv_os_error(&self, e: io::Error) -> ConnectionError {
        let error = if e.raw_os_error() == Some(libc::ECONNRESET) {
            ConnectionError::Disconnected
        } else {
            ConnectionError::os("recv")(e)
        };
        self.fail(error, true)
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        inherited::unregister(self.sock.as_raw_fd());
    }
}
