//! Process-level system calls: fork, pidfds, waiting, signals, parent death.

use std::ffi::c_void;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use super::cvt;

/// How a process ended, as the kernel reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExitStatus {
    /// It called `exit(code)` (or returned from `main`); only the low 8 bits survive.
    Code(i32),
    /// It was ended by this signal.
    Signaled(i32),
}

impl ExitStatus {
    /// `true` for exit code 0.
    #[must_use]
    pub fn success(self) -> bool {
        self == ExitStatus::Code(0)
    }

    /// The exit code, if it exited rather than being ended by a signal.
    #[must_use]
    pub fn code(self) -> Option<i32> {
        match self {
            ExitStatus::Code(c) => Some(c),
            ExitStatus::Signaled(_) => None,
        }
    }

    /// The signal that ended it, if any.
    #[must_use]
    pub fn signal(self) -> Option<i32> {
        match self {
            ExitStatus::Code(_) => None,
            ExitStatus::Signaled(s) => Some(s),
        }
    }

    /// Python's `Process.exitcode`: the code, or minus the signal number.
    #[must_use]
    pub fn python_exitcode(self) -> i32 {
        match self {
            ExitStatus::Code(c) => c,
            ExitStatus::Signaled(s) => -s,
        }
    }
}

impl std::fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            ExitStatus::Code(c) => write!(f, "exit code {c}"),
            ExitStatus::Signaled(s) => write!(f, "signal {s} ({})", signal_name(s)),
        }
    }
}

/// The conventional name of a signal number (`SIGKILL`), or `"unknown signal"`.
#[must_use]
pub fn signal_name(signal: i32) -> &'static str {
    nix::sys::signal::Signal::try_from(signal).map_or("unknown signal", |s| s.as_str())
}

/// Which side of a `fork` this is.
pub(crate) enum Forked {
    Child,
    Parent(libc::pid_t),
}

/// Forks the calling process.
///
/// # Safety
/// In a multithreaded process, the child has only the calling thread; until it execs or exits
/// it must not depend on locks or state that another thread may have held at the time of the
/// fork. The caller is responsible for holding (or resetting) every lock the child will use.
pub(crate) unsafe fn fork() -> io::Result<Forked> {
    // SAFETY: forwarded to the caller (see `# Safety`).
    let pid = cvt(unsafe { libc::fork() })?;
    Ok(if pid == 0 {
        Forked::Child
    } else {
        Forked::Parent(pid)
    })
}

/// A pidfd for a child (or any process) that has not been reaped yet.
pub(crate) fn pidfd_open(pid: libc::pid_t) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, libc::PIDFD_NONBLOCK) };
    let fd = cvt(fd)?;
    let fd = i32::try_from(fd).map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?;
    // SAFETY: the kernel just created `fd` for us and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Sends `signal` to the process behind `pidfd` (immune to pid reuse).
///
/// A process that already exited but is not reaped yet is not an error.
pub(crate) fn pidfd_send_signal(pidfd: BorrowedFd<'_>, signal: i32) -> io::Result<()> {
    // SAFETY: a valid pidfd, a signal number, a null siginfo (kernel fills it) and flags 0.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            signal,
            std::ptr::null::<c_void>(),
            0,
        )
    };
    match cvt(ret) {
        Ok(_) => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::ESRCH) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Reaps the child behind `pidfd` if it has ended; `Ok(None)` while it runs.
pub(crate) fn try_reap(pidfd: BorrowedFd<'_>) -> io::Result<Option<ExitStatus>> {
    // SAFETY: siginfo_t is plain data; all-zero is a valid (empty) value.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `info` is a valid out-pointer; P_PIDFD with a pidfd we own; WNOHANG never
        // blocks.
        let ret = unsafe {
            libc::waitid(
                libc::P_PIDFD,
                libc::id_t::try_from(pidfd.as_raw_fd()).unwrap_or_default(),
                &raw mut info,
                libc::WEXITED | libc::WNOHANG,
            )
        };
        match cvt(ret) {
            Ok(_) => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    // SAFETY: waitid filled `info` for a child-state change (or left it zeroed for "still
    // running", which si_pid() == 0 detects); these accessors read the SIGCHLD union arm.
    let (pid, status) = unsafe { (info.si_pid(), info.si_status()) };
    if pid == 0 {
        return Ok(None);
    }
    Ok(Some(match info.si_code {
        libc::CLD_EXITED => ExitStatus::Code(status),
        _ => ExitStatus::Signaled(status),
    }))
}

/// Asks the kernel to send `SIGKILL` to this process when its parent (thread) dies.
pub(crate) fn set_parent_death_signal() -> io::Result<()> {
    // SAFETY: PR_SET_PDEATHSIG takes a signal number; no pointers involved.
    cvt(unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) })?;
    Ok(())
}

/// The parent's pid.
pub(crate) fn getppid() -> libc::pid_t {
    nix::unistd::getppid().as_raw()
}

/// This process's pid.
pub(crate) fn getpid() -> libc::pid_t {
    nix::unistd::getpid().as_raw()
}

/// This process's effective user id.
pub(crate) fn geteuid() -> libc::uid_t {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Ends the process at once: no atexit handlers, no destructors, no stdio flush.
pub(crate) fn exit_now(code: i32) -> ! {
    // SAFETY: _exit is always safe to call; it does not return.
    unsafe { libc::_exit(code) }
}

/// Ignores `SIGPIPE`, as Rust's runtime does before `main`: a write to a closed pipe is `EPIPE`.
pub(crate) fn ignore_sigpipe() {
    // SAFETY: SIG_IGN is always a valid disposition; the previous one is not needed.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
}

/// How many CPUs this process may run on (its affinity mask), at least 1.
pub(crate) fn affinity_cpu_count() -> usize {
    match nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0)) {
        Ok(set) => (0..nix::sched::CpuSet::count())
            .filter(|&i| set.is_set(i).unwrap_or(false))
            .count()
            .max(1),
        Err(_) => std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
    }
}

/// The load address of the object (executable or shared library) that contains `addr`.
pub(crate) fn object_base(addr: usize) -> Option<usize> {
    // SAFETY: Dl_info is plain data; all-zero is a valid value to be overwritten.
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    // SAFETY: dladdr only reads the address (it is never dereferenced) and fills `info`.
    let found = unsafe { libc::dladdr(addr as *const c_void, &raw mut info) };
    (found != 0).then_some(info.dli_fbase as usize)
}

/// Kills and reaps a child we cannot otherwise manage (clean-up after a failed start).
pub(crate) fn kill_and_reap(pid: libc::pid_t) {
    let pid = nix::unistd::Pid::from_raw(pid);
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::SIGKILL);
    let _ = nix::sys::wait::waitpid(pid, None);
}

/// Ignores `SIGINT` (`true`) or restores its default action (`false`). The fork server ignores
/// it so a terminal's Ctrl-C reaches only the program, which decides; its children restore it.
pub(crate) fn ignore_sigint(ignore: bool) {
    let action = if ignore { libc::SIG_IGN } else { libc::SIG_DFL };
    // SAFETY: SIG_IGN and SIG_DFL are always valid dispositions; the previous one is not needed.
    unsafe { libc::signal(libc::SIGINT, action) };
}

/// Makes glibc's `malloc` keep up to `bytes` of freed memory at the top of the heap, and serve
/// blocks below that size from the heap, instead of handing them back to the kernel after each
/// use. A pool worker allocates its chunk's arguments and results afresh for every chunk;
/// without this, glibc returns them after each chunk, and every page of the next chunk's
/// buffers is faulted in and zeroed again (a quarter of a worker's CPU time on large chunks of
/// small items). The memory kept is bounded by `bytes`, and returned when the process ends.
///
/// Only glibc has these settings (another C library, or a Rust global allocator, is left
/// alone); a failure leaves its defaults, which are correct, only slower.
pub(crate) fn keep_freed_heap(bytes: usize) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let bytes = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
        // SAFETY: mallopt takes two integers and changes only the allocator's thresholds,
        // which it guards with its own lock; no pointer is passed.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, bytes);
            libc::mallopt(libc::M_TRIM_THRESHOLD, bytes);
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = bytes;
}

/// Marks every descriptor from `first` up close-on-exec, so an `exec` that follows keeps only
/// the descriptors below `first` (stdio, for `first == 3`). Meant for the moment between
/// `fork` and `exec` (`CommandExt::pre_exec`): it only makes system calls, never allocates or
/// takes a lock, so it is async-signal-safe.
///
/// Uses `close_range(CLOSE_RANGE_CLOEXEC)` (Linux 5.11); on older kernels, `fcntl` on every
/// number below the descriptor limit.
pub(crate) fn cloexec_from(first: libc::c_uint) -> io::Result<()> {
    // SAFETY: close_range takes two descriptor numbers and flags; no pointers.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first,
            libc::c_uint::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    if ret == 0 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    if !matches!(err.raw_os_error(), Some(libc::ENOSYS | libc::EINVAL)) {
        return Err(err);
    }
    // SAFETY: rlimit is plain data; all-zero is a valid value to be overwritten.
    let mut limit: libc::rlimit = unsafe { std::mem::zeroed() };
    // SAFETY: a valid out-pointer for RLIMIT_NOFILE.
    cvt(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &raw mut limit) })?;
    let end = libc::c_int::try_from(limit.rlim_cur).unwrap_or(libc::c_int::MAX);
    let first = libc::c_int::try_from(first).unwrap_or(libc::c_int::MAX);
    for fd in first..end {
        // SAFETY: F_SETFD on any number is harmless: a closed one fails with EBADF, ignored.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    Ok(())
}

/// Whether this process was started by a privilege-changing exec (set-user-ID or
/// set-group-ID, or file capabilities): the kernel's `AT_SECURE`. Such a process must not take
/// instructions from its environment, which the less privileged user who started it chose.
pub(crate) fn secure_exec() -> bool {
    // SAFETY: getauxval only reads the auxiliary vector the kernel gave this process.
    unsafe { libc::getauxval(libc::AT_SECURE) != 0 }
}
