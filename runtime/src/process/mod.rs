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
//!
//! # Events
//!
//! With the cargo feature `tracing` (off by default), the program that starts children emits
//! structured events through the [`tracing`](https://docs.rs/tracing) crate, with the target
//! `mproc::process`:
//!
//! | event | level | fields |
//! |---|---|---|
//! | `process started` | `DEBUG` | `pid`, `name`, `start_method`, `daemon` |
//! | `process exited` | `DEBUG` (`WARN` if a signal ended it) | `pid`, `name`, `exit_status`, and `code` or `signal` |
//! | `fork server started` | `DEBUG` (`WARN` for a replacement) | `pid`, `generation` (1 for the first), `restart` |
//! | `fork server lost` | `WARN` | `pid` (it died or broke its protocol; the next start replaces it) |
//!
//! A child's exit is reported when it is reaped: by `join`, `wait`, `is_alive` or
//! `exit_status`, or by the reaping that every start does. Pool workers are processes too, so
//! their starts and exits appear as well. Without a subscriber an event costs one atomic load;
//! without the feature, nothing. The example `tracing_events` prints them.

mod child;
mod error;
mod identity;
pub(crate) mod panic;
mod parent;
mod start;
mod start_method;
mod stdio;
mod trace;

pub use error::{
    BoxedCause, CorruptResult, ForkServerError, ProcessError, SpawnError, StartMethodError,
};
pub use identity::{CurrentProcess, ParentProcess, cpu_count, current_process, parent_process};
pub use panic::PanicLocation;
pub use parent::{Child, ProcessHandle};
pub use start_method::{START_METHOD_ENV, StartMethod, get_start_method, set_start_method};
pub use stdio::{ChildOutput, Stdio};

pub use crate::sys::proc::{ExitStatus, signal_name};

use serde::Serialize;
use serde::de::DeserializeOwned;

use self::child::entry::EntryPoint;
use self::parent::{launch, registry, slot};
use self::start::forkserver;
use crate::codec;

/// Options shared by [`Process`] and the builders that `#[process]` generates.
#[doc(hidden)]
#[derive(Debug, Clone, Default)]
pub struct Options {
    name: Option<String>,
    daemon: Option<bool>,
    method: Option<StartMethod>,
    stdout: Stdio,
    stderr: Stdio,
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

    /// Connects the child's stdout.
    #[must_use]
    pub fn stdout(mut self, stdio: Stdio) -> Self {
        self.stdout = stdio;
        self
    }

    /// Connects the child's stderr.
    #[must_use]
    pub fn stderr(mut self, stdio: Stdio) -> Self {
        self.stderr = stdio;
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

    /// Connects the child's stdout to `stdio` (default [`Stdio::Inherit`]);
    /// [`Stdio::Piped`] makes it readable through [`Child::stdout`].
    #[must_use]
    pub fn stdout(mut self, stdio: Stdio) -> Self {
        self.options = self.options.stdout(stdio);
        self
    }

    /// Connects the child's stderr to `stdio` (default [`Stdio::Inherit`]);
    /// [`Stdio::Piped`] makes it readable through [`Child::stderr`]. A panic's message goes
    /// there too.
    #[must_use]
    pub fn stderr(mut self, stdio: Stdio) -> Self {
        self.options = self.options.stderr(stdio);
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
        let (entry, sock, readers) =
            launch::launch(EntryPoint::of(self.target), args, self.options)?;
        Ok(Child::new(entry, sock, readers))
    }
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
