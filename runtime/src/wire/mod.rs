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
//! Descriptors of handles inside the payload follow (after the memfd, if any). A record must
//! fit the sender's socket buffer, so payloads of up to [`INLINE_MAX`] travel inline only on
//! sockets given a large buffer ([`room_for_large_records`]) on systems that allow one
//! (`net.core.wmem_max`); otherwise, and above that size, they go in a memfd. Inline is about
//! twice as fast for large payloads (two copies, no page-cache pages to allocate and free).
//!
//! The receiver never trusts a length. It receives into a buffer of at most
//! `min(max_len, INLINE_MAX) + 1` bytes, whose size does not depend on what was sent: a longer
//! inline record is cut short by the kernel and refused with its true length, and a memfd's
//! size is checked against the receiver's maximum, against the declared length (with the memfd
//! sealed against resizing and writing) and against the pages it really has (a sparse memfd
//! costs its sender nothing and is refused) before any byte is read or allocated. So what a
//! receiver allocates is bounded by what a sender really sent, never by what it declared.
//!
//! A zero-length record is not the end of the stream: mproc never sends one (every record
//! starts with its kind), so one from a foreign peer is [`WireError::Malformed`] and the
//! socket stays usable. The end of the stream is the peer's close with nothing left queued
//! (see `sys::socket::at_end_of_stream`).

use std::cell::RefCell;
use std::io::{self, IoSlice};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::fs::FileExt;
use std::time::Instant;

use crate::sys::fork_hook::ForkHook;
use crate::sys::{self, fd::Interest, socket::MAX_FDS_PER_MESSAGE};

/// The largest payload sent inline (when the socket's send buffer takes it: see
/// [`room_for_large_records`]; otherwise it goes in a memfd).
pub(crate) const INLINE_MAX: usize = 1 << 20;

/// The longest record mproc sends: an inline payload of [`INLINE_MAX`] bytes and its kind.
const RECORD_MAX: usize = INLINE_MAX + 1;

/// The send buffer asked for by [`room_for_large_records`]. The kernel doubles the request
/// (capped at `net.core.wmem_max`) and takes a record of up to that size minus a few bytes.
const LARGE_SEND_BUFFER: usize = 4 << 20;

/// Lets `sock` send records of up to [`RECORD_MAX`] bytes inline, several at a time, if the
/// system allows a send buffer that large; best effort (records that do not fit go in a memfd).
pub(crate) fn room_for_large_records(sock: BorrowedFd<'_>) {
    sys::socket::grow_send_buffer(sock, LARGE_SEND_BUFFER);
}

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
            // The socket's buffer is smaller than this record, or the kernel found no memory
            // for it in one piece: use a memfd after all.
            Err(WireError::Io(e))
                if matches!(
                    e.raw_os_error(),
                    Some(libc::EMSGSIZE | libc::ENOBUFS | libc::ENOMEM)
                ) => {}
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
    // Most records carry no descriptor: then the table is not even zero-filled (1 KiB).
    let mut table;
    let raw: &[RawFd] = if memfd.is_none() && fds.is_empty() {
        &[]
    } else {
        table = [0 as RawFd; MAX_FDS_PER_MESSAGE];
        let mut n = 0;
        for fd in memfd.iter().chain(fds) {
            table[n] = fd.as_raw_fd();
            n += 1;
        }
        &table[..n]
    };
    loop {
        match sys::socket::send(sock, iov, raw, true) {
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
    /// Each thread's receive buffer: one record at most. Its capacity is kept between
    /// messages and never zero-filled (the kernel writes into it).
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

/// The most record bytes worth receiving for a maximum payload of `max_len`: a longer record
/// is cut short by the kernel and refused, so nothing beyond the maximum is ever copied, and
/// the buffer never grows past [`RECORD_MAX`] whatever a sender claims.
fn room_for(max_len: u64) -> usize {
    usize::try_from(max_len)
        .map_or(RECORD_MAX, |max| max.saturating_add(1))
        .clamp(MEMFD_HEADER, RECORD_MAX)
}

fn recv_into<T>(
    sock: BorrowedFd<'_>,
    scratch: &mut Vec<u8>,
    max_len: u64,
    deadline: Option<Instant>,
    with: impl FnOnce(Payload<'_>, Vec<OwnedFd>) -> T,
) -> Result<T, WireError> {
    let room = room_for(max_len);
    let mut fds = Vec::new();
    let got = wait_for(sock, deadline, |nonblocking| {
        sys::socket::recv_to_vec(sock, scratch, room, &mut fds, nonblocking)
    })?;
    if got.len == 0 {
        return Err(empty_record(sock)?);
    }
    let record = &scratch[..];
    if got.truncated {
        return Err(match record[0] {
            _ if got.len > RECORD_MAX => {
                WireError::Malformed("record longer than any mproc record")
            }
            INLINE => WireError::TooLarge {
                len: got.len as u64 - 1,
                max: max_len,
            },
            IN_MEMFD => WireError::Malformed("memfd record of the wrong length"),
            _ => WireError::Malformed("unknown record kind"),
        });
    }
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

/// What a receive of 0 bytes means: [`WireError::Eof`] when the peer has closed and nothing is
/// left, else a zero-length record, which mproc never sends (every record starts with its
/// kind): [`WireError::Malformed`], taken off the socket like any malformed record. Telling
/// them apart costs a `poll` and an `ioctl`, only on this path.
fn empty_record(sock: BorrowedFd<'_>) -> Result<WireError, WireError> {
    Ok(if sys::socket::at_end_of_stream(sock)? {
        WireError::Eof
    } else {
        WireError::Malformed("zero-length record")
    })
}

/// Reads a received memfd after checking its seals, its size and the receiver's maximum.
///
/// Nothing here is sized by what the record declares. The memfd's real size (`fstat`) must
/// equal the declared length, and its pages must really exist: a sealed memfd can be made
/// sparse for free (`ftruncate` alone makes it 1 GiB of holes that read as zeros), and copying
/// that would make the receiver allocate a size the sender chose without paying for it. So
/// the file's allocated blocks must cover its size, and the receiver's copy never exceeds
/// memory the sender already committed. The seals (no write, no resize) keep size and pages
/// as checked while they are read: holes cannot be punched into a write-sealed memfd.
fn unspill(memfd: OwnedFd, declared: u64, max_len: u64) -> Result<Vec<u8>, WireError> {
    use std::io::Read;
    use std::os::unix::fs::MetadataExt;
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
    let meta = file
        .metadata()
        .map_err(|_| WireError::Malformed("payload memfd cannot be examined"))?;
    if meta.len() != declared {
        return Err(WireError::Malformed(
            "payload memfd size differs from the record",
        ));
    }
    // `st_blocks` counts 512-byte units of pages the file really has (swapped-out ones too).
    if meta.blocks().saturating_mul(512) < declared {
        return Err(WireError::Malformed(
            "payload memfd has holes (its size was never written)",
        ));
    }
    let len = usize::try_from(declared).map_err(|_| WireError::TooLarge {
        len: declared,
        max: max_len,
    })?;
    // The checked size is memory the sender committed: read into spare capacity of exactly
    // that (no zero-filling, no growth). The sender wrote with `pwrite`, so the offset is 0; a
    // sender that moved it gets the error below.
    let mut payload = Vec::with_capacity(len);
    (&file)
        .take(declared)
        .read_to_end(&mut payload)
        .map_err(|_| WireError::Malformed("payload memfd cannot be read"))?;
    if payload.len() != len {
        return Err(WireError::Malformed(
            "payload memfd shorter than the record",
        ));
    }
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
        // The end of the stream, or a zero-length record (which its receive reports).
        (0, _) => match empty_record(sock)? {
            WireError::Eof => Err(WireError::Eof),
            _ => Ok(0),
        },
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
        (0, _) => match empty_record(sock)? {
            WireError::Eof => Err(WireError::Eof),
            _ => Ok(None),
        },
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

/// Makes this module's lazily computed state before a fork, so a child never finds it half
/// made by another thread.
pub(crate) static FORK_HOOK: ForkHook = ForkHook {
    guards: &[concat!(module_path!(), "::MAY_SPIN")],
    prepare: || {
        let _ = may_spin();
        Ok(None)
    },
};

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

#[cfg(all(test, not(loom)))]
mod proptests;
#[cfg(test)]
mod tests;
