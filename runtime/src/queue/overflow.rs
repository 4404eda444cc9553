//! The overflow of an unbounded queue: a growable memfd beside the ring's segment, where a
//! `put` appends its record when the ring is full (see "Overflow" in `ring`).
//!
//! The file is only ever read and written with `pread`/`pwrite` at offsets the ring
//! protocol hands out, never mapped: whatever a peer does to it (truncating is sealed away,
//! but writing garbage or growing it sparse is not) gives a short read or bytes that fail
//! the ring's checks, never a `SIGBUS` or an access outside a mapping. Positions only grow
//! (as the ring's `head` and `tail` do), so the file grows by every byte ever spilled; the
//! memory behind the pages that consumers have passed is returned with `PUNCH_HOLE`, so a
//! drained overflow holds at most one page. A `u64` of positions, and the kernel's 2^63-byte
//! file limit, outlive the machine.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::FileExt;

use super::ring::Bytes;
use super::state::QueueState;
use crate::shm::ShmBox;
use crate::sys::mman;

/// Records up to this size are read without asking the kernel whether memory backs them: the
/// allocation is small whatever the peer declared.
const SMALL_RECORD: u64 = 64 << 10;

/// Memory is returned in whole pages.
const PAGE: u64 = 4096;

/// A queue's overflow file.
#[derive(Debug)]
pub(crate) struct Overflow {
    file: File,
}

impl Overflow {
    /// A new, empty overflow.
    pub(crate) fn create() -> io::Result<Self> {
        let fd = mman::create_growable(c"mproc-queue-overflow")?;
        Ok(Self {
            file: File::from(fd),
        })
    }

    /// An overflow received from another process; `None` if `fd` is not a growable memfd
    /// sealed against shrinking (see `sys::mman::is_growable`).
    pub(crate) fn open(fd: OwnedFd) -> Option<Self> {
        mman::is_growable(fd.as_fd()).then(|| Self {
            file: File::from(fd),
        })
    }

    /// The descriptor (what a handle sends).
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }

    /// Writes `parts`, concatenated, at `at` (growing the file if needed).
    fn write(&self, at: u64, parts: &[&[u8]]) -> io::Result<()> {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        if len as u64 <= SMALL_RECORD {
            // One system call for a small record.
            let joined = parts.concat();
            return self.file.write_all_at(&joined, at);
        }
        let mut offset = at;
        for part in parts {
            self.file.write_all_at(part, offset)?;
            offset += part.len() as u64;
        }
        Ok(())
    }

    /// Reads `len` bytes at `at`; an error if they are not all there, or (for a large read)
    /// if no memory backs some of them (a peer's sparse file costs it nothing, and must not
    /// cost the reader an allocation of the size it declared).
    fn read(&self, at: u64, len: u64) -> io::Result<Vec<u8>> {
        let end = at
            .checked_add(len)
            .ok_or_else(|| io::Error::from(io::ErrorKind::UnexpectedEof))?;
        // The end of the file counts as a hole: bytes past it are not there either (and a
        // short read of a small record is an error all the same).
        if len > SMALL_RECORD && mman::next_hole(self.fd(), at)? < end {
            return Err(io::Error::other("an overflow record in a hole"));
        }
        let len = usize::try_from(len).map_err(|_| io::Error::from(io::ErrorKind::OutOfMemory))?;
        let mut bytes = vec![0; len];
        self.file.read_exact_at(&mut bytes, at)?;
        Ok(bytes)
    }

    /// Returns the memory of the pages that consumers have passed, now that they moved from
    /// `from` to `to`: every byte before `from` was passed already, so the page holding it is
    /// free from its start; the page holding `to` is not.
    fn release(&self, from: u64, to: u64) {
        let (first, last) = (from - from % PAGE, to - to % PAGE);
        if first < last {
            // Best effort: the pages are only memory, freed with the file at the latest.
            let _ = mman::punch_hole(self.fd(), first, last);
        }
    }

    /// Bytes of memory the file holds (pages written and not yet released).
    #[cfg(test)]
    pub(crate) fn resident(&self) -> u64 {
        use std::os::unix::fs::MetadataExt;
        self.file.metadata().map_or(0, |m| m.blocks() * 512)
    }
}

/// A queue's memory: the ring's segment and the overflow beside it.
#[derive(Debug)]
pub(crate) struct QueueMem {
    pub(crate) shm: ShmBox<QueueState>,
    pub(crate) overflow: Overflow,
}

impl Bytes for QueueMem {
    unsafe fn write(&self, at: u64, src: &[u8]) {
        // SAFETY: the caller's guarantees are the ones `ShmBox::write` needs.
        unsafe { self.shm.write(at, src) }
    }

    unsafe fn read<R>(&self, at: u64, len: u64, f: impl FnOnce(&[u8]) -> R) -> R {
        // SAFETY: the caller's guarantees are the ones `ShmBox::read` needs.
        unsafe { self.shm.read(at, len, f) }
    }

    unsafe fn fill(&self, at: u64, len: u64, f: &mut dyn FnMut(&mut [u8])) {
        // SAFETY: the caller's guarantees are the ones `ShmBox::fill` needs.
        unsafe { self.shm.fill(at, len, f) }
    }

    fn has_overflow(&self) -> bool {
        true
    }

    fn overflow_write(&self, at: u64, parts: &[&[u8]]) -> io::Result<()> {
        self.overflow.write(at, parts)
    }

    fn overflow_read(&self, at: u64, len: u64) -> io::Result<Vec<u8>> {
        self.overflow.read(at, len)
    }

    fn overflow_release(&self, from: u64, to: u64) {
        self.overflow.release(from, to);
    }
}
