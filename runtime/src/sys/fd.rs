//! File descriptor helpers: flags, duplication and waiting with a deadline.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use super::{cvt, cvt_retry};

/// Duplicates `fd` to a new descriptor with `FD_CLOEXEC` set.
pub(crate) fn dup_cloexec(fd: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    dup_cloexec_at_least(fd, 0)
}

/// Duplicates `fd` to the lowest free descriptor `>= min`, with `FD_CLOEXEC` set.
pub(crate) fn dup_cloexec_at_least(fd: BorrowedFd<'_>, min: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: `fd` is a valid open descriptor for the call's duration (it is borrowed), and
    // F_DUPFD_CLOEXEC only creates a new descriptor.
    let new = cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, min) })?;
    // SAFETY: `new` was just returned by fcntl, so it is open and owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(new) })
}

/// Adds one to the counter of the eventfd `fd` (making it readable). `EAGAIN` (the counter is
/// at its maximum, so already readable) counts as success.
pub(crate) fn eventfd_add_one(fd: BorrowedFd<'_>) -> io::Result<()> {
    match nix::unistd::write(fd, &1u64.to_ne_bytes()) {
        Ok(_) | Err(nix::Error::EAGAIN) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Opens `/dev/null` once per process, so a forked child only has to `dup2` it (opening a
/// path in every child costs page faults and a lookup on the start path).
pub(crate) fn prepare_dev_null() -> io::Result<()> {
    if DEV_NULL.get().is_none() {
        let null = std::fs::File::open("/dev/null")?;
        let _ = DEV_NULL.set(null.into());
    }
    Ok(())
}

static DEV_NULL: std::sync::OnceLock<OwnedFd> = std::sync::OnceLock::new();

/// Opens `/dev/null` before a fork, so a forked child only has to `dup2` it.
pub(crate) static FORK_HOOK: super::fork_hook::ForkHook = super::fork_hook::ForkHook {
    guards: &[concat!(module_path!(), "::DEV_NULL")],
    prepare: || {
        prepare_dev_null().map_err(|e| super::OsError::new("opening /dev/null", e))?;
        Ok(None)
    },
};

/// Points descriptor `fd` at `/dev/null` (atomically, keeping the number allocated).
pub(crate) fn replace_with_dev_null(fd: RawFd) -> io::Result<()> {
    prepare_dev_null()?;
    let null = DEV_NULL.get().expect("invariant: prepared above");
    // SAFETY: dup2 atomically re-targets `fd`; the caller owns the number (it is a descriptor
    // this process registered) and keeps it allocated, so no other owner is affected.
    cvt_retry(|| unsafe { libc::dup2(null.as_raw_fd(), fd) })?;
    Ok(())
}

/// Replaces descriptor 0 with `/dev/null`, as Python does in its children.
pub(crate) fn stdin_to_dev_null() -> io::Result<()> {
    prepare_dev_null()?;
    let null = DEV_NULL.get().expect("invariant: prepared above");
    // SAFETY: `null` is open; dup2 atomically replaces descriptor 0, which the process owns.
    cvt_retry(|| unsafe { libc::dup2(null.as_raw_fd(), 0) })?;
    Ok(())
}

/// A pipe, both ends close-on-exec: `(read end, write end)`.
pub(crate) fn pipe_cloexec() -> io::Result<(OwnedFd, OwnedFd)> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(io::Error::from)
}

/// Makes descriptor `target` (1 or 2, say) refer to what `fd` refers to.
pub(crate) fn dup_onto(fd: BorrowedFd<'_>, target: RawFd) -> io::Result<()> {
    // SAFETY: `fd` is open for the borrow; dup2 atomically re-targets `target`, a standard
    // descriptor the calling process owns (no owned object holds it).
    cvt_retry(|| unsafe { libc::dup2(fd.as_raw_fd(), target) })?;
    Ok(())
}

/// Replaces descriptor `target` (1 or 2, say) with `/dev/null`.
pub(crate) fn to_dev_null(target: RawFd) -> io::Result<()> {
    prepare_dev_null()?;
    let null = DEV_NULL.get().expect("invariant: prepared above");
    dup_onto(null.as_fd(), target)
}

/// What `poll` reported for one descriptor.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Ready {
    /// Readable, or the peer hung up, or an error is pending (a read will not block).
    pub(crate) readable: bool,
    /// Writable, or an error is pending (a write will not block).
    pub(crate) writable: bool,
}

/// What to wait for on one descriptor.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Interest<'fd> {
    pub(crate) fd: BorrowedFd<'fd>,
    pub(crate) read: bool,
    pub(crate) write: bool,
}

impl<'fd> Interest<'fd> {
    pub(crate) fn read(fd: BorrowedFd<'fd>) -> Self {
        Self {
            fd,
            read: true,
            write: false,
        }
    }

    pub(crate) fn write(fd: BorrowedFd<'fd>) -> Self {
        Self {
            fd,
            read: false,
            write: true,
        }
    }
}

/// Waits until one of `interests` is ready or `deadline` passes (`None`: wait forever).
///
/// Returns `Ok(None)` on timeout. Retries transparently on `EINTR`, recomputing the remaining
/// time from the monotonic clock.
pub(crate) fn poll<const N: usize>(
    interests: [Interest<'_>; N],
    deadline: Option<Instant>,
) -> io::Result<Option<[Ready; N]>> {
    let mut fds = interests.map(|i| {
        let mut events = 0;
        if i.read {
            events |= libc::POLLIN;
        }
        if i.write {
            events |= libc::POLLOUT;
        }
        libc::pollfd {
            fd: i.fd.as_raw_fd(),
            events,
            revents: 0,
        }
    });
    loop {
        let timeout = deadline.map(|d| timespec(d.saturating_duration_since(Instant::now())));
        let tp = timeout
            .as_ref()
            .map_or(std::ptr::null(), std::ptr::from_ref);
        // SAFETY: `fds` is a valid array of N pollfd structures that outlives the call, the
        // descriptors are borrowed for the same duration, and `tp` is null or points at a live
        // timespec.
        let ret = unsafe { libc::ppoll(fds.as_mut_ptr(), N as libc::nfds_t, tp, std::ptr::null()) };
        match cvt(ret) {
            Ok(0) => return Ok(None),
            Ok(_) => {
                return Ok(Some(fds.map(|p| {
                    let err = p.revents & (libc::POLLERR | libc::POLLHUP | libc::POLLNVAL) != 0;
                    Ready {
                        readable: p.revents & libc::POLLIN != 0 || err,
                        writable: p.revents & libc::POLLOUT != 0 || err,
                    }
                })));
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

fn timespec(d: Duration) -> libc::timespec {
    libc::timespec {
        tv_sec: libc::time_t::try_from(d.as_secs()).unwrap_or(libc::time_t::MAX),
        tv_nsec: libc::c_long::from(d.subsec_nanos().cast_signed()),
    }
}

/// Counts this process's open descriptors (`/proc/self/fd`), for leak checks.
///
/// # Errors
/// Reading `/proc/self/fd` failed.
pub fn open_fd_count() -> io::Result<usize> {
    // The directory handle itself is one of the entries while iterating.
    Ok(std::fs::read_dir("/proc/self/fd")?
        .count()
        .saturating_sub(1))
}

/// A new anonymous memory file that can be sealed (`memfd_create`, close-on-exec).
pub(crate) fn sealable_memfd(name: &std::ffi::CStr) -> io::Result<OwnedFd> {
    use nix::sys::memfd::MFdFlags;
    nix::sys::memfd::memfd_create(name, MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING)
        .map_err(io::Error::from)
}

/// The seals that make a memfd immutable: no write, no resize, no further seal changes.
const FROZEN: libc::c_int =
    libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;

/// How many times sealing is tried while the kernel reports the pages busy.
const SEAL_ATTEMPTS: u32 = 4;

/// Seals a memfd against every change, so a receiver can trust its size and content.
///
/// `F_SEAL_WRITE` fails with `EBUSY` while the kernel holds extra references to the file's
/// pages (it waits a little for them first). Just-written pages can be held that way for a
/// while, by another CPU's page batches or by memory monitoring; the seal is then tried again,
/// a few times, before the error is returned.
pub(crate) fn seal_memfd(fd: BorrowedFd<'_>) -> io::Result<()> {
    let mut attempt = 1;
    loop {
        // SAFETY: `fd` is open for the call; F_ADD_SEALS only changes the file's seal set.
        match cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, FROZEN) }) {
            Ok(_) => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && attempt < SEAL_ATTEMPTS => {
                attempt += 1;
                std::thread::yield_now();
            }
            Err(e) => return Err(e),
        }
    }
}

/// Whether a memfd carries every seal of [`seal_memfd`].
pub(crate) fn memfd_is_sealed(fd: BorrowedFd<'_>) -> bool {
    // SAFETY: `fd` is open for the call; F_GET_SEALS only reads the seal set.
    let seals = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GET_SEALS) };
    seals >= 0 && seals & FROZEN == FROZEN
}

/// Waits until one of `fds` is readable (or hung up, or in error) or `deadline` passes
/// (`None`: wait forever). Returns, for each descriptor, whether it is ready (all `false` on
/// timeout). Retries on `EINTR`.
pub(crate) fn poll_readable(
    fds: &[BorrowedFd<'_>],
    deadline: Option<Instant>,
) -> io::Result<Vec<bool>> {
    let mut set: Vec<libc::pollfd> = fds
        .iter()
        .map(|fd| libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    let count = libc::nfds_t::try_from(set.len())
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    loop {
        let timeout = deadline.map(|d| timespec(d.saturating_duration_since(Instant::now())));
        let tp = timeout
            .as_ref()
            .map_or(std::ptr::null(), std::ptr::from_ref);
        // SAFETY: `set` holds `count` pollfd structures and outlives the call; the descriptors
        // are borrowed for the same duration; `tp` is null or points at a live timespec.
        let ret = unsafe { libc::ppoll(set.as_mut_ptr(), count, tp, std::ptr::null()) };
        match cvt(ret) {
            Ok(_) => return Ok(set.iter().map(|p| p.revents != 0).collect()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}
