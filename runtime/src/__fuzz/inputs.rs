//! The descriptors and segments a peer could send, built from fuzz input.

use std::io::IoSlice;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::FileExt;

use super::{Input, Known, MEMFD_CONTENT_MAX, QUEUE_FIELDS};
use crate::shm::segment::Kind;
use crate::sys;

// ------------------------------------------------------------------ descriptors

/// How a generated memfd is sealed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Seal {
    /// Not at all.
    No,
    /// Against resizing, as mproc's segments (they stay writable).
    Size,
    /// Against every change, as mproc's message payloads.
    Frozen,
}

/// A memfd holding `content`, `size` bytes long (sparse past the content), sealed as `seal`.
fn memfd(content: &[u8], size: u64, seal: Seal) -> Option<OwnedFd> {
    let fd = sys::fd::sealable_memfd(c"mproc-fuzz").ok()?;
    // At offset 0 without moving the file's offset, as mproc's senders write (a receiver
    // reads from the shared offset: a moved one is refused).
    let file = std::fs::File::from(fd);
    file.write_all_at(content, 0).ok()?;
    file.set_len(size.max(content.len() as u64)).ok()?;
    let fd = OwnedFd::from(file);
    match seal {
        Seal::No => {}
        Seal::Frozen => sys::fd::seal_memfd(fd.as_fd()).ok()?,
        Seal::Size => {
            let seals = libc::F_SEAL_GROW | libc::F_SEAL_SHRINK | libc::F_SEAL_SEAL;
            // SAFETY: F_ADD_SEALS on a memfd we own; no pointers involved.
            if unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, seals) } != 0 {
                return None;
            }
        }
    }
    Some(fd)
}

/// The receiving end of a `SOCK_SEQPACKET` pair holding one record (`record`); the sending end
/// is closed, so end of stream follows the record.
pub(crate) fn socket_with(record: &[u8]) -> Option<OwnedFd> {
    let (tx, rx) = sys::socket::socketpair().ok()?;
    sys::socket::send(tx.as_fd(), &[IoSlice::new(record)], &[], true).ok()?;
    Some(rx)
}

/// Builds a segment the way a peer could: a memfd whose 64-byte header, state and data come
/// from `inp`. `flags` (one byte) chooses which header fields are right for a segment of `kind`
/// holding element type `tag`, so a fuzzer gets past each check in turn:
///
/// ```text
/// bit 0 real magic     bit 1 real version    bit 2 size field = the memfd's size
/// bit 3 the right tag  bit 4 sealed          bit 5 sparse size (u16 << 16), else u16
/// bit 6 the right kind bit 7 data_offset = 64 * (1 + u8 % 8), else a u64 from the input
/// ```
///
/// then `u16` size, header fields not taken from the flags (`u64` magic, `u32` version, `u32`
/// kind, `u64` size, `u64` tag, `u64` data offset) and `u64` data length, then the state
/// (written at offset 64: up to 512 bytes, and not past the data offset) and up to 4 KiB of
/// data (written at the data offset, when it lies within the first 64 KiB). For a queue, the
/// counters in the state are then tamed as `known` says (`Known::tame`).
pub fn make_segment(inp: &mut Input<'_>, kind: u32, tag: u64, known: Known) -> Option<OwnedFd> {
    const MAGIC: u64 = u64::from_le_bytes(*b"mprocSHM");
    const VERSION: u32 = 4;
    let expected_kind = kind;
    let flags = inp.u8();
    let raw = inp.u16();
    let size = if flags & 32 != 0 {
        u64::from(raw) << 16
    } else {
        u64::from(raw)
    };
    let magic = if flags & 1 != 0 { MAGIC } else { inp.u64() };
    let version = if flags & 2 != 0 { VERSION } else { inp.u32() };
    let kind = if flags & 64 != 0 { kind } else { inp.u32() };
    let size_field = if flags & 4 != 0 { size } else { inp.u64() };
    let tag = if flags & 8 != 0 { tag } else { inp.u64() };
    let data_offset = if flags & 128 != 0 {
        64 * (1 + u64::from(inp.u8() % 8))
    } else {
        inp.u64()
    };
    let data_len = inp.u64();
    let mut image = Vec::with_capacity(64);
    for word in [
        magic,
        u64::from(version) | u64::from(kind) << 32,
        size_field,
    ] {
        image.extend_from_slice(&word.to_le_bytes());
    }
    for word in [tag, data_offset, data_len, 0, 0] {
        image.extend_from_slice(&word.to_le_bytes());
    }
    match usize::try_from(data_offset) {
        Ok(at) if (64..=MEMFD_CONTENT_MAX).contains(&at) => {
            image.extend_from_slice(inp.bytes((at - 64).min(512)));
            image.resize(at, 0);
            image.extend_from_slice(inp.bytes(4 << 10));
        }
        _ => image.extend_from_slice(inp.bytes(512)),
    }
    if expected_kind == Kind::Queue as u32 {
        // The counters of a queue's state, tamed as `known` says.
        for (name, at) in QUEUE_FIELDS {
            if let Some(word) = image.get_mut(at..at + 8) {
                let value = u64::from_le_bytes(word.try_into().expect("8 bytes"));
                word.copy_from_slice(&known.tame(name, value).to_le_bytes());
            }
        }
    }
    image.truncate(usize::try_from(size).unwrap_or(usize::MAX));
    let seal = if flags & 16 != 0 {
        Seal::Size
    } else {
        Seal::No
    };
    memfd(&image, size, seal)
}

/// One descriptor of a kind chosen by the input (`u8 % 8`):
///
/// ```text
/// 0 a segment (make_segment)         1 a memfd payload: u8 flags (bit 0 sealed, bit 1
/// 2 /dev/null                          sparse), u32 size, u16 content length, the content
/// 3 a seqpacket socket with a record: u16 length, the record
/// 4 a stream socket   5 a pipe's read end   6 an eventfd   7 a closed seqpacket socket
/// ```
pub fn make_fd(inp: &mut Input<'_>, kind: u32, tag: u64, known: Known) -> Option<OwnedFd> {
    match inp.u8() % 8 {
        0 => make_segment(inp, kind, tag, known),
        1 => {
            let flags = inp.u8();
            let size = u64::from(inp.u32());
            let len = usize::from(inp.u16()).min(MEMFD_CONTENT_MAX);
            let content = inp.bytes(len);
            let size = if flags & 2 != 0 {
                size.min(64 << 20)
            } else {
                0
            };
            let seal = if flags & 1 != 0 {
                Seal::Frozen
            } else {
                Seal::No
            };
            memfd(content, size, seal)
        }
        2 => std::fs::File::open("/dev/null").ok().map(OwnedFd::from),
        3 => {
            let len = usize::from(inp.u16());
            socket_with(inp.bytes(len))
        }
        4 => std::os::unix::net::UnixStream::pair()
            .ok()
            .map(|(a, _)| OwnedFd::from(a)),
        5 => std::io::pipe().ok().map(|(r, _)| OwnedFd::from(r)),
        6 => {
            // SAFETY: eventfd takes no pointers; a non-negative result is a new descriptor
            // owned by nobody else.
            let raw = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) };
            // SAFETY: see above.
            (raw >= 0).then(|| unsafe { std::os::fd::FromRawFd::from_raw_fd(raw) })
        }
        _ => sys::socket::socketpair().ok().map(|(a, _)| a),
    }
}

pub(crate) fn make_fds(inp: &mut Input<'_>, kind: u32, tag: u64, known: Known) -> Vec<OwnedFd> {
    let n = inp.u8() % 4;
    (0..n)
        .filter_map(|_| make_fd(inp, kind, tag, known))
        .collect()
}
