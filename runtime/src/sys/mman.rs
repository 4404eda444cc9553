//! Anonymous shared memory: sealed memfds mapped `MAP_SHARED`.
//!
//! A segment is a memfd whose size is fixed by seals (`F_SEAL_GROW | F_SEAL_SHRINK`) right
//! after it is sized, so no process holding the descriptor can truncate it under another's
//! mapping (which would turn a later access into `SIGBUS`). A received descriptor is mapped only
//! after its seals and size are checked. Nothing is named: the kernel frees the memory when the
//! last descriptor and mapping are gone, however the processes end.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::ptr::NonNull;

use super::{cvt, cvt_retry};

/// The seals every segment carries.
const SEALS: libc::c_int = libc::F_SEAL_GROW | libc::F_SEAL_SHRINK | libc::F_SEAL_SEAL;

/// Creates a sealed memfd of exactly `len` bytes (zero-filled), named `name` for diagnostics
/// (`/proc/<pid>/maps` shows `/memfd:<name>`).
pub(crate) fn create_sealed(name: &CStr, len: usize) -> io::Result<OwnedFd> {
    // SAFETY: `name` is a valid NUL-terminated string; the flags are valid memfd flags.
    let fd = cvt(unsafe {
        libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING)
    })?;
    // SAFETY: memfd_create just returned `fd`; nothing else owns it.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let size = libc::off_t::try_from(len).map_err(|_| io::Error::from_raw_os_error(libc::EFBIG))?;
    // SAFETY: `fd` is an open memfd we own; ftruncate only changes its size.
    cvt(unsafe { libc::ftruncate(fd.as_raw_fd(), size) })?;
    // SAFETY: F_ADD_SEALS on a memfd created with MFD_ALLOW_SEALING; no pointers involved.
    cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, SEALS) })?;
    Ok(fd)
}

/// The size of the file behind `fd`, if it is a memfd sealed against resizing.
///
/// `Ok(None)`: the descriptor is not a sealed memfd (any other file could be truncated by
/// someone else while mapped).
pub(crate) fn sealed_size(fd: BorrowedFd<'_>) -> io::Result<Option<usize>> {
    // SAFETY: F_GET_SEALS takes no argument and only reads the file's seals.
    let seals = match cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GET_SEALS) }) {
        Ok(s) => s,
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => return Ok(None),
        Err(e) => return Err(e),
    };
    let needed = libc::F_SEAL_GROW | libc::F_SEAL_SHRINK;
    if seals & needed != needed {
        return Ok(None);
    }
    let stat = nix::sys::stat::fstat(fd).map_err(io::Error::from)?;
    Ok(usize::try_from(stat.st_size).ok())
}

/// The seals of a growable memfd (a queue's overflow): it may grow, never shrink, and its
/// seals are final (nobody can add `F_SEAL_GROW` or `F_SEAL_WRITE` later and make it useless).
const GROWABLE_SEALS: libc::c_int = libc::F_SEAL_SHRINK | libc::F_SEAL_SEAL;

/// The seals that would stop a growable memfd from taking writes.
const FROZEN_SEALS: libc::c_int =
    libc::F_SEAL_GROW | libc::F_SEAL_WRITE | libc::F_SEAL_FUTURE_WRITE;

/// Creates an empty memfd that can grow (by writes past its end) but never shrink, named
/// `name` for diagnostics. It is read and written with `pread`/`pwrite`, never mapped.
pub(crate) fn create_growable(name: &CStr) -> io::Result<OwnedFd> {
    // SAFETY: `name` is a valid NUL-terminated string; the flags are valid memfd flags.
    let fd = cvt(unsafe {
        libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING)
    })?;
    // SAFETY: memfd_create just returned `fd`; nothing else owns it.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: F_ADD_SEALS on a memfd created with MFD_ALLOW_SEALING; no pointers involved.
    cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, GROWABLE_SEALS) })?;
    Ok(fd)
}

/// Whether `fd` is a memfd as [`create_growable`] makes them: it cannot shrink, its seals are
/// final, and it can still grow and be written.
pub(crate) fn is_growable(fd: BorrowedFd<'_>) -> bool {
    // SAFETY: F_GET_SEALS takes no argument and only reads the file's seals.
    let seals = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GET_SEALS) };
    seals >= 0 && seals & GROWABLE_SEALS == GROWABLE_SEALS && seals & FROZEN_SEALS == 0
}

/// Frees the memory behind bytes `from..to` of the memfd `fd` (they read as zeros after);
/// its size does not change.
pub(crate) fn punch_hole(fd: BorrowedFd<'_>, from: u64, to: u64) -> io::Result<()> {
    let einval = || io::Error::from_raw_os_error(libc::EINVAL);
    let offset = libc::off_t::try_from(from).map_err(|_| einval())?;
    let len = to
        .checked_sub(from)
        .and_then(|len| libc::off_t::try_from(len).ok())
        .ok_or_else(einval)?;
    // SAFETY: fallocate on a descriptor borrowed for the call; punching a hole only drops the
    // file's pages in that range (no mapping of it is assumed by anyone: see above).
    cvt_retry(|| unsafe {
        libc::fallocate(
            fd.as_raw_fd(),
            libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
            offset,
            len,
        )
    })?;
    Ok(())
}

/// The first hole (a range no memory backs, or the end of the file) at or after `from` in
/// `fd`: bytes `from..` the result are all really there.
pub(crate) fn next_hole(fd: BorrowedFd<'_>, from: u64) -> io::Result<u64> {
    let offset =
        libc::off_t::try_from(from).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: lseek on a descriptor borrowed for the call; it only moves the file offset,
    // which no one else relies on (the overflow is only read and written at offsets).
    let hole = cvt(unsafe { libc::lseek(fd.as_raw_fd(), offset, libc::SEEK_HOLE) })?;
    u64::try_from(hole).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

/// A `MAP_SHARED` read-write mapping; unmapped on drop.
#[derive(Debug)]
pub(crate) struct Mapping {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is plain memory owned by this value; every access to its contents goes
// through atomics or is guarded by a lock protocol implemented above this layer.
unsafe impl Send for Mapping {}
// SAFETY: as for `Send`: shared access is mediated by atomics in the mapped memory.
unsafe impl Sync for Mapping {}

impl Mapping {
    /// Maps the first `len` bytes of `fd` (which must be at least that long and never shrink:
    /// see [`create_sealed`] and [`sealed_size`]).
    pub(crate) fn map(fd: BorrowedFd<'_>, len: usize) -> io::Result<Self> {
        Self::shared(len, libc::MAP_SHARED, fd.as_raw_fd())
    }

    /// A fresh zero-filled `MAP_SHARED` anonymous mapping of `len` bytes: shared with the
    /// children forked after it (and theirs), with no descriptor to pass or close.
    pub(crate) fn anonymous(len: usize) -> io::Result<Self> {
        Self::shared(len, libc::MAP_SHARED | libc::MAP_ANONYMOUS, -1)
    }

    fn shared(len: usize, flags: libc::c_int, fd: libc::c_int) -> io::Result<Self> {
        if len == 0 {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        // SAFETY: a fresh mapping at an address the kernel chooses; it aliases no Rust object.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                flags,
                fd,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let ptr = NonNull::new(ptr.cast::<u8>()).ok_or_else(|| io::Error::other("mmap at 0"))?;
        Ok(Self { ptr, len })
    }

    /// The start of the mapping (page aligned).
    pub(crate) fn ptr(&self) -> NonNull<u8> {
        self.ptr
    }

    /// Its length in bytes.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` describe a mapping this value created and nobody else unmaps;
        // references into it cannot outlive `self` (they borrow from the owning handle).
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn a_sealed_memfd_maps_zeroed_and_keeps_its_size() {
        let fd = create_sealed(c"mproc-test", 8192).unwrap();
        assert_eq!(sealed_size(fd.as_fd()).unwrap(), Some(8192));
        let m = Mapping::map(fd.as_fd(), 8192).unwrap();
        // SAFETY: the mapping is 8192 bytes long and only this test uses it.
        let bytes = unsafe { std::slice::from_raw_parts(m.ptr().as_ptr(), m.len()) };
        assert!(bytes.iter().all(|&b| b == 0));
        // SAFETY: ftruncate on our own descriptor; the seals must refuse it.
        let r = unsafe { libc::ftruncate(fd.as_raw_fd(), 10) };
        assert_eq!(r, -1, "a sealed segment cannot shrink");
    }

    #[test]
    fn other_files_are_not_sealed_segments() {
        let f = std::fs::File::open("/dev/null").unwrap();
        assert_eq!(sealed_size(f.as_fd()).unwrap(), None);
    }
}
