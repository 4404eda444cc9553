//! The result message a child sends its parent: one message on the result channel.
//!
//! Payload: one tag byte, then the tag's body: the encoded value (with the descriptors of its
//! handles on the message), or a UTF-8 text. The message layer sends large values through a
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
