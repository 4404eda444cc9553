//! The result message a child sends its parent: one message on its result socket, or in its
//! result slot (see [`crate::process::parent::slot`]).
//!
//! Payload: one tag byte, then the tag's body: the encoded value (with the descriptors of its
//! handles on the message), or a UTF-8 text. A child of the fork server first sends a *hello*
//! with its pid, which the program reads when it starts the child (see `forkserver::client`);
//! the result message follows it. The message layer sends large values through a
//! memfd, so a child never waits for its parent to read and exits at once; the parent then
//! wakes only once per join, when the child has ended, and reads the message.

use std::borrow::Cow;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::Arc;
use std::time::Instant;

use serde::de::DeserializeOwned;

use crate::codec;
use crate::process::child::entry::Outcome;
use crate::process::panic::PanicReport;
use crate::process::parent::overflow;
use crate::process::parent::slot::{self, Filled, Slot, SlotWriter};
use crate::process::{CorruptResult, ProcessError};
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

/// Where a child reports its outcome.
#[derive(Debug)]
pub(crate) enum ReportTo {
    /// Its result socket (children of `Spawn` and of the fork server).
    Socket(OwnedFd),
    /// Its result slot, and the parent's overflow listener for an outcome the slot cannot hold
    /// (children of `Fork`).
    Slot {
        slot: SlotWriter,
        overflow: Arc<[u8]>,
    },
}

/// The message of `outcome`: its tag, its body, the descriptors of a returned value.
fn message(outcome: &Outcome) -> (u8, Cow<'_, [u8]>, Vec<BorrowedFd<'_>>) {
    match outcome {
        Outcome::Returned(enc) => (
            RETURNED,
            Cow::Borrowed(&enc.bytes),
            enc.fds.iter().map(AsFd::as_fd).collect(),
        ),
        Outcome::Panicked(report) => (PANICKED, encode_panic(report), Vec::new()),
        Outcome::BadArguments(m) => (BAD_ARGUMENTS, Cow::Borrowed(m.as_bytes()), Vec::new()),
        Outcome::BadResult(m) => (BAD_RESULT, Cow::Borrowed(m.as_bytes()), Vec::new()),
    }
}

/// A panic's body: the encoded [`PanicReport`] (or, should that fail, its message alone, which
/// [`decode_panic`] also reads).
fn encode_panic(report: &PanicReport) -> Cow<'_, [u8]> {
    postcard::to_allocvec(report).map_or(Cow::Borrowed(report.message.as_bytes()), Cow::Owned)
}

/// Reads a panic's body written by [`encode_panic`].
fn decode_panic(body: &[u8]) -> PanicReport {
    postcard::from_bytes(body)
        .unwrap_or_else(|_| PanicReport::message(String::from_utf8_lossy(body).into_owned()))
}

/// Sends `outcome` to the parent on a result socket; never waits for the parent to read.
pub(crate) fn send(sock: BorrowedFd<'_>, outcome: &Outcome) -> Result<(), WireError> {
    let (tag, body, fds) = message(outcome);
    wire::send(sock, &[&[tag], &body], &fds, None)
}

/// Reports `outcome` to the parent; never waits for the parent to read.
pub(crate) fn report(to: &ReportTo, outcome: &Outcome) -> Result<(), WireError> {
    let (slot, address) = match to {
        ReportTo::Socket(sock) => return send(sock.as_fd(), outcome),
        ReportTo::Slot { slot, overflow } => (slot, overflow),
    };
    let (tag, body, fds) = message(outcome);
    if fds.is_empty() && slot.write(&[&[tag], &body]) {
        return Ok(());
    }
    match overflow::deliver(
        address,
        slot.ticket(),
        slot.secret(),
        &[&[tag], &body],
        &fds,
    ) {
        Ok(()) => {
            slot.mark_elsewhere();
            Ok(())
        }
        Err(e) => {
            let why = format!("the result could not reach the parent: {e}");
            let mut cut = why.len().min(slot::CAPACITY - 1);
            while !why.is_char_boundary(cut) {
                cut -= 1;
            }
            slot.write(&[&[BAD_RESULT], &why.as_bytes()[..cut]]);
            Err(e)
        }
    }
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
        Err(WireError::Eof | WireError::Timeout) => Err(no_result(status)),
        Err(e) => Err(CorruptResult::Receive(Box::new(e)).into()),
    }
}

/// After a forked child ended: reads what it left in its result slot (or delivered to the
/// overflow listener) and turns it and the exit status into `join`'s result.
pub(crate) fn receive_from_slot<R: DeserializeOwned>(
    slot: &Slot,
    status: ExitStatus,
) -> Result<R, ProcessError> {
    match slot.read() {
        Filled::Written(payload) => interpret(&payload, Vec::new()),
        Filled::Elsewhere => match overflow::take(slot.ticket()) {
            Some((payload, fds)) => interpret(&payload, fds),
            None => Err(CorruptResult::MissingDelivery.into()),
        },
        Filled::Empty => Err(no_result(status)),
        Filled::BadLength(len) => Err(CorruptResult::SlotLength { len }.into()),
        Filled::BadState(state) => Err(CorruptResult::SlotState { state }.into()),
    }
}

/// What `join` says of a child that sent no result: how it ended.
fn no_result(status: ExitStatus) -> ProcessError {
    match status {
        ExitStatus::Code(code) => ProcessError::Exited { code },
        ExitStatus::Signaled(signal) => ProcessError::Killed { signal },
    }
}

fn interpret<R: DeserializeOwned>(payload: &[u8], fds: Vec<OwnedFd>) -> Result<R, ProcessError> {
    let Some((&tag, body)) = payload.split_first() else {
        return Err(CorruptResult::Empty.into());
    };
    let text = || String::from_utf8_lossy(body).into_owned();
    match tag {
        RETURNED => codec::decode(body, fds).map_err(ProcessError::DecodeResult),
        PANICKED => {
            let PanicReport {
                message,
                location,
                backtrace,
            } = decode_panic(body);
            Err(ProcessError::Panicked {
                message,
                location,
                backtrace,
            })
        }
        BAD_ARGUMENTS => Err(ProcessError::Bootstrap { message: text() }),
        BAD_RESULT => Err(ProcessError::EncodeResult { message: text() }),
        tag => Err(CorruptResult::UnknownTag { tag }.into()),
    }
}
