//! Anonymous shared memory (`mmap(MAP_SHARED | MAP_ANONYMOUS)`), inherited across `fork`, and
//! process-shared futex waits on its words (no `FUTEX_PRIVATE_FLAG`: the waiters live in
//! different processes).
//!
//! A region is created before the floor forks its children; parent and children then see the
//! same physical pages at the same address. It is zero-filled and page-aligned, so every
//! offset that is a multiple of 64 is cache-line aligned.
//!
//! An mproc side whose children are not forked from the measuring process (the default start
//! method is `ForkServer`) backs its region with a memfd instead, and sends the descriptor
//! along as an `mproc::codec::Fd`.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicU64};
use std::time::Duration;

/// A zero-filled, page-aligned shared mapping of `len` bytes.
#[derive(Debug)]
pub(crate) struct ShmRegion {
    ptr: NonNull<u8>,
    len: usize,
}

impl ShmRegion {
    /// Maps `len` bytes (rounded up to a page by the kernel).
    pub(crate) fn new(len: usize) -> io::Result<Self> {
        Self::map(len, libc::MAP_ANONYMOUS, -1)
    }

    /// Maps `len` zero-filled bytes of a new memfd, and returns the memfd too: a process that
    /// was not forked from this one (an mproc child under `Spawn` or `ForkServer`) maps the
    /// same pages with [`ShmRegion::from_fd`] once it has the descriptor.
    pub(crate) fn with_fd(len: usize) -> io::Result<(Self, OwnedFd)> {
        // SAFETY: the name is a NUL-terminated string; the result is checked below.
        let raw = unsafe { libc::memfd_create(c"bench-shm".as_ptr(), libc::MFD_CLOEXEC) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: the kernel just created `raw` for us; nothing else owns it.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let size = libc::off_t::try_from(len).map_err(io::Error::other)?;
        // SAFETY: `fd` is a live memfd owned above; ftruncate only sets its size.
        if unsafe { libc::ftruncate(fd.as_raw_fd(), size) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok((Self::from_fd(&fd, len)?, fd))
    }

    /// Maps the first `len` bytes of the shared file `fd` (a memfd from [`ShmRegion::with_fd`],
    /// received from another process).
    ///
    /// # Errors
    /// If the file is shorter than `len` bytes, or the mapping fails.
    pub(crate) fn from_fd(fd: &OwnedFd, len: usize) -> io::Result<Self> {
        let size = std::fs::File::from(fd.try_clone()?).metadata()?.len();
        if size < u64::try_from(len).map_err(io::Error::other)? {
            return Err(io::Error::other(format!(
                "shared file of {size} bytes, expected {len}"
            )));
        }
        Self::map(len, 0, fd.as_raw_fd())
    }

    /// `mmap(MAP_SHARED | extra)` of `len` bytes of `fd` (-1 for anonymous memory).
    fn map(len: usize, extra: libc::c_int, fd: libc::c_int) -> io::Result<Self> {
        assert!(len > 0, "invariant: a region has at least one byte");
        // SAFETY: a shared mapping at an address of the kernel's choice touches no existing
        // memory; a file mapping covers bytes the file has (checked by the callers), so no
        // access faults; the result is checked against MAP_FAILED before use.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | extra,
                fd,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let ptr =
            NonNull::new(ptr.cast::<u8>()).ok_or_else(|| io::Error::other("mmap gave null"))?;
        Ok(Self { ptr, len })
    }

    /// The `AtomicU32` at byte `offset`.
    ///
    /// # Panics
    /// If `offset` is not 4-aligned or the word does not fit in the region.
    pub(crate) fn u32_at(&self, offset: usize) -> &AtomicU32 {
        assert!(
            offset.is_multiple_of(4) && offset + 4 <= self.len,
            "bad u32 offset {offset}"
        );
        // SAFETY: the word lies inside the live mapping (checked above), is 4-aligned (the
        // mapping is page-aligned), and is only ever accessed atomically by every process.
        unsafe { AtomicU32::from_ptr(self.ptr.as_ptr().add(offset).cast()) }
    }

    /// The `AtomicU64` at byte `offset`.
    ///
    /// # Panics
    /// If `offset` is not 8-aligned or the word does not fit in the region.
    pub(crate) fn u64_at(&self, offset: usize) -> &AtomicU64 {
        assert!(
            offset.is_multiple_of(8) && offset + 8 <= self.len,
            "bad u64 offset {offset}"
        );
        // SAFETY: as in `u32_at`, with 8-byte alignment.
        unsafe { AtomicU64::from_ptr(self.ptr.as_ptr().add(offset).cast()) }
    }

    /// `count` consecutive `AtomicU64`s starting at byte `offset`.
    ///
    /// # Panics
    /// If `offset` is not 8-aligned or the words do not fit in the region.
    pub(crate) fn u64_slice(&self, offset: usize, count: usize) -> &[AtomicU64] {
        assert!(
            offset.is_multiple_of(8) && offset + 8 * count <= self.len,
            "bad u64 slice {offset}+{count}"
        );
        // SAFETY: the words lie inside the live mapping (checked above), are 8-aligned, and are
        // only ever accessed atomically; the slice borrows `self`, so it cannot outlive the
        // mapping.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr().add(offset).cast(), count) }
    }
}

impl Drop for ShmRegion {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` are exactly the mapping made in `new`, and no reference into it
        // outlives `self` (all accessors borrow `self`).
        unsafe {
            libc::munmap(self.ptr.as_ptr().cast(), self.len);
        }
    }
}

/// A private, page-aligned, zero-filled buffer: the memcpy floor's source and destination.
#[derive(Debug)]
pub(crate) struct PageBuf {
    ptr: NonNull<u8>,
    len: usize,
}

impl PageBuf {
    /// Maps `len` private bytes.
    pub(crate) fn new(len: usize) -> io::Result<Self> {
        assert!(len > 0, "invariant: a buffer has at least one byte");
        // SAFETY: as in `ShmRegion::new`, with a private mapping.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let ptr =
            NonNull::new(ptr.cast::<u8>()).ok_or_else(|| io::Error::other("mmap gave null"))?;
        Ok(Self { ptr, len })
    }

    /// The bytes, read-only.
    pub(crate) fn as_slice(&self) -> &[u8] {
        // SAFETY: the private mapping is `len` initialized (zero-filled) bytes, owned by `self`
        // and not shared with any other process; the borrow ties the slice to `self`.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    /// The bytes, writable.
    pub(crate) fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as in `as_slice`; `&mut self` makes this the only reference.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for PageBuf {
    fn drop(&mut self) {
        // SAFETY: exactly the mapping made in `new`; no borrow of it outlives `self`.
        unsafe {
            libc::munmap(self.ptr.as_ptr().cast(), self.len);
        }
    }
}

/// Sleeps while `*word == expected`, at most `timeout`. Returns on a wake, a changed value,
/// a signal or the timeout; the caller re-checks its condition in every case.
pub(crate) fn futex_wait(word: &AtomicU32, expected: u32, timeout: Duration) {
    let ts = libc::timespec {
        tv_sec: libc::time_t::try_from(timeout.as_secs()).unwrap_or(libc::time_t::MAX),
        tv_nsec: libc::c_long::from(timeout.subsec_nanos().cast_signed()),
    };
    // SAFETY: `word` is a live, aligned 32-bit word (a reference); the kernel only reads it and
    // `ts` for the duration of the call. EAGAIN/EINTR/ETIMEDOUT are all "re-check".
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT,
            expected,
            &raw const ts,
        );
    }
}

/// Wakes up to `n` processes sleeping on `word`.
pub(crate) fn futex_wake(word: &AtomicU32, n: i32) {
    // SAFETY: `word` is a live, aligned 32-bit word; FUTEX_WAKE does not dereference it.
    unsafe {
        libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE, n);
    }
}
