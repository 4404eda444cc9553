//! `Child<R>`: a started process whose function returns an `R`.

use std::marker::PhantomData;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;

use crate::process::child::outcome;
use crate::process::parent::handle::{ChildEntry, ProcessHandle};
use crate::process::stdio::Readers;
use crate::process::{ChildOutput, CorruptResult, ProcessError};
use crate::sys::proc::ExitStatus;

/// A running (or finished) child process whose function returns `R`.
///
/// [`join`](Child::join) gives back the function's value, once: it moves the value out.
/// [`wait`](Child::wait) waits for the end and can be called any number of times, before or
/// after `join`, as Python's repeated `p.join()`. Dropping a `Child` without joining
/// it does not stop the process: it keeps running, is reaped when it ends (at the latest when
/// this program exits) and, unless it is a daemon, is waited for when this program exits, as in
/// Python. Its return value is discarded.
pub struct Child<R> {
    handle: ProcessHandle,
    result: Mutex<ResultState>,
    output: Readers,
    _returns: PhantomData<fn() -> R>,
}

impl<R> std::fmt::Debug for Child<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Child")
            .field("pid", &self.handle.pid())
            .field("name", &self.handle.name())
            .field("daemon", &self.handle.daemon())
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
struct ResultState {
    /// The parent's end of the result socket, for a child that has no result slot; read once,
    /// after the child has ended.
    sock: Option<OwnedFd>,
    joined: bool,
}

impl<R: DeserializeOwned> Child<R> {
    pub(crate) fn new(entry: Arc<ChildEntry>, sock: Option<OwnedFd>, output: Readers) -> Self {
        Self {
            handle: ProcessHandle { entry },
            result: Mutex::new(ResultState {
                sock,
                joined: false,
            }),
            output,
            _returns: PhantomData,
        }
    }

    /// Waits for the process to end and returns its function's value.
    ///
    /// # Errors
    /// [`ProcessError::Panicked`], [`ProcessError::Exited`] or [`ProcessError::Killed`] when the
    /// function did not return; [`ProcessError::AlreadyJoined`] on a second call (the value
    /// was taken by the first: use [`wait`](Child::wait) to wait again); the others when the
    /// result could not travel.
    pub fn join(&self) -> Result<R, ProcessError> {
        self.join_until(None)
    }

    /// Like [`join`](Child::join), waiting at most `timeout`.
    ///
    /// # Errors
    /// [`ProcessError::Timeout`] if the process is still running (join again later; nothing is
    /// lost), otherwise as [`join`](Child::join).
    pub fn join_timeout(&self, timeout: Duration) -> Result<R, ProcessError> {
        self.join_until(Some(Instant::now() + timeout))
    }

    /// Like [`join`](Child::join), but never waits.
    ///
    /// # Errors
    /// [`ProcessError::Timeout`] if the process is still running, otherwise as
    /// [`join`](Child::join).
    pub fn try_join(&self) -> Result<R, ProcessError> {
        self.join_until(Some(Instant::now()))
    }

    fn join_until(&self, deadline: Option<Instant>) -> Result<R, ProcessError> {
        let mut st = self.result.lock().unwrap_or_else(PoisonError::into_inner);
        if st.joined {
            return Err(ProcessError::AlreadyJoined);
        }
        // The child never blocks on its result (see `outcome`), so waiting for its end alone is
        // enough: one wake-up per join.
        let status = self.handle.entry.wait(deadline)?;
        st.joined = true;
        match (&st.sock, self.handle.entry.slot()) {
            (Some(sock), _) => outcome::receive(sock.as_fd(), status),
            (None, Some(slot)) => outcome::receive_from_slot(slot, status),
            (None, None) => Err(CorruptResult::NoChannel.into()),
        }
    }
}

impl<R> Child<R> {
    /// The process id.
    #[must_use]
    pub fn pid(&self) -> i32 {
        self.handle.pid()
    }

    /// The process name.
    #[must_use]
    pub fn name(&self) -> &str {
        self.handle.name()
    }

    /// Whether the process is a daemon.
    #[must_use]
    pub fn daemon(&self) -> bool {
        self.handle.daemon()
    }

    /// Whether the process is still running.
    #[must_use]
    pub fn is_alive(&self) -> bool {
        self.handle.is_alive()
    }

    /// How the process ended, or `None` while it runs. Never blocks.
    ///
    /// # Errors
    /// [`ProcessError::Os`] if the kernel refuses to report the status.
    pub fn exit_status(&self) -> Result<Option<ExitStatus>, ProcessError> {
        self.handle.exit_status()
    }

    /// Sends `SIGTERM`; a no-op once the process has been reaped.
    ///
    /// # Errors
    /// [`ProcessError::Os`] if the signal cannot be sent.
    pub fn terminate(&self) -> Result<(), ProcessError> {
        self.handle.terminate()
    }

    /// Sends `SIGKILL`; a no-op once the process has been reaped.
    ///
    /// # Errors
    /// [`ProcessError::Os`] if the signal cannot be sent.
    pub fn kill(&self) -> Result<(), ProcessError> {
        self.handle.kill()
    }

    /// Waits for the process to end and returns how it ended (Python's `join()` followed by
    /// `exitcode`). Unlike [`join`](Child::join) it takes nothing, so it can be called any
    /// number of times, from any thread, before or after `join`: a port of "join every child,
    /// then join them all again" calls `join` once and `wait` after that.
    ///
    /// # Errors
    /// [`ProcessError::Os`] if waiting fails.
    pub fn wait(&self) -> Result<ExitStatus, ProcessError> {
        self.handle.wait()
    }

    /// Like [`wait`](Child::wait), waiting at most `timeout`.
    ///
    /// # Errors
    /// [`ProcessError::Timeout`] if the process is still running; [`ProcessError::Os`] if
    /// waiting fails.
    pub fn wait_timeout(&self, timeout: Duration) -> Result<ExitStatus, ProcessError> {
        self.handle.wait_timeout(timeout)
    }

    /// The child's stdout, if it was started with
    /// [`.stdout(Stdio::Piped)`](crate::Process::stdout) (and not taken). `&ChildOutput`
    /// implements `Read`.
    #[must_use]
    pub fn stdout(&self) -> Option<&ChildOutput> {
        self.output.stdout.as_ref()
    }

    /// The child's stderr, if it was started with
    /// [`.stderr(Stdio::Piped)`](crate::Process::stderr) (and not taken).
    #[must_use]
    pub fn stderr(&self) -> Option<&ChildOutput> {
        self.output.stderr.as_ref()
    }

    /// Takes the child's piped stdout, to read it elsewhere (another thread, say).
    pub fn take_stdout(&mut self) -> Option<ChildOutput> {
        self.output.stdout.take()
    }

    /// Takes the child's piped stderr.
    pub fn take_stderr(&mut self) -> Option<ChildOutput> {
        self.output.stderr.take()
    }

    /// An untyped handle to the same process (cheap to clone, no access to the result).
    #[must_use]
    pub fn handle(&self) -> ProcessHandle {
        self.handle.clone()
    }
}
