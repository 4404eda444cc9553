//! What every pipe end shares: a socket, this end's message-size limit, and the operations.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::inherited;
use crate::codec;
use crate::pipe::PipeError;
use crate::sys::{OsContext, OsError};
use crate::wire::{self, WireError};

/// The default limit on one received message: 1 GiB. Raise it with `set_max_message_len`.
///
/// This limit is a policy, not what protects a receiver from a hostile sender: whatever the
/// limit, a receiver allocates only what its sender really sent (the bytes of an inline
/// record, or the pages a sealed memfd really holds), never a length the sender declared,
/// as Python allocates what it receives rather than what it is told. Python has no limit; 1 GiB
/// is kept so that one message cannot make a receiver copy more than that even from a peer
/// that really wrote it (say, by mistake).
pub const DEFAULT_MAX_MESSAGE_LEN: u64 = 1 << 30;

/// One end of a pipe, untyped.
#[derive(Debug)]
pub(crate) struct Endpoint {
    sock: OwnedFd,
    max_len: u64,
}

impl Endpoint {
    pub(crate) fn new(sock: OwnedFd) -> Self {
        inherited::register(sock.as_raw_fd());
        Self {
            sock,
            max_len: DEFAULT_MAX_MESSAGE_LEN,
        }
    }

    /// Adopts a received descriptor, checking that it is an mproc pipe socket.
    pub(crate) fn adopt(sock: OwnedFd) -> Result<Self, PipeError> {
        use nix::sys::socket::{SockType, getsockopt, sockopt};
        match getsockopt(&sock, sockopt::SockType) {
            Ok(SockType::SeqPacket) => Ok(Self::new(sock)),
            _ => Err(PipeError::NotAPipe),
        }
    }

    /// Another handle to the same end (a duplicated descriptor), with the same limit.
    pub(crate) fn try_clone(&self) -> Result<Self, PipeError> {
        self.check_passed()?;
        let sock = crate::sys::fd::dup_cloexec(self.fd()).map_err(PipeError::os("dup"))?;
        let mut end = Self::new(sock);
        end.max_len = self.max_len;
        Ok(end)
    }

    pub(crate) fn set_max_len(&mut self, max: u64) {
        self.max_len = max;
    }

    pub(crate) fn max_len(&self) -> u64 {
        self.max_len
    }

    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }

    pub(crate) fn send<T: Serialize + ?Sized>(
        &self,
        value: &T,
        deadline: Option<Instant>,
    ) -> Result<(), PipeError> {
        codec::with_encoded(value, |bytes, fds| {
            let fds: Vec<BorrowedFd<'_>> = fds.iter().map(AsFd::as_fd).collect();
            wire::send(self.fd(), &[bytes], &fds, deadline).map_err(|e| self.send_error(e))
        })
        .map_err(PipeError::Encode)?
    }

    pub(crate) fn recv<T: DeserializeOwned>(
        &self,
        deadline: Option<Instant>,
    ) -> Result<T, PipeError> {
        wire::recv(self.fd(), self.max_len, deadline, |payload, fds| {
            codec::decode(&payload, fds)
        })
        .map_err(|e| self.recv_error(e))?
        .map_err(PipeError::Decode)
    }

    pub(crate) fn send_bytes(
        &self,
        buf: &[u8],
        deadline: Option<Instant>,
    ) -> Result<(), PipeError> {
        wire::send(self.fd(), &[buf], &[], deadline).map_err(|e| self.send_error(e))
    }

    pub(crate) fn recv_bytes(&self, deadline: Option<Instant>) -> Result<Vec<u8>, PipeError> {
        wire::recv(self.fd(), self.max_len, deadline, |payload, _| {
            payload.into_vec()
        })
        .map_err(|e| self.recv_error(e))
    }

    /// Leaves a too-long message in the pipe (another call can still take it).
    pub(crate) fn recv_bytes_max(
        &self,
        max: usize,
        deadline: Option<Instant>,
    ) -> Result<Vec<u8>, PipeError> {
        let len = wire::peek_len(self.fd(), deadline).map_err(|e| self.recv_error(e))?;
        if len > max as u64 {
            return Err(PipeError::TooLarge {
                len,
                max: max as u64,
            });
        }
        // Another process sharing this end may have taken the peeked message: the one received
        // here is checked again.
        let limit = self.max_len.min(max as u64);
        wire::recv(self.fd(), limit, deadline, |payload, _| payload.into_vec())
            .map_err(|e| self.recv_error(e))
    }

    pub(crate) fn recv_bytes_into(
        &self,
        buf: &mut [u8],
        offset: usize,
        deadline: Option<Instant>,
    ) -> Result<usize, PipeError> {
        if offset > buf.len() {
            return Err(PipeError::OutOfBounds {
                offset,
                size: None,
                len: buf.len(),
            });
        }
        let room = &mut buf[offset..];
        wire::recv(self.fd(), self.max_len, deadline, |payload, _| {
            if payload.len() > room.len() {
                return Err(PipeError::BufferTooShort {
                    message: payload.into_vec(),
                });
            }
            room[..payload.len()].copy_from_slice(&payload);
            Ok(payload.len())
        })
        .map_err(|e| self.recv_error(e))?
    }

    /// Whether a message (or the end of the stream) can be received now, waiting at most
    /// `timeout` (`None`: as long as it takes).
    pub(crate) fn poll(&self, timeout: Option<Duration>) -> Result<bool, PipeError> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let ready = wire::readable(self.fd(), deadline).map_err(PipeError::os("poll"))?;
        // `/dev/null`, which a detached end refers to, is always readable.
        if ready {
            self.check_passed()?;
        }
        Ok(ready)
    }

    /// Stops this direction for every process holding the socket (simplex pipes).
    pub(crate) fn shutdown(&self, read: bool) -> Result<(), PipeError> {
        crate::sys::socket::shutdown(self.fd(), read).map_err(|e| {
            self.check_passed()
                .err()
                .unwrap_or_else(|| OsError::new("shutdown", e).into())
        })
    }

    /// [`PipeError::NotPassed`] if this is an end a forked child inherited but was not given
    /// (see [`inherited`]).
    fn check_passed(&self) -> Result<(), PipeError> {
        if inherited::was_detached(self.raw_fd()) {
            return Err(PipeError::NotPassed);
        }
        Ok(())
    }

    fn send_error(&self, e: WireError) -> PipeError {
        match e {
            WireError::Io(e)
                if matches!(e.raw_os_error(), Some(libc::EPIPE | libc::ECONNRESET)) =>
            {
                PipeError::Disconnected
            }
            other => self.common_error(other, "sendmsg"),
        }
    }

    fn recv_error(&self, e: WireError) -> PipeError {
        self.common_error(e, "recvmsg")
    }

    /// A socket call on a detached end fails (it is `/dev/null`, not a socket): that failure
    /// is reported as what it means.
    fn common_error(&self, e: WireError, op: &'static str) -> PipeError {
        match e {
            WireError::Io(_) if inherited::was_detached(self.raw_fd()) => PipeError::NotPassed,
            other => common_error(other, op),
        }
    }

    pub(crate) fn raw_fd(&self) -> i32 {
        self.sock.as_raw_fd()
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        inherited::unregister(self.sock.as_raw_fd());
    }
}

fn common_error(e: WireError, op: &'static str) -> PipeError {
    match e {
        WireError::Eof => PipeError::Eof,
        WireError::Timeout => PipeError::Timeout,
        WireError::TooLarge { len, max } => PipeError::TooLarge { len, max },
        WireError::Malformed(what) => PipeError::Malformed(what),
        WireError::TooManyFds => PipeError::Malformed("too many descriptors for one message"),
        WireError::Io(source) => OsError::new(op, source).into(),
    }
}

/// Checks Python's `send_bytes(buf, offset, size)` arguments; returns the part to send.
pub(crate) fn byte_range(
    buf: &[u8],
    offset: usize,
    size: Option<usize>,
) -> Result<&[u8], PipeError> {
    let out = || PipeError::OutOfBounds {
        offset,
        size,
        len: buf.len(),
    };
    let end = match size {
        None => buf.len(),
        Some(size) => offset.checked_add(size).ok_or_else(out)?,
    };
    if offset > buf.len() || end > buf.len() {
        return Err(out());
    }
    Ok(&buf[offset..end])
}

/// The result of a `try_` form: its deadline was "now", and passing it means the call would
/// have had to wait ([`PipeError::WouldBlock`]), not that a timeout ran out.
pub(crate) fn without_waiting<T>(result: Result<T, PipeError>) -> Result<T, PipeError> {
    match result {
        Err(PipeError::Timeout) => Err(PipeError::WouldBlock),
        other => other,
    }
}

/// A deadline `timeout` from now (`None`, meaning no deadline, if that is beyond the clock).
pub(crate) fn deadline_in(timeout: Duration) -> Option<Instant> {
    Instant::now().checked_add(timeout)
}
