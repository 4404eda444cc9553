//! Framing of messages on a Unix stream socket, with descriptors beside the bytes.
//!
//! A frame is a header followed by its payload:
//!
//! ```text
//! u32 BE length            (0xFFFF_FFFF: the real length follows as a u64 BE, as Python does
//!                           above 2 GiB)
//! [u64 BE length]
//! u8 descriptor count      (0..=253, the descriptors ride on the first byte of the header)
//! payload
//! ```
//!
//! The sender writes a whole frame with one `sendmsg` where the socket allows, attaching the
//! frame's descriptors to it. Linux delivers `SCM_RIGHTS` with the first byte they were sent
//! with and never merges two descriptor-carrying writes into one read, so the receiver keeps the
//! descriptors it gets in arrival order and hands each frame the count its header declares.
//!
//! The receiver never trusts the declared length: a frame above the reader's maximum is
//! skipped (read and discarded in bounded chunks), and a payload buffer grows only as bytes
//! actually arrive, so a lying header cannot make it allocate.

mod reader;
mod writer;

pub(crate) use reader::FrameReader;
pub(crate) use writer::write_frame;

use std::io;
use std::os::fd::OwnedFd;

/// Header length marker meaning "the real length follows as a u64".
const EXTENDED: u32 = u32::MAX;

/// One received message.
#[derive(Debug, Default)]
pub(crate) struct Frame {
    pub(crate) payload: Vec<u8>,
    pub(crate) fds: Vec<OwnedFd>,
}

/// What can go wrong reading or writing frames.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WireError {
    /// The peer closed the stream cleanly, between frames.
    #[error("end of stream")]
    Eof,
    /// The deadline passed before a whole frame arrived (nothing is lost; read again).
    #[error("timed out")]
    Timeout,
    /// A frame longer than the reader's maximum arrived; it was skipped, the stream is intact.
    #[error("frame of {len} bytes exceeds the maximum of {max} bytes")]
    TooLarge { len: u64, max: u64 },
    /// The stream ended in the middle of a frame.
    #[error("stream ended in the middle of a frame")]
    Truncated,
    /// A header that cannot be right (more descriptors than the kernel can pass, or than
    /// arrived). The stream cannot be trusted after this.
    #[error("corrupted frame: {0}")]
    Corrupt(&'static str),
    /// An OS error on the socket (for writes, `EPIPE` when the peer is gone).
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Encodes the header for a payload of `len` bytes carrying `nfds` descriptors.
fn header(len: u64, nfds: u8) -> ([u8; 13], usize) {
    let mut out = [0u8; 13];
    match u32::try_from(len) {
        Ok(short) if short != EXTENDED => {
            out[..4].copy_from_slice(&short.to_be_bytes());
            out[4] = nfds;
            (out, 5)
        }
        _ => {
            out[..4].copy_from_slice(&EXTENDED.to_be_bytes());
            out[4..12].copy_from_slice(&len.to_be_bytes());
            out[12] = nfds;
            (out, 13)
        }
    }
}

/// Parses a header from the front of `buf`: `(payload length, descriptor count, header size)`,
/// or `None` if `buf` does not hold a whole header yet.
fn parse_header(buf: &[u8]) -> Option<(u64, u8, usize)> {
    let short = u32::from_be_bytes(buf.get(..4)?.try_into().ok()?);
    if short == EXTENDED {
        let long = u64::from_be_bytes(buf.get(4..12)?.try_into().ok()?);
        Some((long, *buf.get(12)?, 13))
    } else {
        Some((u64::from(short), *buf.get(4)?, 5))
    }
}

#[cfg(test)]
mod tests;
