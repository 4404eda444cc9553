//! The pipe ends open in this process, so a forked child can let go of the ones it inherited.
//!
//! Every [`Endpoint`](super::endpoint::Endpoint) registers its descriptor while it lives. The
//! set's lock is held across `fork()` ([`FORK_HOOK`], so the set cannot be mid-update in the
//! child); in the parent the fork hook closes the descriptors sent to the child, and in the
//! child it points every other registered descriptor at `/dev/null`. The child's own ends (its arguments) are
//! created after that, from the descriptors that travelled with the arguments.
//!
//! Replacing rather than closing matters: the parent's objects that own these numbers still
//! exist in the child's copy of memory, and if one were dropped there, closing a reused number
//! would close an unrelated file. A replaced number stays reserved until then.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::sys;
use crate::sys::fork_hook::{ForkContext, ForkHook, Held};

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

/// The set of live ends, locked across `fork()`.
pub(crate) static FORK_HOOK: ForkHook = ForkHook {
    guards: &[concat!(module_path!(), "::LIVE")],
    prepare: || Ok(Some(Box::new(ForkGuard(live())))),
};

/// The set's lock, held across `fork()`.
#[derive(Debug)]
struct ForkGuard(MutexGuard<'static, Vec<RawFd>>);

impl Held for ForkGuard {
    /// [`let_go`] of the descriptors sent to the child, while the lock is held: closed before
    /// the lock is let go of, so no other fork sees them unregistered.
    fn in_parent(mut self: Box<Self>, fork: &mut ForkContext) {
        forget(&mut self.0, std::mem::take(&mut fork.child_fds));
    }

    /// Detaches every inherited end except the child's own arguments, and forgets them all.
    fn in_child(mut self: Box<Self>, fork: &mut ForkContext) {
        if self.0.is_empty() {
            // The usual case; the child then runs no more code here than this test.
            return;
        }
        for fd in self.0.drain(..) {
            if fork.child_fds.iter().any(|k| k.as_raw_fd() == fd) {
                continue;
            }
            // A failure leaves that end open in the child: the pipe then ends with the child.
            let _ = sys::fd::replace_with_dev_null(fd);
        }
    }
}
