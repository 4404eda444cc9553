//! The pipe ends open in this process, so a forked child can let go of the ones it inherited.
//!
//! Every [`Endpoint`](super::endpoint::Endpoint) registers its descriptor while it lives. The
//! `Fork` start method holds [`lock_for_fork`]'s guard across `fork()` (so the set cannot be
//! mid-update in the child) and, in the child, calls [`ForkGuard::release_in_child`], which
//! points every registered descriptor at `/dev/null`. The child's own ends (its arguments) are
//! created after that, from the descriptors that travelled with the arguments.
//!
//! Replacing rather than closing matters: the parent's objects that own these numbers still
//! exist in the child's copy of memory, and if one were dropped there, closing a reused number
//! would close an unrelated file. A replaced number stays reserved until then.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::sys;

static LIVE: Mutex<Vec<RawFd>> = Mutex::new(Vec::new());

fn live() -> MutexGuard<'static, Vec<RawFd>> {
    LIVE.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) fn register(fd: RawFd) {
    live().push(fd);
}

pub(crate) fn unregister(fd: RawFd) {
    let mut live = live();
    if let Some(i) = live.iter().position(|&f| f == fd) {
        live.swap_remove(i);
    }
}

/// Registers descriptors this process holds for a child it is starting (the duplicates in
/// its encoded arguments): until [`let_go`], a child that another thread forks meanwhile lets
/// go of them too, instead of keeping the other end of someone else's pipe open for its whole
/// life (its peer would then never see the end of the stream).
pub(crate) fn hold(fds: &[OwnedFd]) {
    if !fds.is_empty() {
        live().extend(fds.iter().map(AsRawFd::as_raw_fd));
    }
}

/// Closes descriptors registered by [`hold`] and forgets them, in one step under the lock a
/// fork holds: no child is forked between the two (one that inherited a still-registered
/// descriptor lets go of it; a closed number reused meanwhile is never taken for it).
pub(crate) fn let_go(fds: Vec<OwnedFd>) {
    if !fds.is_empty() {
        forget(&mut live(), fds);
    }
}

fn forget(live: &mut Vec<RawFd>, fds: Vec<OwnedFd>) {
    for fd in fds {
        if let Some(i) = live.iter().position(|&f| f == fd.as_raw_fd()) {
            live.swap_remove(i);
        }
        drop(fd);
    }
}

/// Held across `fork()`.
#[derive(Debug)]
pub(crate) struct ForkGuard(MutexGuard<'static, Vec<RawFd>>);

/// Locks the set of live ends for the duration of a fork.
pub(crate) fn lock_for_fork() -> ForkGuard {
    ForkGuard(live())
}

impl ForkGuard {
    /// [`let_go`] while the lock is held (by this fork's parent, for the arguments it sent).
    pub(crate) fn let_go(&mut self, fds: Vec<OwnedFd>) {
        forget(&mut self.0, fds);
    }

    /// In the child: detaches every inherited end except `keep` (the child's own arguments)
    /// and forgets them all.
    pub(crate) fn release_in_child(mut self, keep: &[OwnedFd]) {
        if self.0.is_empty() {
            // The usual case; the child then runs no more code here than this test.
            return;
        }
        for fd in self.0.drain(..) {
            if keep.iter().any(|k| k.as_raw_fd() == fd) {
                continue;
            }
            // A failure leaves that end open in the child: the pipe then ends with the child.
            let _ = sys::fd::replace_with_dev_null(fd);
        }
    }
}
