//! Bounded joins, and counts of this process's children, descriptors and memory mappings.

use std::os::fd::{AsFd, FromRawFd, OwnedFd};
use std::time::Duration;

use mproc::{Child, ProcessError};
use serde::de::DeserializeOwned;

use crate::TIMEOUT;

/// Joins `child` within [`TIMEOUT`]; a child still running then is killed and the test fails.
///
/// # Errors
/// Whatever the child's join returned.
///
/// # Panics
/// If the child is still running after [`TIMEOUT`].
pub fn join<R: DeserializeOwned>(child: &Child<R>) -> Result<R, ProcessError> {
    match child.join_timeout(TIMEOUT) {
        Err(ProcessError::Timeout) => {
            let _ = child.kill();
            panic!(
                "child {} ({}) still running after {TIMEOUT:?}",
                child.pid(),
                child.name()
            );
        }
        other => other,
    }
}

/// Waits until process `pid` (any process, not only a child) has exited, by polling a pidfd
/// for it. Returns `false` if it still runs after `timeout`.
///
/// # Panics
/// If the pidfd cannot be polled.
#[must_use]
pub fn wait_for_exit(pid: i32, timeout: Duration) -> bool {
    // SAFETY: pidfd_open takes a pid and flags, and returns a new descriptor or -1.
    let raw = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    let Ok(raw) = i32::try_from(raw) else {
        return true;
    };
    if raw < 0 {
        return true; // ESRCH: it is gone (and reaped) already
    }
    // SAFETY: the kernel just created `raw` for us; nothing else owns it.
    let pidfd = unsafe { OwnedFd::from_raw_fd(raw) };
    let mut fds = [nix::poll::PollFd::new(
        pidfd.as_fd(),
        nix::poll::PollFlags::POLLIN,
    )];
    let ms = u16::try_from(timeout.as_millis()).unwrap_or(u16::MAX);
    nix::poll::poll(&mut fds, ms).expect("poll pidfd") > 0
}

/// Pids of this process's children that exist (running or zombie), from /proc.
#[must_use]
pub fn children_of_self() -> Vec<i32> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return out;
    };
    for task in dir.flatten() {
        if let Ok(text) = std::fs::read_to_string(task.path().join("children")) {
            out.extend(
                text.split_whitespace()
                    .filter_map(|p| p.parse::<i32>().ok()),
            );
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Whether process `pid` exists and is not a zombie.
#[must_use]
pub fn is_running(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state is the field after the parenthesized command name.
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z')),
        Err(_) => false,
    }
}

/// Number of open descriptors of this process.
///
/// # Panics
/// If /proc/self/fd cannot be read.
#[must_use]
pub fn fd_count() -> usize {
    mproc::diag::open_fd_count().expect("/proc/self/fd")
}

/// Number of memory mappings of this process.
///
/// # Panics
/// If /proc/self/maps cannot be read.
#[must_use]
pub fn mapping_count() -> usize {
    std::fs::read_to_string("/proc/self/maps")
        .expect("/proc/self/maps")
        .lines()
        .count()
}
