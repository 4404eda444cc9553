//! Issue #15, finding 7: what a pipe end does with records a hostile or buggy peer writes on
//! its socket by hand (bypassing mproc's sender).
//!
//! - A zero-length record is not the end of the stream.

#![allow(
    clippy::needless_pass_by_value,
    reason = "`#[process]` functions receive their arguments by value, deserialized"
)]

use std::io::IoSlice;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

use integration_tests::sync_support::LIMIT;
use mproc::{Pipe, PipeError};
use nix::sys::socket::{ControlMessage, MsgFlags, sendmsg};

/// The record kinds mproc's wire format uses (see `runtime/src/wire/mod.rs`).
const INLINE: u8 = 0x01;

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
