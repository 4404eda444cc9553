//! The result message a child sends its parent: one frame on the result channel.
//!
//! Payload: one tag byte, then the tag's body. `RETURNED` carries the encoded value (with its
//! handle descriptors on the frame); the others carry a UTF-8 message.

use std::os::fd::{AsFd, BorrowedFd};

use serde::de::DeserializeOwned;

use super::entry::Outcome;
use crate::codec;
use crate::error::ProcessError;
use crate::sys::proc::ExitStatus;
use crate::wire::{self, Frame, WireError};

const RETURNED: u8 = 0;
const PANICKED: u8 = 1;
const BAD_ARGUMENTS: u8 = 2;
const BAD_RESULT: u8 = 3;

/// Sends `outcome` to the parent. A parent that went away is not an error worth reporting.
pub(crate) fn send(sock: BorrowedFd<'_>, outcome: &Outcome) -> Result<(), WireError> {
    let (tag, body, fds): (u8, &[u8], Vec<BorrowedFd<'_>>) = match outcome {
        Outcome::Returned(enc) => (
            RETURNED,
            &enc.bytes,
            enc.fds.iter().map(AsFd::as_fd).collect(),
        ),
        Outcome::Panicked(m) => (PANICKED, m.as_bytes(), Vec::new()),
        Outcome::BadArguments(m) => (BAD_ARGUMENTS, m.as_bytes(), Vec::new()),
        Outcome::BadResult(m) => (BAD_RESULT, m.as_bytes(), Vec::new()),
    };
    wire::write_frame(sock, &[&[tag], body], &fds, None)
}

/// Turns what the parent received (maybe nothing) and the exit status into `join`'s result.
pub(crate) fn interpret<R: DeserializeOwned>(
    frame: Option<Frame>,
    status: ExitStatus,
) -> Result<R, ProcessError> {
    let Some(frame) = frame else {
        return Err(match status {
            ExitStatus::Code(code) => ProcessError::Exited { code },
            ExitStatus::Signaled(signal) => ProcessError::Killed { signal },
        });
    };
    let Some((&tag, body)) = frame.payload.split_first() else {
        return Err(ProcessError::Corrupted("empty result message".into()));
    };
    let text = || String::from_utf8_lossy(body).into_owned();
    match tag {
        RETURNED => codec::decode(body, frame.fds).map_err(ProcessError::DecodeResult),
        PANICKED => Err(ProcessError::Panicked { message: text() }),
        BAD_ARGUMENTS => Err(ProcessError::Bootstrap { message: text() }),
        BAD_RESULT => Err(ProcessError::EncodeResult { message: text() }),
        other => Err(ProcessError::Corrupted(format!(
            "unknown result tag {other}"
        ))),
    }
}
