//! Messages between processes on Unix `SOCK_SEQPACKET` sockets, with descriptors beside them.
//!
//! The kernel keeps message boundaries: one `sendmsg` is one message, one `recvmsg` takes
//! exactly one. That makes every message atomic, also when several processes send on, or
//! receive from, the same socket (Python's `Connection` interleaves bytes there), and a
//! process killed in the middle of a send cannot leave half a message behind.
//!
//! A message is a *record*, whose first byte says how the payload travels:
//!
//! ```text
//! 0x01 payload...                 inline: payloads of up to INLINE_MAX bytes
//! 0x02 u64 BE length              in a memfd: the first descriptor is a sealed memfd holding
//!                                 exactly `length` payload bytes
//! ```
//!
//! Descriptors of handles inside the payload follow (after the memfd, if any). Large payloads go
//! through a memfd because a socket buffer holds ~200 KiB at most; a memfd also moves a large
//! message with one wake-up of the receiver instead of one per buffer-full. The receiver never
//! trusts a length: an inline record cannot exceed its fixed receive buffer, and a memfd's size
//! is checked against the receiver's maximum (and against the declared length, with the memfd
//! sealed against resizing) before any byte is read or allocated.

use std::cell::RefCell;
use std::io::{self, IoSlice};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::fs::FileExt;
use std::time::Instant;

use crate::sys::{self, fd::Interest, socket::MAX_FDS_PER_MESSAGE};

/// The largest payload sent inline.
pub(crate) const INLINE_MAX: usize = 64 * 1024;

/// The most handle descriptors a message can carry (one slot is kept for the memfd).
pub(crate) const MAX_HANDLE_FDS: usize = MAX_FDS_PER_MESSAGE - 1;

const INLINE: u8 = 0x01;
const IN_MEMFD: u8 = 0x02;
const MEMFD_HEADER: usize = 1 + 8;

/// What can go wrong sending or receiving a message.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WireError {
    /// The peer closed its end and every message sent before was received.
    #[error("end of stream")]
    Eof,
    /// The deadline passed (nothing was sent or received; try again).
    #[error("timed out")]
    Timeout,
    /// A message longer than the receiver's maximum; it was discarded unread.
    #[error("message of {len} bytes exceeds the maximum of {max} bytes")]
    TooLarge { len: u64, max: u64 },
    /// A record that mproc does not send (unknown kind, bad length, missing memfd); it was
    /// discarded, the socket stays usable.
    #[error("malformed message: {0}")]
    Malformed(&'static str),
    /// More descriptors than one message can carry.
    #[error("more than {MAX_HANDLE_FDS} descriptors in one message")]
    TooManyFds,
    /// An OS error (for sends, `EPIPE` when the peer is gone).
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Sends one message made of `parts` (concatenated), with `fds` attached.
///
/// `deadline` bounds the wait for room in the socket (`None`: wait as long as it takes).
///
/// # Errors
/// [`WireError::Timeout`], [`WireError::TooManyFds`], or [`WireError::Io`] (`EPIPE` if the peer
/// is gone).
pub(crate) fn send(
    sock: BorrowedFd<'_>,
    parts: &[&[u8]],
    fds: &[BorrowedFd<'_>],
    deadline: Option<Instant>,
) -> Result<(), WireError> {
    if fds.len() > MAX_HANDLE_FDS {
        return Err(WireError::TooManyFds);
    }
    let total: usize = parts.iter().map(|p| p.len()).sum();
    if total <= INLINE_MAX && parts.len() < MAX_PARTS {
        let mut iov = [IoSlice::new(&[]); MAX_PARTS];
        iov[0] = IoSlice::new(&[INLINE]);
        for (slot, part) in iov[1..].iter_mut().zip(parts) {
            *slot = IoSlice::new(part);
        }
        match send_record(sock, &iov[..=parts.len()], fds, None, deadline) {
            // The socket's buffer is smaller than this record: use a memfd after all.
            Err(WireError::Io(e)) if e.raw_os_error() == Some(libc::EMSGSIZE) => {}
            other => return other,
        }
    }
    send_in_memfd(sock, parts, fds, deadline)
}

/// Like [`send`], with the payload in a memfd whatever its size: the message itself stays a
/// few bytes, so a socket buffer holds many of them.
///
/// # Errors
/// As [`send`].
pub(crate) fn send_in_memfd(
    sock: BorrowedFd<'_>,
    parts: &[&[u8]],
    fds: &[BorrowedFd<'_>],
    deadline: Option<Instant>,
) -> Result<(), WireError> {
    if fds.len() > MAX_HANDLE_FDS {
        return Err(WireError::TooManyFds);
    }
    let total: usize = parts.iter().map(|p| p.len()).sum();
    let memfd = spill(parts, total)?;
    let mut header = [0u8; MEMFD_HEADER];
    header[0] = IN_MEMFD;
    header[1..].copy_from_slice(&(total as u64).to_be_bytes());
    send_record(
        sock,
        &[IoSlice::new(&header)],
        fds,
        Some(memfd.as_fd()),
        deadline,
    )
}

/// The most parts an inline message is gathered from (kind byte included).
const MAX_PARTS: usize = 5;

fn send_record(
    sock: BorrowedFd<'_>,
    iov: &[IoSlice<'_>],
    fds: &[BorrowedFd<'_>],
    memfd: Option<BorrowedFd<'_>>,
    deadline: Option<Instant>,
) -> Result<(), WireError> {
    let mut raw = [0 as RawFd; MAX_FDS_PER_MESSAGE];
    let mut n = 0;
    for fd in memfd.iter().chain(fds) {
        raw[n] = fd.as_raw_fd();
        n += 1;
    }
    loop {
        match sys::socket::send(sock, iov, &raw[..n], true) {
            Ok(_) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if sys::fd::poll([Interest::write(sock)], deadline)?.is_none() {
                    return Err(WireError::Timeout);
                }
            }
            Err(e) => return Err(WireError::Io(e)),
        }
    }
}

/// Writes the payload into a new memfd and seals it against any change.
fn spill(parts: &[&[u8]], total: usize) -> Result<OwnedFd, WireError> {
    let file = std::fs::File::from(sys::fd::sealable_memfd(c"mproc-message")?);
    file.set_len(total as u64)?;
    let mut at = 0u64;
    for part in parts {
        file.write_all_at(part, at)?;
        at += part.len() as u64;
    }
    let fd = OwnedFd::from(file);
    sys::fd::seal_memfd(fd.as_fd())?;
    Ok(fd)
}

/// A received message's payload: borrowed from the thread's receive buffer when it came
/// inline, owned when it came in a memfd.
pub(crate) enum Payload<'a> {
    Inline(&'a [u8]),
    Owned(Vec<u8>),
}

impl std::ops::Deref for Payload<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Payload::Inline(b) => b,
            Payload::Owned(v) => v,
        }
    }
}

impl Payload<'_> {
    /// The payload as an owned vector (a copy for inline payloads).
    pub(crate) fn into_vec(self) -> Vec<u8> {
        match self {
            Payload::Inline(b) => b.to_vec(),
            Payload::Owned(v) => v,
        }
    }
}

thread_local! {
    /// Each thread's receive buffer: one inline record at most.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Receives one message and hands its payload and descriptors to `with` (which runs while the
/// payload is borrowed from the thread's buffer, so an inline message is never copied).
///
/// `deadline` bounds the wait (`None`: wait as long as it takes). Messages longer than
/// `max_len` are discarded with [`WireError::TooLarge`]; the socket stays usable after every
/// error except `Io`.
///
/// # Errors
/// See [`WireError`].
pub(crate) fn recv<T>(
    sock: BorrowedFd<'_>,
    max_len: u64,
    deadline: Option<Instant>,
    with: impl FnOnce(Payload<'_>, Vec<OwnedFd>) -> T,
) -> Result<T, WireError> {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut scratch) => recv_into(sock, &mut scratch, max_len, deadline, with),
        // Re-entered from `with` on this thread: use a buffer of its own.
        Err(_) => recv_into(sock, &mut Vec::new(), max_len, deadline, with),
    })
}

fn recv_into<T>(
    sock: BorrowedFd<'_>,
    scratch: &mut Vec<u8>,
    max_len: u64,
    deadline: Option<Instant>,
    with: impl FnOnce(Payload<'_>, Vec<OwnedFd>) -> T,
) -> Result<T, WireError> {
    if scratch.len() < INLINE_MAX + 1 {
        scratch.resize(INLINE_MAX + 1, 0);
    }
    let mut fds = Vec::new();
    let got = wait_for(sock, deadline, |nonblocking| {
        sys::socket::recv(sock, scratch, &mut fds, nonblocking, false)
    })?;
    if got.len == 0 {
        return Err(WireError::Eof);
    }
    if got.truncated {
        return Err(WireError::Malformed("record longer than any mproc record"));
    }
    let record = &scratch[..got.len];
    match record[0] {
        INLINE => {
            let payload = &record[1..];
            if payload.len() as u64 > max_len {
                return Err(WireError::TooLarge {
                    len: payload.len() as u64,
                    max: max_len,
                });
            }
            Ok(with(Payload::Inline(payload), fds))
        }
        IN_MEMFD => {
            let declared: [u8; 8] = record[1..]
                .try_into()
                .map_err(|_| WireError::Malformed("memfd record of the wrong length"))?;
            let declared = u64::from_be_bytes(declared);
            if fds.is_empty() {
                return Err(WireError::Malformed("memfd record without its memfd"));
            }
            let memfd = fds.remove(0);
            let payload = unspill(memfd, declared, max_len)?;
            Ok(with(Payload::Owned(payload), fds))
        }
        _ => Err(WireError::Malformed("unknown record kind")),
    }
}

/// Reads a received memfd after checking its seals, its size and the receiver's maximum.
fn unspill(memfd: OwnedFd, declared: u64, max_len: u64) -> Result<Vec<u8>, WireError> {
    if declared > max_len {
        return Err(WireError::TooLarge {
            len: declared,
            max: max_len,
        });
    }
    if !sys::fd::memfd_is_sealed(memfd.as_fd()) {
        return Err(WireError::Malformed("payload memfd is not sealed"));
    }
    let file = std::fs::File::from(memfd);
    if file.metadata()?.len() != declared {
        return Err(WireError::Malformed(
            "payload memfd size differs from the record",
        ));
    }
    let len = usize::try_from(declared).map_err(|_| WireError::TooLarge {
        len: declared,
        max: max_len,
    })?;
    let mut payload = vec![0; len];
    file.read_exact_at(&mut payload, 0)?;
    Ok(payload)
}

/// The length of the next message without receiving it (`Eof` if the peer closed and nothing
/// is left). Another process sharing the socket may take that message first.
///
/// # Errors
/// [`WireError::Timeout`], [`WireError::Eof`], [`WireError::Malformed`] or an OS error.
pub(crate) fn peek_len(sock: BorrowedFd<'_>, deadline: Option<Instant>) -> Result<u64, WireError> {
    let mut head = [0u8; MEMFD_HEADER];
    let mut fds = Vec::new(); // peeked descriptors are duplicates; dropped here
    let got = wait_for(sock, deadline, |nonblocking| {
        sys::socket::recv(sock, &mut head, &mut fds, nonblocking, true)
    })?;
    match (got.len, head[0]) {
        (0, _) => Err(WireError::Eof),
        (n, INLINE) => Ok(n as u64 - 1),
        (MEMFD_HEADER, IN_MEMFD) => Ok(u64::from_be_bytes(
            head[1..].try_into().expect("invariant: 8 bytes"),
        )),
        _ => Err(WireError::Malformed("unknown record kind")),
    }
}

/// The first `N` payload bytes of the next message, without receiving it; `None` if no message
/// is waiting (or its payload is shorter). Does not wait.
///
/// # Errors
/// [`WireError::Eof`], [`WireError::Malformed`] or an OS error.
pub(crate) fn peek_prefix<const N: usize>(
    sock: BorrowedFd<'_>,
) -> Result<Option<[u8; N]>, WireError> {
    let mut head = vec![0u8; 1 + N.max(8)];
    let mut fds = Vec::new(); // peeked descriptors are duplicates, closed when dropped
    let got = match sys::socket::recv(sock, &mut head, &mut fds, true, true) {
        Ok(got) => got,
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
        Err(e) => return Err(WireError::Io(e)),
    };
    let mut out = [0u8; N];
    match (got.len, head[0]) {
        (0, _) => Err(WireError::Eof),
        (n, INLINE) if n > N => {
            out.copy_from_slice(&head[1..=N]);
            Ok(Some(out))
        }
        (_, INLINE) => Ok(None),
        (MEMFD_HEADER, IN_MEMFD) => {
            let Some(memfd) = fds.first() else {
                return Err(WireError::Malformed("memfd record without its memfd"));
            };
            let file = std::fs::File::from(memfd.try_clone()?);
            match file.read_exact_at(&mut out, 0) {
                Ok(()) => Ok(Some(out)),
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(None),
                Err(e) => Err(WireError::Io(e)),
            }
        }
        _ => Err(WireError::Malformed("unknown record kind")),
    }
}

/// Waits until the socket is readable or closed, without receiving (`Ok(false)` on timeout).
///
/// # Errors
/// An OS error from `poll`.
pub(crate) fn readable(sock: BorrowedFd<'_>, deadline: Option<Instant>) -> io::Result<bool> {
    Ok(sys::fd::poll([Interest::read(sock)], deadline)?.is_some())
}

/// How long a receiver keeps trying without sleeping before it blocks. A message that comes
/// back within this time (a request answered at once) is picked up without the cost of waking
/// a sleeping process on another CPU (tens of µs on a 2-vCPU machine: measured 40-50 µs round
/// trips become ~6 µs); a longer wait costs at most this much CPU.
const SPIN: std::time::Duration = std::time::Duration::from_micros(20);

/// Initializes the lazily computed state of this module (before a fork: see `process::fork`).
pub(crate) fn prepare_for_fork() {
    let _ = may_spin();
}

/// Spinning only helps when the sender can run meanwhile: never on a single CPU (where it
/// would delay the very process it waits for: measured 12 µs round trips became 50 µs).
pub(crate) fn may_spin() -> bool {
    static MAY_SPIN: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *MAY_SPIN.get_or_init(|| sys::proc::affinity_cpu_count() > 1)
}

/// Runs a receive: non-blocking attempts for up to [`SPIN`] (never past `deadline`), then one
/// blocking call without a deadline, else non-blocking calls with `poll` in between.
fn wait_for(
    sock: BorrowedFd<'_>,
    deadline: Option<Instant>,
    mut attempt: impl FnMut(bool) -> io::Result<sys::socket::Received>,
) -> Result<sys::socket::Received, WireError> {
    let spin_until = Instant::now()
        + if may_spin() {
            SPIN
        } else {
            std::time::Duration::ZERO
        };
    let spin_until = deadline.map_or(spin_until, |d| d.min(spin_until));
    loop {
        let spinning = Instant::now() < spin_until;
        match attempt(deadline.is_some() || spinning) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock && spinning => {
                std::hint::spin_loop();
            }
            Ok(got) => return Ok(got),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if !readable(sock, deadline)? {
                    return Err(WireError::Timeout);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                return Err(WireError::Malformed("descriptors truncated by the kernel"));
            }
            Err(e) if e.raw_os_error() == Some(libc::ECONNRESET) => return Err(WireError::Eof),
            Err(e) => return Err(WireError::Io(e)),
        }
    }
}

#[cfg(test)]
mod tests;
