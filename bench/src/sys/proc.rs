//! fork, execve and waitpid, used directly: the floor of starting and ending a process.

use std::ffi::CStr;
use std::fmt;
use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};

use super::cvt;

/// A child's process id.
pub(crate) type Pid = libc::pid_t;

/// Forks; the child runs `body` and ends with `_exit` (0 on `Ok`, 1 on `Err` after printing
/// it to stderr, 101 on a panic), never returning into the caller's code.
///
/// The benchmark's measuring processes are single-threaded when they fork, so the child may
/// allocate and use the standard library freely.
pub(crate) fn fork_child<E: fmt::Display>(body: impl FnOnce() -> Result<(), E>) -> io::Result<Pid> {
    // SAFETY: fork has no memory-safety preconditions; in the child we only run `body` and
    // `_exit`, never returning to the caller's stack frames above this one.
    let pid = cvt(unsafe { libc::fork() })?;
    if pid != 0 {
        return Ok(pid);
    }
    let code = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => 0,
        Ok(Err(message)) => {
            eprintln!("floor child: {message}");
            1
        }
        Err(_) => 101,
    };
    // SAFETY: `_exit` ends the process without running the parent's atexit handlers or
    // destructors twice; it is always safe to call.
    unsafe { libc::_exit(code) }
}

/// Forks a child that ends immediately with `_exit(0)`: the smallest possible child.
pub(crate) fn fork_exit_now() -> io::Result<Pid> {
    // SAFETY: the child does nothing but `_exit`, which is async-signal-safe.
    let pid = cvt(unsafe { libc::fork() })?;
    if pid == 0 {
        // SAFETY: see above.
        unsafe { libc::_exit(0) }
    }
    Ok(pid)
}

/// Forks a child that executes `path` (no arguments, empty environment).
pub(crate) fn fork_exec(path: &CStr) -> io::Result<Pid> {
    // Built before fork: the child only calls async-signal-safe functions.
    let argv = [path.as_ptr(), std::ptr::null()];
    let envp = [std::ptr::null::<libc::c_char>()];
    // SAFETY: the child calls only execve and _exit (async-signal-safe) on memory that was
    // prepared before the fork and stays valid in the child's copy of the address space.
    let pid = cvt(unsafe { libc::fork() })?;
    if pid == 0 {
        // SAFETY: `argv` and `envp` are null-terminated arrays of valid C strings.
        unsafe {
            libc::execve(path.as_ptr(), argv.as_ptr(), envp.as_ptr());
            libc::_exit(127);
        }
    }
    Ok(pid)
}

/// Waits for `pid` and fails unless it exited with code 0.
pub(crate) fn wait_ok(pid: Pid) -> io::Result<()> {
    let mut status = 0;
    loop {
        // SAFETY: `status` is a valid out-pointer for the duration of the call.
        match cvt(unsafe { libc::waitpid(pid, &raw mut status, 0) }) {
            Ok(_) => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
        Ok(())
    } else if libc::WIFEXITED(status) {
        Err(io::Error::other(format!(
            "child {pid} exited with code {}",
            libc::WEXITSTATUS(status)
        )))
    } else {
        Err(io::Error::other(format!(
            "child {pid} ended by signal {}",
            libc::WTERMSIG(status)
        )))
    }
}

/// Waits for every pid in `pids`, reporting the first failure after all are reaped.
pub(crate) fn wait_all_ok(pids: &[Pid]) -> io::Result<()> {
    let mut first = Ok(());
    for &pid in pids {
        let result = wait_ok(pid);
        if first.is_ok() {
            first = result;
        }
    }
    first
}

/// Sends SIGKILL to every process of the process group `group` (one the runner created for a
/// measuring process it started, so that process's children go too).
pub(crate) fn kill_group(group: Pid) {
    if group > 1 {
        // SAFETY: kill has no memory-safety preconditions; a negative pid names a group.
        unsafe {
            libc::kill(-group, libc::SIGKILL);
        }
    }
}
