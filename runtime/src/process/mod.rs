//! Processes: start a function in a child process and get its value back.
//!
//! ```
//! use mproc::{Process, StartMethod};
//!
//! fn square(x: u64) -> u64 {
//!     x * x
//! }
//!
//! # fn main() -> mproc::Result<()> {
//! let child = Process::new(square, 12).name("squarer").start()?;
//! assert_eq!(child.join()?, 144);
//!
//! // Same function, fresh executable image instead of a fork.
//! let child = Process::new(square, 3).start_method(StartMethod::Spawn).start()?;
//! assert_eq!(child.join()?, 9);
//! # Ok(())
//! # }
//! ```

mod child;
mod child_main;
pub(crate) mod entry;
mod fork;
mod forkserver;
mod handle;
mod identity;
mod outcome;
mod overflow;
mod registry;
mod slot;
mod spawn;
mod start_method;

pub use child::Child;
pub use handle::ProcessHandle;
pub use identity::{CurrentProcess, ParentProcess, cpu_count, current_process, parent_process};
pub use start_method::{START_METHOD_ENV, StartMethod, get_start_method, set_start_method};

pub use crate::sys::proc::{ExitStatus, signal_name};

use std::os::fd::OwnedFd;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use self::child_main::ChildSpec;
use self::entry::EntryPoint;
use self::handle::ChildEntry;
use self::identity::Identity;
use self::outcome::ReportTo;
use self::slot::Slot;
use crate::codec::{self, Encoded};
use crate::error::SpawnError;
use crate::sys;

/// Options shared by [`Process`] and the builders that `#[process]` generates.
#[doc(hidden)]
#[derive(Debug, Clone, Default)]
pub struct Options {
    name: Option<String>,
    daemon: Option<bool>,
    method: Option<StartMethod>,
}

impl Options {
    /// Sets the child's name.
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the daemon flag.
    #[must_use]
    pub fn daemon(mut self, daemon: bool) -> Self {
        self.daemon = Some(daemon);
        self
    }

    /// Sets the start method.
    #[must_use]
    pub fn start_method(mut self, method: StartMethod) -> Self {
        self.method = Some(method);
        self
    }
}

/// A process to start: Python's `Process(target=..., args=...)`.
///
/// The target is a plain function pointer, so any `fn` item or non-capturing closure works and
/// a capturing closure is a compile error (its captures could not travel to the child). For
/// several arguments, take a tuple. Python's "subclass `Process` and override `run`" is
/// `Process::new(MyJob::run, job)` for a `fn run(self) -> R` method on a serializable `MyJob`.
pub struct Process<A, R> {
    target: fn(A) -> R,
    args: A,
    options: Options,
}

impl<A, R> std::fmt::Debug for Process<A, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Process")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl<A, R> Process<A, R>
where
    A: Serialize + DeserializeOwned + 'static,
    R: Serialize + DeserializeOwned + 'static,
{
    /// A process that will run `target(args)`.
    pub fn new(target: fn(A) -> R, args: A) -> Self {
        Self {
            target,
            args,
            options: Options::default(),
        }
    }

    #[doc(hidden)]
    pub fn with_options(target: fn(A) -> R, args: A, options: Options) -> Self {
        Self {
            target,
            args,
            options,
        }
    }

    /// Names the process (default `Process-N`, as in Python).
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.options = self.options.name(name);
        self
    }

    /// Makes the process a daemon: it is terminated when this process exits, and killed if this
    /// process dies abruptly. Defaults to this process's own flag, as in Python.
    ///
    /// Under `Fork` and `Spawn`, the kernel ties the abrupt-death signal to the *thread* that
    /// started the child: a daemon started from a thread that later exits is killed then. Start
    /// long-lived daemons from the main thread, or a thread that lives as long as they should.
    /// Under `ForkServer`, a daemon is tied to the program's life, whatever thread started it.
    #[must_use]
    pub fn daemon(mut self, daemon: bool) -> Self {
        self.options = self.options.daemon(daemon);
        self
    }

    /// Chooses how the child is created (default: [`get_start_method`]).
    #[must_use]
    pub fn start_method(mut self, method: StartMethod) -> Self {
        self.options = self.options.start_method(method);
        self
    }

    /// Starts the process.
    ///
    /// # Errors
    /// [`SpawnError::Encode`] if the arguments cannot be serialized,
    /// [`SpawnError::TargetNotInExecutable`] for a `Spawn` or `ForkServer` target outside the
    /// main executable, [`SpawnError::StartMethod`] if no method was given and
    /// `MPROC_START_METHOD` is invalid, [`SpawnError::ForkServer`] if the fork server fails,
    /// [`SpawnError::Os`] if the OS refuses.
    pub fn start(self) -> Result<Child<R>, SpawnError> {
        let args = codec::encode(&self.args).map_err(SpawnError::Encode)?;
        let (entry, sock) = launch(EntryPoint::of(self.target), args, self.options)?;
        Ok(Child::new(entry, sock))
    }
}

/// A child's encoded arguments while this process holds them: their descriptors are in the
/// set of pipe ends a forked child lets go of (see `pipe::inherited`), so a child that another
/// thread forks meanwhile does not keep them open (the far end of a pipe sent to this child
/// would then not see its close until that other child exits). Dropping closes them.
pub(crate) struct HeldArgs(Encoded);

impl HeldArgs {
    fn new(args: Encoded) -> Self {
        crate::pipe::inherited::hold(&args.fds);
        Self(args)
    }

    /// The arguments, no longer registered by this value: the caller lets go of the
    /// descriptors (`ForkGuard::let_go`), or is the child they were meant for.
    pub(crate) fn into_inner(mut self) -> Encoded {
        std::mem::replace(
            &mut self.0,
            Encoded {
                bytes: Vec::new(),
                fds: Vec::new(),
            },
        )
    }
}

impl std::ops::Deref for HeldArgs {
    type Target = Encoded;
    fn deref(&self) -> &Encoded {
        &self.0
    }
}

impl Drop for HeldArgs {
    fn drop(&mut self) {
        crate::pipe::inherited::let_go(std::mem::take(&mut self.0.fds));
    }
}

/// Starts a child for `entry`: the untyped part of [`Process::start`].
fn launch(
    entry: EntryPoint,
    args: Encoded,
    options: Options,
) -> Result<(Arc<ChildEntry>, Option<OwnedFd>), SpawnError> {
    let args = HeldArgs::new(args);
    let me = identity::current_identity();
    let daemon = options.daemon.unwrap_or(me.daemon);
    let method = match options.method {
        Some(method) => method,
        None => get_start_method()?,
    };
    registry::note_start();
    // Made now if it was not yet, so that a forked child inherits it instead of making its own;
    // the other methods carry it in their bootstrap (see `auth`).
    crate::auth::program_key().map_err(SpawnError::os("making the program authkey"))?;
    // A forked child reports in a result slot; the others on a socket.
    let channel = if method == StartMethod::Fork {
        let slot = Slot::take().map_err(SpawnError::os("mapping result slots"))?;
        let overflow =
            overflow::address().map_err(SpawnError::os("opening the result listener"))?;
        Channel::Slot(slot, overflow)
    } else {
        let (parent, child) = sys::socket::socketpair().map_err(SpawnError::os("socketpair"))?;
        Channel::Socket(parent, child)
    };
    sys::fd::prepare_dev_null().map_err(SpawnError::os("opening /dev/null"))?;
    // Lazily initialized state a forked child may read must not be mid-initialization in
    // another thread at the fork: initialize it now.
    crate::wire::prepare_for_fork();
    registry::register_exit_hook();

    let mut registry = registry::lock();
    registry.reap_finished();
    let path = registry.next_path(&me.path);
    let name = options
        .name
        .unwrap_or_else(|| identity::default_name(&path));
    let spec = ChildSpec {
        entry,
        identity: Identity {
            name: name.clone(),
            daemon,
            path,
        },
        parent_pid: sys::proc::getpid(),
        parent_name: me.name,
        method,
        authkey: None,
    };
    let (pid, slot, parent_sock, mut registry) = match (method, channel) {
        (_, Channel::Slot(slot, overflow)) => {
            let report = ReportTo::Slot {
                slot: slot.writer(),
                overflow,
            };
            let (pid, registry) = fork::start(registry, spec, args, report)?;
            (pid, Some(slot), None, registry)
        }
        (StartMethod::ForkServer, Channel::Socket(parent_sock, child_sock)) => {
            drop(registry); // the server does the forking; let others start meanwhile
            let (pid, parent_sock) = forkserver::start(&spec, &args, parent_sock, child_sock)?;
            (pid, None, Some(parent_sock), registry::lock())
        }
        (_, Channel::Socket(parent_sock, child_sock)) => {
            spawn::keep_hook();
            drop(registry); // exec does not copy our memory; let others start meanwhile
            let pid = spawn::start(&spec, &args, &parent_sock, child_sock)?;
            (pid, None, Some(parent_sock), registry::lock())
        }
    };
    let pidfd = match sys::proc::pidfd_open(pid) {
        Ok(fd) => fd,
        Err(e) => {
            // Cannot watch it: do not leave it behind.
            sys::proc::kill_and_reap(pid);
            return Err(SpawnError::os("pidfd_open")(e));
        }
    };
    let entry = Arc::new(ChildEntry::new(pid, pidfd, name, daemon, slot));
    registry.add(Arc::clone(&entry));
    Ok((entry, parent_sock))
}

/// How a child's result comes back.
enum Channel {
    /// A result slot, and the overflow listener's address.
    Slot(Slot, Arc<[u8]>),
    /// A socketpair: the parent's end, the child's end.
    Socket(OwnedFd, OwnedFd),
}

/// The children of this process that are still running; finished ones are reaped (as Python's
/// `active_children()`).
#[must_use]
pub fn active_children() -> Vec<ProcessHandle> {
    registry::lock()
        .live()
        .into_iter()
        .map(|entry| ProcessHandle { entry })
        .collect()
}

/// The pid of this process's fork server, while one runs (for tests and diagnostics; the
/// server is started by the first `ForkServer` start and replaced if it dies).
#[must_use]
pub fn fork_server_pid() -> Option<i32> {
    forkserver::server_pid()
}

/// The ticket under which a `Fork` child's outcome is delivered to this process's result
/// listener when its slot cannot hold it; `None` for other methods. A test-only diagnostic, so
/// that adversarial tests can aim forged deliveries at a live child: the ticket is a name, not
/// a secret (deliveries are authenticated separately).
#[doc(hidden)]
#[must_use]
pub fn fork_result_ticket(child: &ProcessHandle) -> Option<u64> {
    child.entry.slot().map(slot::Slot::ticket)
}

/// The start method that created this process: `None` in the main process (for tests and
/// diagnostics).
#[must_use]
pub fn started_by() -> Option<StartMethod> {
    identity::started_by()
}
