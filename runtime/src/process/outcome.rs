//! The result message a child sends its parent: one frame on the result channel.
//!
//! Payload: one tag byte, then the tag's body. A value is sent inline when its frame certainly
//! fits in an empty socket buffer, so the child never blocks writing it and can exit at once;
//! the parent then needs to wake only once, when the child has ended (a second wake-up for the
//! result would cost a cross-CPU wake, ~80 µs on a 2-vCPU machine). A larger value is written to
//! a memfd whose descriptor travels in a small frame instead.
//!
//! Descriptors of handles inside a value ride on the frame; for `RETURNED_IN_MEMFD` the first
//! descriptor is the memfd.

use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::FileExt;

use serde::de::DeserializeOwned;

use super::entry::Outcome;
use crate::codec;
use crate::error::ProcessError;
use crate::sys::{self, proc::ExitStatus};
use crate::wire::{self, Frame, WireError};

const RETURNED: u8 = 0;
const PANICKED: u8 = 1;
const BAD_ARGUMENTS: u8 = 2;
const BAD_RESULT: u8 = 3;
const RETURNED_IN_MEMFD: u8 = 4;

/// The largest value sent inline. An empty Unix stream socket accepts far more (the default
/// send buffer is ~200 KiB), so an inline frame never blocks.
const INLINE_MAX: usize = 64 * 1024;

/// Sends `outcome` to the parent without ever waiting for the parent to read.
pub(crate) fn send(sock: BorrowedFd<'_>, outcome: &Outcome) -> Result<(), WireError> {
    let (tag, body): (u8, &[u8]) = match outcome {
        Outcome::Returned(enc) if enc.bytes.len() <= INLINE_MAX => (RETURNED, &enc.bytes),
        Outcome::Returned(enc) => {
            let memfd = spill(&enc.bytes)?;
            let mut fds = vec![memfd.as_fd()];
            fds.extend(enc.fds.iter().map(AsFd::as_fd));
            return wire::write_frame(sock, &[&[RETURNED_IN_MEMFD]], &fds, None);
        }
        Outcome::Panicked(m) => (PANICKED, m.as_bytes()),
        Outcome::BadArguments(m) => (BAD_ARGUMENTS, m.as_bytes()),
        Outcome::BadResult(m) => (BAD_RESULT, m.as_bytes()),
    };
    let fds: Vec<BorrowedFd<'_>> = match outcome {
        Outcome::Returned(enc) => enc.fds.iter().map(AsFd::as_fd).collect(),
        _ => Vec::new(),
    };
    wire::write_frame(sock, &[&[tag], body], &fds, None)
}

/// Writes `bytes` to a new memfd.
fn spill(bytes: &[u8]) -> Result<OwnedFd, WireError> {
    let fd = sys::fd::memfd(c"mproc-result")?;
    let mut file = std::fs::File::from(fd);
    file.write_all(bytes)?;
    Ok(file.into())
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
        RETURNED_IN_MEMFD => {
            let mut fds = frame.fds.into_iter();
            let memfd = fds
                .next()
                .ok_or_else(|| corrupted("result memfd missing"))?;
            let bytes = unspill(memfd)?;
            codec::decode(&bytes, fds.collect()).map_err(ProcessError::DecodeResult)
        }
        PANICKED => Err(ProcessError::Panicked { message: text() }),
        BAD_ARGUMENTS => Err(ProcessError::Bootstrap { message: text() }),
        BAD_RESULT => Err(ProcessError::EncodeResult { message: text() }),
        other => Err(corrupted(&format!("unknown result tag {other}"))),
    }
}

/// Reads a result memfd whole (its size is what the child wrote).
fn unspill(memfd: OwnedFd) -> Result<Vec<u8>, ProcessError> {
    let file = std::fs::File::from(memfd);
    let len = file
        .metadata()
        .map_err(ProcessError::os("fstat of the result memfd"))?
        .len();
    let len = usize::try_from(len).map_err(|_| corrupted("result memfd too large"))?;
    let mut bytes = vec![0; len];
    file.read_exact_at(&mut bytes, 0)
        .map_err(ProcessError::os("reading the result memfd"))?;
    Ok(bytes)
}

fn corrupted(what: &str) -> ProcessError {
    ProcessError::Corrupted(what.to_owned())
}
