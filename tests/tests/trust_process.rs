//! The trust boundary of processes: what another process of the same user can do to a parent
//! and its children, and what a child inherits that it was not given.
//!
//! - A `Fork` child's large outcome travels to its parent's result listener, an abstract
//!   socket any same-user process can find (in `/proc/net/unix`) and connect to. A forged
//!   delivery aimed at a live child's ticket must never become that child's result, and idle
//!   connections must not grow the parent without bound.
//! - A `Spawn` (or fork server) child holds only the descriptors it is given, plus stdio: a
//!   descriptor the parent holds without close-on-exec is not open in it.

#![allow(
    clippy::needless_pass_by_value,
    reason = "process targets take their arguments by value: they arrive deserialized"
)]

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use integration_tests::procs;
use mproc::prelude::*;

/// Whether descriptor `fd` is open in this process.
fn fd_is_open(fd: RawFd) -> bool {
    // SAFETY: F_GETFD only reads the flags of the descriptor; any number is a valid argument.
    unsafe { libc::fcntl(fd, libc::F_GETFD) != -1 }
}

#[test]
fn spawned_children_do_not_inherit_descriptors_they_were_not_given() {
    // SAFETY: a NUL-terminated path and plain flags.
    let raw = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    assert!(raw >= 0, "open /dev/null");
    // SAFETY: just opened; nothing else owns it.
    let original = unsafe { OwnedFd::from_raw_fd(raw) };
    // F_DUPFD (not F_DUPFD_CLOEXEC): a copy *without* close-on-exec, at a number far above
    // anything a child opens for itself, so a child's own descriptor cannot be mistaken for it.
    // SAFETY: duplicates a descriptor this test owns; the copy is owned below.
    let high = unsafe { libc::fcntl(original.as_raw_fd(), libc::F_DUPFD, 900) };
    assert!(high >= 900, "F_DUPFD");
    // SAFETY: just made; nothing else owns it.
    let leaky = unsafe { OwnedFd::from_raw_fd(high) };
    assert!(fd_is_open(high));
    for method in [StartMethod::Spawn, StartMethod::ForkServer] {
        let child = Process::new(fd_is_open, high)
            .start_method(method)
            .start()
            .unwrap();
        let open = procs::join(&child).unwrap();
        assert!(
            !open,
            "{method}: the parent's descriptor {high} (no close-on-exec) is open in the child"
        );
    }
    drop(leaky);
}
