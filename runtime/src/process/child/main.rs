//! What every child runs once its arguments are at hand, whatever started it.

use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};

use crate::codec::Encoded;
use crate::process::StartMethod;
use crate::process::child::entry::{EntryPoint, Outcome};
use crate::process::child::outcome::{self, ReportTo};
use crate::process::identity::{self, Identity};
use crate::process::panic;
use crate::process::parent::registry;
use crate::process::stdio;
use crate::sys;

/// Everything a child needs besides its arguments.
#[derive(Debug)]
pub(crate) struct ChildSpec {
    pub(crate) entry: EntryPoint,
    pub(crate) identity: Identity,
    pub(crate) parent_pid: libc::pid_t,
    pub(crate) parent_name: String,
    /// How the child is being created.
    pub(crate) method: StartMethod,
    /// The program authkey to install before the function runs: the parent's, carried by the
    /// bootstrap of a `Spawn` or fork-server child. `None` for a forked child, which has it in
    /// its copy of the parent's memory.
    pub(crate) authkey: Option<Vec<u8>>,
}

/// Runs the child's function, reports its outcome to `report`, and ends the process.
pub(crate) fn run(spec: ChildSpec, mut args: Encoded, report: ReportTo) -> ! {
    if spec.identity.daemon {
        // The kernel kills us when the parent goes; if it already went, getppid() says so
        // (we were reparented), and we must not run at all.
        if sys::proc::set_parent_death_signal().is_err() || sys::proc::getppid() != spec.parent_pid
        {
            sys::proc::exit_now(1);
        }
    }
    if let Some(key) = &spec.authkey {
        crate::auth::set_program_key(key);
    }
    identity::install_child(
        spec.identity,
        spec.parent_pid,
        spec.parent_name,
        spec.method,
    );
    // As in Python, children do not read the parent's stdin. A fork server's child inherits
    // the server's, which is already `/dev/null`.
    if spec.method != StartMethod::ForkServer {
        let _ = sys::fd::stdin_to_dev_null();
    }
    // Panics then carry their location (and backtrace, if asked for) to the parent.
    panic::start_recording();
    let outcome = match stdio::redirect(&mut args) {
        Ok(()) => spec.entry.call(&args.bytes, args.fds),
        Err(e) => Outcome::BadArguments(format!("redirecting stdout or stderr: {e}")),
    };
    let code = i32::from(!matches!(outcome, Outcome::Returned(_)));
    // A parent that dropped its `Child` closed the channel: the value is simply not wanted.
    let _ = outcome::report(&report, &outcome);
    // The process ends now, which frees and closes these: doing it here would cost page faults
    // on memory shared with the parent until then, and a system call.
    std::mem::forget(outcome);
    std::mem::forget(report);
    finish(code)
}

/// Ends a child: its own children are handled as at any exit, stdout is flushed (stderr is
/// not buffered), and the process exits without running the parent's inherited exit handlers
/// (as Python's `os._exit` after `run()`).
pub(crate) fn finish(code: i32) -> ! {
    registry::shutdown();
    let _ = std::io::stdout().flush();
    sys::proc::exit_now(code)
}

/// Reports a child that could not even start its function, then ends it.
pub(crate) fn fail(sock: Option<&OwnedFd>, message: String) -> ! {
    let _ = writeln!(std::io::stderr(), "mproc: child start-up failed: {message}");
    if let Some(sock) = sock {
        let _ = outcome::send(sock.as_fd(), &Outcome::BadArguments(message));
    }
    finish(1)
}
