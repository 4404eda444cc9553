//! The `Fork` start method: the child is a copy of the parent at the moment of the call.
//!
//! A fork copies every lock as it is at that moment, and only the forking thread. So every
//! module that keeps process-global state contributes a fork hook (see `sys::fork_hook`), and
//! [`HOOKS`] lists them: before the fork their prepare steps make lazily made state and take
//! their locks, in list order; after it each is released in reverse order, in the parent as it
//! was and in the child reset for the child (the child lets go of the parent's pipe ends, fork
//! server, result slots and children, and installs its own identity).

use std::io::{StderrLock, StdoutLock, Write};

use crate::codec::Encoded;
use crate::process::SpawnError;
use crate::process::child::main::{self as child_main, ChildSpec};
use crate::process::child::outcome::ReportTo;
use crate::process::identity;
use crate::process::panic;
use crate::process::parent::launch::HeldArgs;
use crate::process::parent::{registry, slot};
use crate::process::start::forkserver;
use crate::sys::fork_hook::{self, ForkContext, ForkHook, ReleaseBoth};
use crate::sys::{self, proc::Forked};

/// The fork hooks, in the order their locks are taken (and the reverse of the order they are
/// released in). A lock taken inside another's critical section comes after it here: the
/// registry drops children (and their result slots) while it is held, so it precedes the slots.
static HOOKS: [&ForkHook; 8] = [
    // Lazily made state, no lock.
    &crate::wire::FORK_HOOK,
    &sys::fd::FORK_HOOK,
    // Locks.
    &registry::FORK_HOOK,
    &crate::pipe::inherited::FORK_HOOK,
    &identity::FORK_HOOK,
    &STDIO_HOOK,
    &forkserver::FORK_HOOK,
    &slot::FORK_HOOK,
];

/// Hooks that only tests register.
#[cfg(not(test))]
static TEST_HOOKS: [&ForkHook; 0] = [];
#[cfg(test)]
static TEST_HOOKS: [&ForkHook; 1] = [&tests::PROBE];

/// Forks a child that runs `spec` with `args`, reporting to `report`; returns its pid.
///
/// Every lock the child will use is held across the fork (see [`HOOKS`]), so the child never
/// inherits one locked by a thread that does not exist in it.
pub(crate) fn start(
    spec: ChildSpec,
    args: HeldArgs,
    report: ReportTo,
) -> Result<libc::pid_t, SpawnError> {
    // The child inherits the hook that records its panics: installing it there could wait
    // forever on std's hook lock (see `process::panic`).
    panic::install_hook();
    let mut fork = ForkContext::default();
    let held = fork_hook::prepare(HOOKS.iter().chain(&TEST_HOOKS).copied(), &mut fork)?;
    // From here the pipe hook owns the release of the argument descriptors (under its lock).
    let Encoded { bytes, fds } = args.into_inner();
    fork.child_fds = fds;
    // SAFETY: the child only uses locks this thread holds (the hooks'), which it resets or
    // releases first. Other threads' state is the documented hazard of `Fork` in a
    // multithreaded program (see `StartMethod::Fork`).
    match unsafe { sys::proc::fork() } {
        Err(e) => {
            held.in_parent(&mut fork);
            Err(sys::OsError::new("fork", e).into())
        }
        Ok(Forked::Parent(pid)) => {
            held.in_parent(&mut fork);
            drop(report);
            Ok(pid)
        }
        Ok(Forked::Child) => {
            held.in_child(&mut fork);
            let args = Encoded {
                bytes,
                fds: fork.child_fds,
            };
            child_main::run(spec, args, report)
        }
    }
}

/// Stdout and stderr, flushed first and locked across the fork: a child that prints would
/// otherwise deadlock on a lock another thread held.
static STDIO_HOOK: ForkHook = ForkHook {
    guards: &["std::io::stdout", "std::io::stderr"],
    prepare: || Ok(Some(Box::new(ReleaseBoth::new(StdioLock::acquire())))),
};

/// Flushed and locked stdout and stderr, held across `fork`.
struct StdioLock {
    _out: StdoutLock<'static>,
    _err: StderrLock<'static>,
}

impl StdioLock {
    fn acquire() -> Self {
        let mut out = std::io::stdout().lock();
        let _ = out.flush();
        let mut err = std::io::stderr().lock();
        let _ = err.flush();
        Self {
            _out: out,
            _err: err,
        }
    }
}

#[cfg(test)]
mod tests;
