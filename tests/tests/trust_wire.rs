//! Issue #15, findings 6 and 7, and #23: what a pipe end does with records a hostile or
//! buggy peer writes on its socket by hand (bypassing mproc's sender).
//!
//! - A record pointing at a memfd never makes the receiver allocate the size the record (or
//!   the memfd's nominal size) declares: a sparse 1 GiB memfd costs the receiver no more than
//!   a few MiB, measured in a child process by its peak resident set.
//! - A zero-length record is not the end of the stream.
//! - A memfd message of exactly the receiver's maximum is accepted.

#![allow(
    clippy::needless_pass_by_value,
    reason = "`#[process]` functions receive their arguments by value, deserialized"
)]

use std::io::IoSlice;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use integration_tests::sync_support::LIMIT;
use mproc::pipe::Connection;
use mproc::prelude::*;
use mproc::{Pipe, PipeError};
use nix::sys::socket::{ControlMessage, MsgFlags, sendmsg};

const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

/// The record kinds mproc's wire format uses (see `runtime/src/wire/mod.rs`).
const INLINE: u8 = 0x01;
const IN_MEMFD: u8 = 0x02;

/// Sends one hand-made record with `fds` attached, as a raw peer would.
fn raw_record(sock: BorrowedFd<'_>, bytes: &[u8], fds: &[BorrowedFd<'_>]) {
    let raw: Vec<i32> = fds.iter().map(AsRawFd::as_raw_fd).collect();
    let cmsg = [ControlMessage::ScmRights(&raw)];
    let cmsgs: &[ControlMessage<'_>] = if raw.is_empty() { &[] } else { &cmsg };
    let sent = sendmsg::<()>(
        sock.as_raw_fd(),
        &[IoSlice::new(bytes)],
        cmsgs,
        MsgFlags::MSG_DONTWAIT,
        None,
    )
    .unwrap();
    assert_eq!(sent, bytes.len());
}

/// A memfd record's bytes: the kind and the declared length.
fn memfd_header(declared: u64) -> [u8; 9] {
    let mut h = [0u8; 9];
    h[0] = IN_MEMFD;
    h[1..].copy_from_slice(&declared.to_be_bytes());
    h
}

/// A sealable memfd of nominal size `size` holding `data` at its start (the rest a hole),
/// sealed as mproc seals its own when `seal`.
fn memfd(size: u64, data: &[u8], seal: bool) -> OwnedFd {
    use nix::sys::memfd::{MFdFlags, memfd_create};
    let fd = memfd_create(
        c"hostile",
        MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING,
    )
    .unwrap();
    let file = std::fs::File::from(fd);
    file.set_len(size).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&file, data, 0).unwrap();
    let fd = OwnedFd::from(file);
    if seal {
        let all = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
        // Sealing against writes can meet just-written pages still held by the kernel
        // (EBUSY, see `sys::fd::seal_memfd`): a bounded number of tries.
        let sealed = (0..100).any(|_| {
            // SAFETY: `fd` is open; F_ADD_SEALS only changes its seal set.
            let ret = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, all) };
            ret == 0 || {
                std::thread::yield_now();
                false
            }
        });
        assert!(sealed, "{}", std::io::Error::last_os_error());
    }
    fd
}

/// A field of `/proc/self/status`, in KiB.
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"));
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// What the receiving child saw: the outcome of each receive (the payload's length or the
/// error's text) and how far its peak resident set rose above its resident set before.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Received {
    outcomes: Vec<Result<u64, String>>,
    peak_growth_kib: u64,
}

/// Receives `count` messages as bytes on `conn` (each bounded by `LIMIT`) and measures the
/// peak resident set meanwhile.
#[process]
fn receive_and_measure(conn: Connection<()>, count: usize, ready: Event) -> Received {
    // Writing 5 to clear_refs resets the peak (VmHWM) to the current resident set.
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
    let before = status_kib("VmRSS:");
    ready.set();
    let outcomes = (0..count)
        .map(|_| match conn.recv_bytes_timeout(LIMIT) {
            Ok(bytes) => Ok(bytes.len() as u64),
            Err(e) => Err(e.to_string()),
        })
        .collect();
    Received {
        outcomes,
        peak_growth_kib: status_kib("VmHWM:").saturating_sub(before),
    }
}

#[test]
fn a_sparse_gigabyte_memfd_costs_the_receiver_nothing() {
    let (here, there) = Pipe::<()>::new().unwrap();
    assert_eq!(
        there.max_message_len(),
        GIB,
        "the record declares the maximum"
    );
    let ready = Event::new().unwrap();
    let child = receive_and_measure::spawn(there, 3, ready.clone()).unwrap();
    assert!(ready.wait_timeout(LIMIT).is_ok());
    let sock = here.as_fd();
    // A sparse, sealed 1 GiB memfd declaring its full nominal size.
    let sparse = memfd(GIB, b"", true);
    raw_record(sock, &memfd_header(GIB), &[sparse.as_fd()]);
    // Mostly a hole behind 4 KiB of data, declaring its full nominal size.
    let holey = memfd(GIB, &[7u8; 4096], true);
    raw_record(sock, &memfd_header(GIB), &[holey.as_fd()]);
    // Then a genuine message: the end stays usable.
    here.send_bytes(b"still here").unwrap();
    let got = child.join_timeout(LIMIT).unwrap();
    assert_eq!(got.outcomes.len(), 3);
    for sparse in &got.outcomes[..2] {
        let refused = sparse.as_ref().err();
        assert!(refused.is_some_and(|e| e.contains("holes")), "{got:?}");
    }
    assert_eq!(got.outcomes[2], Ok(10), "{got:?}");
    assert!(
        got.peak_growth_kib < 8 * 1024,
        "the receiver's peak resident set grew by {} KiB",
        got.peak_growth_kib
    );
}

/// Receives on `b` with a bound, returning the payload or the error.
fn recv(b: &Connection<()>) -> Result<Vec<u8>, PipeError> {
    b.recv_bytes_timeout(LIMIT)
}

#[test]
fn a_memfd_record_must_agree_with_its_memfd() {
    let (a, b) = Pipe::<()>::new().unwrap();
    let sock = a.as_fd();
    // Declares less than the memfd holds.
    let m = memfd(4096, &[1u8; 4096], true);
    raw_record(sock, &memfd_header(10), &[m.as_fd()]);
    assert!(matches!(recv(&b), Err(PipeError::Malformed(_))));
    // Declares more than the memfd holds (within the maximum).
    let m = memfd(10, &[1u8; 10], true);
    raw_record(sock, &memfd_header(GIB), &[m.as_fd()]);
    assert!(matches!(recv(&b), Err(PipeError::Malformed(_))));
    // Not sealed: it could change while being read.
    let m = memfd(10, &[1u8; 10], false);
    raw_record(sock, &memfd_header(10), &[m.as_fd()]);
    assert!(matches!(recv(&b), Err(PipeError::Malformed(_))));
    // Declares more than the receiver's maximum.
    let m = memfd(10, &[1u8; 10], true);
    raw_record(sock, &memfd_header(GIB + 1), &[m.as_fd()]);
    assert!(matches!(recv(&b), Err(PipeError::TooLarge { .. })));
    // No memfd at all, or something else in its place.
    raw_record(sock, &memfd_header(10), &[]);
    assert!(matches!(recv(&b), Err(PipeError::Malformed(_))));
    let devzero = std::fs::File::open("/dev/zero").unwrap();
    raw_record(sock, &memfd_header(10), &[devzero.as_fd()]);
    assert!(matches!(recv(&b), Err(PipeError::Malformed(_))));
    // A well-formed hand-made record is the real data.
    let m = memfd(5, b"hello", true);
    raw_record(sock, &memfd_header(5), &[m.as_fd()]);
    assert_eq!(recv(&b).unwrap(), b"hello");
}

#[test]
fn a_zero_length_record_is_not_the_end_of_the_stream() {
    let (a, b) = Pipe::<String>::new().unwrap();
    raw_record(a.as_fd(), b"", &[]);
    a.send(&"next".to_owned()).unwrap();
    let first = b.recv_timeout(LIMIT);
    assert!(
        !matches!(first, Err(PipeError::Eof)),
        "an empty record read as the end of the stream"
    );
    let second = match first {
        Ok(v) => v,
        Err(_) => b.recv_timeout(LIMIT).unwrap(),
    };
    assert_eq!(second, "next");

    // The iterator goes on past empty records; the peer's close still ends it (every message
    // is queued before the close, so nothing here can wait).
    raw_record(a.as_fd(), b"", &[]);
    a.send(&"one".to_owned()).unwrap();
    raw_record(a.as_fd(), b"", &[]);
    raw_record(a.as_fd(), b"", &[]);
    a.send(&"two".to_owned()).unwrap();
    raw_record(a.as_fd(), b"", &[]);
    drop(a);
    let got: Vec<String> = b.iter().filter_map(Result::ok).collect();
    assert_eq!(got, ["one", "two"]);
    assert!(matches!(b.recv_timeout(LIMIT), Err(PipeError::Eof)));
}

#[test]
fn a_zero_length_record_does_not_end_a_sized_or_peeked_receive() {
    let (a, b) = Pipe::<()>::new().unwrap();
    raw_record(a.as_fd(), b"", &[]);
    raw_record(a.as_fd(), &[INLINE, b'x'], &[]);
    let mut outcomes = Vec::new();
    for _ in 0..2 {
        let r = b.recv_bytes_max(16);
        let done = r.is_ok();
        outcomes.push(r);
        if done {
            break;
        }
    }
    assert!(
        !outcomes.iter().any(|r| matches!(r, Err(PipeError::Eof))),
        "{outcomes:?}"
    );
    assert_eq!(outcomes.last().unwrap().as_deref().ok(), Some(&b"x"[..]));
}

#[test]
fn a_memfd_message_of_exactly_the_maximum_is_accepted() {
    let (a, mut b) = Pipe::<()>::new().unwrap();
    let max = 3 * MIB / 2; // above what travels inline: it goes in a memfd
    b.set_max_message_len(max);
    let payload = vec![9u8; usize::try_from(max).unwrap()];
    a.send_bytes(&payload).unwrap();
    assert_eq!(
        recv(&b).map(|v| v.len() as u64).map_err(|e| e.to_string()),
        Ok(max)
    );
    // Hand-made, through the memfd path whatever the socket buffer.
    let m = memfd(max, &payload, true);
    raw_record(a.as_fd(), &memfd_header(max), &[m.as_fd()]);
    assert_eq!(
        recv(&b).map(|v| v.len() as u64).map_err(|e| e.to_string()),
        Ok(max)
    );
    // One byte more is refused.
    let m = memfd(max + 1, &[0u8; 1], true);
    raw_record(a.as_fd(), &memfd_header(max + 1), &[m.as_fd()]);
    assert!(matches!(recv(&b), Err(PipeError::TooLarge { .. })));
}
