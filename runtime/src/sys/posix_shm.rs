//! Named POSIX shared memory (`shm_open`), the kind Python's `SharedMemory` uses.
//!
//! Unlike the sealed memfds of [`super::mman`], a named object can be opened, resized and
//! unlinked by any process of the same user that knows its name: its size is read once when
//! it is mapped, and a peer that shrinks it afterwards makes an access past the new end fault
//! (`SIGBUS`). That is inherent to named shared memory; see `mproc::trust`.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use super::cvt;

/// How [`open`] treats an existing object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Open {
    /// Create it; fail with `EEXIST` if the name is taken.
    CreateNew,
    /// Open an existing one; fail with `ENOENT` if there is none.
    Existing,
}

/// Opens (or creates, mode `0600`) the shared-memory object `name` (a leading `/` and no
/// other) read-write, close-on-exec.
pub(crate) fn open(name: &CStr, how: Open) -> io::Result<OwnedFd> {
    let flags = match how {
        Open::CreateNew => libc::O_RDWR | libc::O_CREAT | libc::O_EXCL | libc::O_CLOEXEC,
        Open::Existing => libc::O_RDWR | libc::O_CLOEXEC,
    };
    // SAFETY: `name` is a valid NUL-terminated string; flags and mode are plain integers.
    let fd = cvt(unsafe { libc::shm_open(name.as_ptr(), flags, 0o600) })?;
    // SAFETY: shm_open just returned `fd`; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Removes the name `name`; the memory lives on until the last mapping and descriptor go.
pub(crate) fn unlink(name: &CStr) -> io::Result<()> {
    // SAFETY: `name` is a valid NUL-terminated string.
    cvt(unsafe { libc::shm_unlink(name.as_ptr()) }).map(drop)
}

/// Sets the size of the object behind `fd` to `len` bytes (new bytes read as zero).
pub(crate) fn set_len(fd: BorrowedFd<'_>, len: usize) -> io::Result<()> {
    let len = libc::off_t::try_from(len).map_err(|_| io::Error::from_raw_os_error(libc::EFBIG))?;
    // SAFETY: `fd` is an open descriptor; ftruncate only changes the file's size.
    cvt(unsafe { libc::ftruncate(fd.as_raw_fd(), len) }).map(drop)
}

/// The current size of the object behind `fd`.
pub(crate) fn len(fd: BorrowedFd<'_>) -> io::Result<usize> {
    let stat = nix::sys::stat::fstat(fd).map_err(io::Error::from)?;
    usize::try_from(stat.st_size).map_err(|_| io::Error::from_raw_os_error(libc::EOVERFLOW))
}
