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
//!
//! The child remembers the numbers it replaced ([`was_detached`]), so that an end it reaches
//! without having been given it (through a static, say) reports
//! [`PipeError::NotPassed`](super::PipeError::NotPassed) instead of the raw error of a socket
//! call on `/dev/null`.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::sys;
use crate::sys::fork_hook::{ForkContext, ForkHook, Held};

/// The descriptors of this process's pipe ends, and those it inherited but was not given.
#[derive(Debug)]
struct Ends {
    /// Descriptors of live ends (and of ends being sent to a child, see [`hold`]).
    live: Vec<RawFd>,
    /// Descriptors of inherited ends replaced with `/dev/null` in this (forked) process,
    /// until their end is dropped.
    detached: Vec<RawFd>,
}

static LIVE: Mutex<Ends> = Mutex::new(Ends {
    live: Vec::new(),
    detached: Vec::new(),
});

/// Whether [`Ends::detached`] may be non-empty: lets [`was_detached`] skip the lock in every
/// process that never detached an end.
static ANY_DETACHED: AtomicBool = AtomicBool::new(false);

fn ends() -> MutexGuard<'static, Ends> {
    LIVE.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) fn register(fd: RawFd) {
    ends().live.push(fd);
}

/// Forgets `fd`: its end is being dropped (the number may be reused afterwards).
pub(crate) fn unregister(fd: RawFd) {
    let mut ends = ends();
    remove(&mut ends.live, fd);
    if ANY_DETACHED.load(Ordering::Relaxed) {
        remove(&mut ends.detached, fd);
    }
}

fn remove(set: &mut Vec<RawFd>, fd: RawFd) -> bool {
    let found = set.iter().position(|&f| f == fd);
    if let Some(i) = found {
        set.swap_remove(i);
    }
    found.is_some()
}

/// Whether `fd` is the descriptor of an end this process inherited from the parent it was
/// forked from without being given it (and which therefore no longer refers to the pipe).
pub(crate) fn was_detached(fd: RawFd) -> bool {
    // Relaxed: the flag is set by the child's fork hook on the only thread the child has
    // before any end can be used, and the set itself is read under the lock.
    ANY_DETACHED.load(Ordering::Relaxed) && ends().detached.contains(&fd)
}

/// Registers descriptors this process holds for a child it is starting (the duplicates in
/// its encoded arguments): until [`let_go`], a child that another thread forks meanwhile lets
/// go of them too, instead of keeping the other end of someone else's pipe open for its whole
/// life (its peer would then never see the end of the stream).
pub(crate) fn hold(fds: &[OwnedFd]) {
    if !fds.is_empty() {
        ends().live.extend(fds.iter().map(AsRawFd::as_raw_fd));
    }
}

/// Closes descriptors registered by [`hold`] and forgets them, in one step under the lock a
/// fork holds: no child is forked between the two (one that inherited a still-registered
/// descriptor lets go of it; a closed number reused meanwhile is never taken for it).
pub(crate) fn let_go(fds: Vec<OwnedFd>) {
    if !fds.is_empty() {
        forget(&mut ends().live, fds);
    }
}

fn forget(live: &mut Vec<RawFd>, fds: Vec<OwnedFd>) {
    for fd in fds {
        remove(live, fd.as_raw_fd());
        drop(fd);
    }
}

/// The set of live ends, locked across `fork()`.
pub(crate) static FORK_HOOK: ForkHook = ForkHook {
    guards: &[concat!(module_path!(), "::LIVE")],
    prepare: || Ok(Some(Box::new(ForkGuard(Some(ends()))))),
};

/// The set's lock, held across `fork()` (taken out in the child to be released).
#[derive(Debug)]
struct ForkGuard(Option<MutexGuard<'static, Ends>>);

impl Held for ForkGuard {
    /// [`let_go`] of the descriptors sent to the child, while the lock is held: closed before
    /// the lock is let go of, so no other fork sees them unregistered.
    fn in_parent(mut self: Box<Self>, fork: &mut ForkContext) {
        if let Some(ends) = &mut self.0 {
            forget(&mut ends.live, std::mem::take(&mut fork.child_fds));
        }
    }

    /// Detaches every inherited end except the child's own arguments, and remembers them as
    /// detached.
    fn in_child(&mut self, fork: &mut ForkContext) {
        let Some(mut ends) = self.0.take() else {
            return;
        };
        if ends.live.is_empty() {
            // The usual case; the child then runs no more code here than this test.
            return;
        }
        let Ends { live, detached } = &mut *ends;
        for fd in live.drain(..) {
            if fork.child_fds.iter().any(|k| k.as_raw_fd() == fd) {
                continue;
            }
            // A failure leaves that end open in the child: the pipe then ends with the child.
            if sys::fd::replace_with_dev_null(fd).is_ok() {
                detached.push(fd);
            }
        }
        if !detached.is_empty() {
            ANY_DETACHED.store(true, Ordering::Relaxed);
        }
    }
}
