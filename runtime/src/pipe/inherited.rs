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

use std::os::fd::RawFd;
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

/// Held across `fork()`.
#[derive(Debug)]
pub(crate) struct ForkGuard(MutexGuard<'static, Vec<RawFd>>);

/// Locks the set of live ends for the duration of a fork.
pub(crate) fn lock_for_fork() -> ForkGuard {
    ForkGuard(live())
}

impl ForkGuard {
    /// In the child: detaches every inherited end and forgets them.
    pub(crate) fn release_in_child(mut self) {
        if self.0.is_empty() {
            // The usual case; the child then runs no more code here than this test.
            return;
        }
        for fd in self.0.drain(..) {
            // A failure leaves that end open in the child: the pipe then ends with the child.
            let _ = sys::fd::replace_with_dev_null(fd);
        }
    }
}
