//! The result message a child sends its parent: one message on the result channel.
//!
//! Payload: one tag byte, then the tag's body: the encoded value (with the descriptors of its
//! handles on the message), or a UTF-8 text. A child of the fork server first sends a *hello*
//! with its pid, which the program reads when it starts the child (see `forkserver::client`);
//! the result message follows it. The message layer sends large values through a
//! memfd, so a child never waits for its parent to read and exits at once; the parent then
//! wakes only once per join, when the child has ended, and reads the message.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::Instant;

use serde::de::DeserializeOwned;

use super::entry::Outcome;
use crate::codec;
use crate::error::ProcessError;
use crate::sys::proc::ExitStatus;
use crate::wire::{self, WireError};

const RETURNED: u8 = 0;
const PANICKED: u8 = 1;
const BAD_ARGUMENTS: u8 = 2;
const BAD_RESULT: u8 = 3;
const HELLO: u8 = 4;
const REFUSED: u8 = 5;

/// Says this child's pid on its result socket (a fork server's child does so first thing).
pub(crate) fn send_hello(sock: BorrowedFd<'_>, pid: libc::pid_t) -> Result<(), WireError> {
    wire::send(sock, &[&[HELLO], &pid.to_le_bytes()], &[], None)
}

/// Says, in place of a child that could not be forked, why (the fork server does).
pub(crate) fn send_refused(sock: BorrowedFd<'_>, reason: &str) -> Result<(), WireError> {
    wire::send(sock, &[&[REFUSED], reason.as_bytes()], &[], None)
}

/// The first message on a fork server child's result socket.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Greeting {
    /// The child runs, with this pid.
    Hello(libc::pid_t),
    /// The server did not fork it, for this reason.
    Refused(String),
    /// Anything else.
    Other,
}

/// Reads a [`Greeting`].
pub(crate) fn parse_greeting(payload: &[u8]) -> Greeting {
    match payload.split_first() {
        Some((&HELLO, pid)) => pid.try_into().map_or(Greeting::Other, |pid| {
            Greeting::Hello(libc::pid_t::from_le_bytes(pid))
        }),
        Some((&REFUSED, reason)) => Greeting::Refused(String::from_utf8_lossy(reason).into_owned()),
        _ => Greeting::Other,
    }
}

/// Sends `outcome` to the parent; never waits for the parent to read.
pub(crate) fn send(sock: BorrowedFd<'_>, outcome: &Outcome) -> Result<(), WireError> {
    let (tag, body): (u8, &[u8]) = match outcome {
        Outcome::Returned(enc) => (RETURNED, &enc.bytes),
        Outcome::Panicked(m) => (PANICKED, m.as_bytes()),
        Outcome::BadArguments(m) => (BAD_ARGUMENTS, m.as_bytes()),
        Outcome::BadResult(m) => (BAD_RESULT, m.as_bytes()),
    };
    let fds: Vec<BorrowedFd<'_>> = match outcome {
        Outcome::Returned(enc) => enc.fds.iter().map(AsFd::as_fd).collect(),
        _ => Vec::new(),
    };
    wire::send(sock, &[&[tag], body], &fds, None)
}

/// After the child ended: reads its result message (if it sent one) and turns it and the exit
/// status into `join`'s result.
pub(crate) fn receive<R: DeserializeOwned>(
    sock: BorrowedFd<'_>,
    status: ExitStatus,
) -> Result<R, ProcessError> {
    // Everything the child sent before it ended is in the socket now: never wait.
    match wire::recv(sock, u64::MAX, Some(Instant::now()), |payload, fds| {
        interpret(&payload, fds)
    }) {
        Ok(result) => result,
        // No result: the exit status tells what happened.
        Err(WireError::Eof | WireError::Timeout) => Err(match status {
            ExitStatus::Code(code) => ProcessError::Exited { code },
            ExitStatus::Signaled(signal) => ProcessError::Killed { signal },
        }),
        Err(e) => Err(ProcessError::Corrupted(e.to_string())),
    }
}

fn interpret<R: DeserializeOwned>(payload: &[u8], fds: Vec<OwnedFd>) -> Result<R, ProcessError> {
    let Some((&tag, body)) = payload.split_first() else {
        return Err(ProcessError::Corrupted("empty result message".into()));
    };
    let text = || String::from_utf8_lossy(body).into_owned();
    match tag {
        RETURNED => codec::decode(body, fds).map_err(ProcessError::DecodeResult),
        PANICKED => Err(ProcessError::Panicked { message: text() }),
        BAD_ARGUMENTS => Err(ProcessError::Bootstrap { message: text() }),
        BAD_RESULT => Err(ProcessError::EncodeResult { message: text() }),
        other => Err(ProcessError::Corrupted(format!(
            "unknown result tag {other}"
        ))),
    }
}
