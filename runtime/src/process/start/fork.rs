//! The `Fork` start method: the child is a copy of the parent at the moment of the call.

use std::io::{StderrLock, StdoutLock, Write};
use std::sync::MutexGuard;

use crate::process::SpawnError;
use crate::process::child::main::{self as child_main, ChildSpec};
use crate::process::child::outcome::ReportTo;
use crate::process::parent::launch::HeldArgs;
use crate::process::parent::registry::Registry;
use crate::sys::OsContext;
use crate::sys::{self, proc::Forked};

/// Forks a child that runs `spec` with `args`, reporting to `report`.
///
/// Every lock the child will use is held across the fork, so the child never inherits one
/// locked by a thread that does not exist in it: the registry (reset in the child), the set of
/// live pipe ends (detached in the child), the identity (rewritten in the child), the fork
/// server's state (the child lets go of this process's server), stdout and stderr (flushed
/// first; a child that prints would otherwise deadlock), the result slots and overflow
/// listener (forgotten in the child). Lazily initialized state the child reads is initialized
/// before the fork (see `launch`).
pub(crate) fn start(
    mut registry: MutexGuard<'static, Registry>,
    spec: ChildSpec,
    args: HeldArgs,
    report: ReportTo,
) -> Result<(libc::pid_t, MutexGuard<'static, Registry>), SpawnError> {
    let mut pipe_ends = crate::pipe::inherited::lock_for_fork();
    let identity = crate::process::identity::lock_for_fork();
    let stdio = StdioLock::acquire();
    let server = crate::process::start::forkserver::lock_for_fork();
    let slots = crate::process::parent::slot::lock_for_fork();
    // SAFETY: the child only uses locks this thread holds (registry, stdio), which it resets or
    // releases first. Other threads' state is the documented hazard of `Fork` in a
    // multithreaded program (see `StartMethod::Fork`).
    match unsafe { sys::proc::fork() } {
        Err(e) => {
            drop(slots);
            drop(server);
            drop(stdio);
            drop(identity);
            pipe_ends.let_go(args.into_inner().fds);
            drop(pipe_ends);
            Err(SpawnError::os("fork")(e))
        }
        Ok(Forked::Parent(pid)) => {
            drop(slots);
            drop(server);
            drop(stdio);
            drop(identity);
            // Closed before the lock is let go: no other fork sees them unregistered.
            pipe_ends.let_go(args.into_inner().fds);
            drop(pipe_ends);
            drop(report);
            Ok((pid, registry))
        }
        Ok(Forked::Child) => {
            slots.release_in_child();
            registry.reset_in_child();
            drop(registry);
            server.release_in_child();
            drop(stdio);
            let args = args.into_inner();
            pipe_ends.release_in_child(&args.fds);
            child_main::run(spec, args, report, Some(identity))
        }
    }
}

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
