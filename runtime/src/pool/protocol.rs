//! Messages between the pool's thread and its workers.
//!
//! - Chunks wait in the shared task ring (see `ring`), where a free worker claims the next.
//! - To a worker, on the worker's own socket: [`ToWorker::Wake`] when chunks were published
//!   while it slept (see its bell), [`ToWorker::Side`] with the arguments of a chunk it claimed
//!   that travel beside the ring (descriptors, or too large), [`ToWorker::Tasks`] (the task
//!   table that ring entries index), [`ToWorker::Exit`]. A message is a
//!   postcard header, then raw payload bytes, with the descriptors of any handles attached (see
//!   `wire`): `[u32 LE header length][header][payload]`.
//! - From a worker, on its own shared-memory report queue (see `bell` for how the pool's
//!   thread is woken): [`FromWorker::Ready`] once its initializer ran, then for each chunk it
//!   claimed a [`FromWorker::Done`] (or [`FromWorker::BadChunk`]) naming the ring entry, and
//!   [`FromWorker::Claimed`] first for a side chunk. Which chunk a dead worker held is read from
//!   the ring's claim words, not from these reports.

use std::os::fd::{BorrowedFd, OwnedFd};
use std::time::Instant;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::task::TaskCode;
use crate::codec::{ByteBuf, Fd};
use crate::wire::{self, WireError};

#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum ToWorker {
    /// Chunks were published: look at the ring.
    Wake,
    /// The arguments of side chunk `entry` (in the payload and descriptors).
    Side(u64),
    /// Tasks `from..` of the worker's task table: their code offsets. Sent before
    /// any chunk naming them is published.
    Tasks {
        from: u32,
        offsets: Vec<TaskCode>,
    },
    Exit,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum FromWorker {
    Ready,
    InitFailed(String),
    /// It claimed side chunk `entry` and waits for its arguments.
    Claimed(u64),
    Done {
        /// The ring entry it claimed.
        entry: u64,
        /// The chunk's encoded results.
        results: ByteBuf,
        /// The descriptors of the handles in them.
        fds: Vec<Fd>,
    },
    /// The chunk's arguments did not decode (the worker goes on).
    BadChunk {
        entry: u64,
        message: String,
    },
}

/// Sends `header` followed by `payload`, with `fds` attached, waiting for room if needed.
pub(crate) fn send<H: Serialize>(
    sock: BorrowedFd<'_>,
    header: &H,
    payload: &[u8],
    fds: &[BorrowedFd<'_>],
) -> Result<(), WireError> {
    send_until(sock, header, payload, fds, None)
}

/// Like [`send`], but fails with `Timeout` instead of waiting when the socket is full.
pub(crate) fn send_now<H: Serialize>(
    sock: BorrowedFd<'_>,
    header: &H,
    payload: &[u8],
    fds: &[BorrowedFd<'_>],
) -> Result<(), WireError> {
    send_until(sock, header, payload, fds, Some(Instant::now()))
}

fn send_until<H: Serialize>(
    sock: BorrowedFd<'_>,
    header: &H,
    payload: &[u8],
    fds: &[BorrowedFd<'_>],
    deadline: Option<Instant>,
) -> Result<(), WireError> {
    let head = postcard::to_allocvec(header).map_err(|e| {
        WireError::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            e.to_string(),
        ))
    })?;
    let len = u32::try_from(head.len()).unwrap_or(u32::MAX).to_le_bytes();
    wire::send(sock, &[&len, &head, payload], fds, deadline)
}

/// One received message: its header, payload and descriptors.
#[derive(Debug)]
pub(crate) struct Received<H> {
    pub(crate) header: H,
    pub(crate) payload: Vec<u8>,
    pub(crate) fds: Vec<OwnedFd>,
}

/// Receives one message (waiting until `deadline`; `None`: as long as it takes).
pub(crate) fn recv<H: DeserializeOwned>(
    sock: BorrowedFd<'_>,
    deadline: Option<Instant>,
) -> Result<Received<H>, WireError> {
    wire::recv(sock, u64::MAX, deadline, |bytes, fds| {
        let malformed = || WireError::Malformed("bad pool message header");
        let len: [u8; 4] = bytes
            .get(..4)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(malformed)?;
        let len = u32::from_le_bytes(len) as usize;
        let head = bytes.get(4..4 + len).ok_or_else(malformed)?;
        let header: H = postcard::from_bytes(head).map_err(|_| malformed())?;
        Ok(Received {
            header,
            payload: bytes[4 + len..].to_vec(),
            fds,
        })
    })?
}
