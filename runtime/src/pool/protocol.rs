//! Messages between the pool's thread and its workers.
//!
//! - To a worker, on the worker's own socket: [`ToWorker::Run`] with a batch of chunks (each:
//!   its job, index, trampoline offset, payload length and descriptor count), or
//!   [`ToWorker::Exit`]. A message is a postcard header, then raw payload bytes described by
//!   the header, with the descriptors of any handles attached (see `wire`):
//!   `[u32 LE header length][header][payload]`.
//! - From a worker, on its own shared-memory report queue (see `bell` for how the pool's
//!   thread is woken): [`FromWorker::Ready`] once its initializer ran, then one
//!   [`FromWorker::Done`] per chunk, in the order the chunks were sent, carrying the chunk's
//!   encoded results. A worker never reports two chunks at once, and a report is visible only
//!   once complete: if the worker dies, the chunks whose reports are in the queue are
//!   finished, the next one was running, and the rest never started.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::Instant;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::shared::Chunk;
use crate::codec::{ByteBuf, Fd};
use crate::wire::{self, WireError};

#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum ToWorker {
    Run(Vec<ChunkHead>),
    Exit,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(crate) struct ChunkHead {
    pub(crate) job: u64,
    pub(crate) chunk: u32,
    pub(crate) entry: i64,
    pub(crate) len: u32,
    pub(crate) fds: u16,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum FromWorker {
    Ready,
    InitFailed(String),
    Done {
        job: u64,
        chunk: u32,
        /// The chunk's encoded results.
        results: ByteBuf,
        /// The descriptors of the handles in them.
        fds: Vec<Fd>,
    },
    /// The chunk's arguments did not decode (the worker goes on).
    BadChunk {
        job: u64,
        chunk: u32,
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

/// One chunk of a batch: its header, argument bytes and descriptors.
pub(crate) type ChunkParts = (ChunkHead, Vec<u8>, Vec<OwnedFd>);

/// Splits a batch's payload and descriptors into its chunks' parts.
pub(crate) fn split_batch(
    heads: &[ChunkHead],
    payload: &[u8],
    fds: Vec<OwnedFd>,
) -> Option<Vec<ChunkParts>> {
    let mut fds = fds.into_iter();
    let mut at = 0usize;
    let mut out = Vec::with_capacity(heads.len());
    for head in heads {
        let end = at.checked_add(head.len as usize)?;
        let bytes = payload.get(at..end)?.to_vec();
        at = end;
        let chunk_fds: Vec<OwnedFd> = fds.by_ref().take(usize::from(head.fds)).collect();
        if chunk_fds.len() != usize::from(head.fds) {
            return None;
        }
        out.push((*head, bytes, chunk_fds));
    }
    (at == payload.len()).then_some(out)
}

/// Reads back the batches a worker that has ended never read, from `peer` (its end of its
/// socket): how many chunks they held, at most `sent` (what it was sent and did not report).
/// They are the last chunks it was sent, since a socket delivers in order.
pub(super) fn unread_chunks(peer: BorrowedFd<'_>, sent: usize) -> usize {
    let mut unread = 0usize;
    // Each batch holds at least one chunk, so at most `sent` batches are left.
    for _ in 0..sent {
        match recv::<ToWorker>(peer, Some(Instant::now())) {
            Ok(message) => {
                if let ToWorker::Run(heads) = message.header {
                    unread = unread.saturating_add(heads.len());
                }
            }
            // Nothing left (or nothing more to learn).
            Err(_) => break,
        }
    }
    unread.min(sent)
}

/// Sends chunks to a worker as one message, without waiting for room.
pub(super) fn send_batch(sock: BorrowedFd<'_>, batch: &[Chunk]) -> Result<(), WireError> {
    let mut heads = Vec::with_capacity(batch.len());
    let mut payload = Vec::new();
    let mut fds = Vec::new();
    for chunk in batch {
        heads.push(ChunkHead {
            job: chunk.job.id,
            chunk: chunk.index,
            entry: chunk.task.entry,
            len: u32::try_from(chunk.payload.len()).map_err(|_| WireError::TooManyFds)?,
            fds: u16::try_from(chunk.fds.len()).map_err(|_| WireError::TooManyFds)?,
        });
        payload.extend_from_slice(&chunk.payload);
        fds.extend(chunk.fds.iter().map(AsFd::as_fd));
    }
    let header = ToWorker::Run(heads);
    send_now(sock, &header, &payload, &fds)
}
