//! Reading frames.

use std::collections::VecDeque;
use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::time::Instant;

use super::{Frame, WireError, parse_header};
use crate::sys::{self, fd::Interest, socket::MAX_FDS_PER_MESSAGE};

/// How much the reader asks the socket for at a time, and the most a payload buffer grows
/// ahead of the bytes that actually arrived.
const CHUNK: usize = 64 * 1024;

/// Reassembles frames from a stream socket; keeps partial frames across calls, so a read that
/// times out loses nothing.
#[derive(Debug)]
pub(crate) struct FrameReader {
    /// Receive buffer (allocated once); unconsumed bytes are `buf[start..end]`.
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    /// Descriptors received but not yet handed to a frame, in arrival order.
    fds: VecDeque<OwnedFd>,
    /// The frame whose payload is being read, once its header was parsed.
    pending: Option<Pending>,
    /// Bytes of an oversized frame still to discard.
    skipping: u64,
    eof: bool,
    max_len: u64,
    /// Size of `buf` once allocated.
    chunk: usize,
}

#[derive(Debug)]
struct Pending {
    len: usize,
    payload: Vec<u8>,
    fds: Vec<OwnedFd>,
}

impl FrameReader {
    /// A reader that refuses (skips) frames longer than `max_len` bytes.
    pub(crate) fn new(max_len: u64) -> Self {
        Self::with_buffer(max_len, CHUNK)
    }

    /// Like [`FrameReader::new`] with a receive buffer of `chunk` bytes (a one-shot reader of a
    /// short message does not need 64 KiB).
    pub(crate) fn with_buffer(max_len: u64, chunk: usize) -> Self {
        Self {
            chunk: chunk.max(64),
            buf: Box::default(),
            start: 0,
            end: 0,
            fds: VecDeque::new(),
            pending: None,
            skipping: 0,
            eof: false,
            max_len,
        }
    }

    /// `true` if a frame has begun arriving but is not complete (or buffered bytes wait).
    pub(crate) fn has_partial(&self) -> bool {
        self.pending.is_some() || self.start < self.end
    }

    /// Reads one frame, waiting until `deadline` (`None`: forever).
    ///
    /// # Errors
    /// See [`WireError`]. After `Timeout` and `TooLarge` the reader can be used again.
    pub(crate) fn read(
        &mut self,
        sock: BorrowedFd<'_>,
        deadline: Option<Instant>,
    ) -> Result<Frame, WireError> {
        loop {
            if let Some(frame) = self.try_read(sock)? {
                return Ok(frame);
            }
            if sys::fd::poll([Interest::read(sock)], deadline)?.is_none() {
                return Err(WireError::Timeout);
            }
        }
    }

    /// Reads whatever the socket has without blocking; returns a frame if one is complete.
    ///
    /// # Errors
    /// As [`FrameReader::read`], except it never times out.
    pub(crate) fn try_read(&mut self, sock: BorrowedFd<'_>) -> Result<Option<Frame>, WireError> {
        loop {
            if let Some(frame) = self.parse()? {
                return Ok(Some(frame));
            }
            if self.eof {
                return Err(if self.has_partial() || self.skipping > 0 {
                    WireError::Truncated
                } else {
                    WireError::Eof
                });
            }
            if !self.fill(sock)? {
                return Ok(None);
            }
        }
    }

    /// Makes progress from buffered bytes only.
    fn parse(&mut self) -> Result<Option<Frame>, WireError> {
        if !self.discard_skipped() {
            return Ok(None);
        }
        if self.pending.is_none() {
            let Some((len, nfds, head)) = parse_header(&self.buf[self.start..self.end]) else {
                return Ok(None);
            };
            if usize::from(nfds) > MAX_FDS_PER_MESSAGE {
                return Err(WireError::Corrupt(
                    "header declares more than 253 descriptors",
                ));
            }
            if usize::from(nfds) > self.fds.len() {
                return Err(WireError::Corrupt(
                    "descriptors declared by the header did not arrive",
                ));
            }
            self.start += head;
            let fds: Vec<OwnedFd> = self.fds.drain(..usize::from(nfds)).collect();
            match usize::try_from(len) {
                Ok(len) if len as u64 <= self.max_len => {
                    let initial = len.min(CHUNK);
                    self.pending = Some(Pending {
                        len,
                        payload: Vec::with_capacity(initial),
                        fds,
                    });
                }
                _ => {
                    // Descriptors of a refused frame are closed with it.
                    drop(fds);
                    self.skipping = len;
                    self.discard_skipped();
                    return Err(WireError::TooLarge {
                        len,
                        max: self.max_len,
                    });
                }
            }
        }
        let pending = self.pending.as_mut().expect("invariant: pending set above");
        let want = pending.len - pending.payload.len();
        let take = want.min(self.end - self.start);
        pending
            .payload
            .extend_from_slice(&self.buf[self.start..self.start + take]);
        self.start += take;
        if pending.payload.len() < pending.len {
            return Ok(None);
        }
        let done = self.pending.take().expect("invariant: pending set above");
        Ok(Some(Frame {
            payload: done.payload,
            fds: done.fds,
        }))
    }

    /// Drops buffered bytes of a refused frame; `true` once none remain to skip.
    fn discard_skipped(&mut self) -> bool {
        let avail = self.end - self.start;
        let n = usize::try_from(self.skipping).map_or(avail, |s| s.min(avail));
        self.start += n;
        self.skipping -= n as u64;
        self.skipping == 0
    }

    /// One non-blocking receive. Returns `false` when the socket had nothing.
    fn fill(&mut self, sock: BorrowedFd<'_>) -> Result<bool, WireError> {
        // A large payload in progress is read straight into its own buffer (one copy).
        if let Some(p) = self
            .pending
            .as_mut()
            .filter(|p| p.len - p.payload.len() >= CHUNK)
        {
            let have = p.payload.len();
            let grow = (p.len - have).min(have.max(CHUNK));
            p.payload.resize(have + grow, 0);
            let got = recv(sock, &mut p.payload[have..], &mut self.fds);
            p.payload.truncate(have + *got.as_ref().unwrap_or(&0));
            return self.after_recv(got);
        }
        if self.buf.is_empty() {
            self.buf = vec![0; self.chunk].into_boxed_slice();
        }
        // Keep at most a partial header (< 13 bytes) at the front; everything else was consumed.
        self.buf.copy_within(self.start..self.end, 0);
        self.end -= self.start;
        self.start = 0;
        let end = self.end;
        let got = recv(sock, &mut self.buf[end..], &mut self.fds);
        self.end += *got.as_ref().unwrap_or(&0);
        self.after_recv(got)
    }

    fn after_recv(&mut self, got: io::Result<usize>) -> Result<bool, WireError> {
        match got {
            Ok(0) => {
                self.eof = true;
                Ok(true)
            }
            Ok(_) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(false),
            Err(e) if e.kind() == io::ErrorKind::InvalidData => Err(WireError::Corrupt(
                "descriptor list truncated by the kernel",
            )),
            Err(e) if e.raw_os_error() == Some(libc::ECONNRESET) => {
                self.eof = true;
                Ok(true)
            }
            Err(e) => Err(WireError::Io(e)),
        }
    }
}

fn recv(sock: BorrowedFd<'_>, buf: &mut [u8], fds: &mut VecDeque<OwnedFd>) -> io::Result<usize> {
    let mut got = Vec::new();
    let n = sys::socket::recv(sock, buf, &mut got, true);
    fds.extend(got);
    n
}
