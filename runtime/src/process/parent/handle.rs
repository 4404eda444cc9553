//! The untyped side of a child: its pid, pidfd, exit status, and signals.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::process::parent::overflow;
use crate::process::parent::slot::Slot;
use crate::process::{ProcessError, trace};
use crate::sys::OsContext;
use crate::sys::{self, fd::Interest, proc::ExitStatus};

/// What the parent knows of one child. Shared by the registry, [`ProcessHandle`]s and the
/// typed [`Child`](crate::process::Child).
#[derive(Debug)]
pub(crate) struct ChildEntry {
    pub(crate) pid: libc::pid_t,
    pub(crate) name: String,
    pub(crate) daemon: bool,
    pidfd: OwnedFd,
    /// Set once the child is reaped; reaping happens under this lock, exactly once.
    status: Mutex<Option<ExitStatus>>,
    /// Where a forked child leaves its result. Kept here, not in the typed `Child`, because
    /// the child may write it until it is reaped, and the registry keeps this record until then.
    slot: Option<Slot>,
}

impl ChildEntry {
    pub(crate) fn new(
        pid: libc::pid_t,
        pidfd: OwnedFd,
        name: String,
        daemon: bool,
        slot: Option<Slot>,
    ) -> Self {
        Self {
            pid,
            name,
            daemon,
            pidfd,
            status: Mutex::new(None),
            slot,
        }
    }

    /// The child's result slot, if it reports in one (see [`crate::process::parent::slot`]).
    pub(crate) fn slot(&self) -> Option<&Slot> {
        self.slot.as_ref()
    }

    /// A descriptor that becomes readable (`POLLIN`, for `poll` or `epoll`) when the child has
    /// ended, whatever its start method: its pidfd (every child, including a fork server's, is
    /// a child of this process). Readiness does not reap: call [`ChildEntry::try_reap`].
    pub(crate) fn exit_fd(&self) -> BorrowedFd<'_> {
        self.pidfd.as_fd()
    }

    /// The exit status if the child has ended (reaping it if that was not done yet).
    pub(crate) fn try_reap(&self) -> Result<Option<ExitStatus>, ProcessError> {
        let mut status = self.status.lock().unwrap_or_else(PoisonError::into_inner);
        if status.is_none() {
            *status =
                sys::proc::try_reap(self.pidfd.as_fd()).map_err(ProcessError::os("waitid"))?;
            if let Some(ended) = *status {
                trace::exited(self.pid, &self.name, ended);
            }
        }
        Ok(*status)
    }

    /// Waits for the child to end, until `deadline`.
    pub(crate) fn wait(&self, deadline: Option<Instant>) -> Result<ExitStatus, ProcessError> {
        if let Some(status) = self.reaped() {
            return Ok(status);
        }
        // A forked child with a large result may be waiting for room in the overflow
        // listener's backlog: accept while waiting (see `overflow`).
        let listener = self.slot.as_ref().and_then(|_| overflow::listener());
        // Readiness first: a child that still runs (the usual case) costs no failed `waitid`.
        loop {
            let exit = Interest::read(self.exit_fd());
            let ready = match &listener {
                None => sys::fd::poll([exit], deadline).map(|r| r.is_some()),
                Some(l) => sys::fd::poll([exit, Interest::read(l.as_fd())], deadline).map(|r| {
                    r.is_some_and(|[_, connections]| {
                        if connections.readable {
                            overflow::collect();
                        }
                        true
                    })
                }),
            };
            if !ready.map_err(ProcessError::os("poll"))? {
                return Err(ProcessError::Timeout);
            }
            if let Some(status) = self.try_reap()? {
                return Ok(status);
            }
        }
    }

    /// The exit status if the child was reaped already (no system call).
    fn reaped(&self) -> Option<ExitStatus> {
        *self.status.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sends `signal` unless the child was already reaped (then it is a no-op, as in Python).
    pub(crate) fn signal(&self, signal: i32) -> Result<(), ProcessError> {
        let status = self.status.lock().unwrap_or_else(PoisonError::into_inner);
        if status.is_some() {
            return Ok(());
        }
        // Holding the lock keeps the child unreaped, so the pidfd still names it.
        sys::proc::pidfd_send_signal(self.pidfd.as_fd(), signal)
            .map_err(ProcessError::os("pidfd_send_signal"))
    }
}

/// A child process without its result: what `active_children()` returns, and what a
/// [`Child`](crate::process::Child) hands out with [`Child::handle`](crate::process::Child::handle).
///
/// Cloning is cheap; all clones name the same process.
#[derive(Debug, Clone)]
pub struct ProcessHandle {
    pub(crate) entry: Arc<ChildEntry>,
}

impl ProcessHandle {
    /// The process id.
    #[must_use]
    pub fn pid(&self) -> i32 {
        self.entry.pid
    }

    /// The process name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.entry.name
    }

    /// Whether the process is a daemon.
    #[must_use]
    pub fn daemon(&self) -> bool {
        self.entry.daemon
    }

    /// A descriptor that becomes readable when the process has ended (see
    /// [`ChildEntry::exit_fd`]); for waiting on many processes at once (the pool).
    pub(crate) fn exit_fd(&self) -> BorrowedFd<'_> {
        self.entry.exit_fd()
    }

    /// Whether the process is still running. A finished process is reaped here.
    #[must_use]
    pub fn is_alive(&self) -> bool {
        matches!(self.entry.try_reap(), Ok(None))
    }

    /// How the process ended, or `None` while it runs. Never blocks.
    ///
    /// # Errors
    /// [`ProcessError::Os`] if the kernel refuses to report the status.
    pub fn exit_status(&self) -> Result<Option<ExitStatus>, ProcessError> {
        self.entry.try_reap()
    }

    /// Waits for the process to end and returns how it ended.
    ///
    /// # Errors
    /// [`ProcessError::Os`] if waiting fails.
    pub fn wait(&self) -> Result<ExitStatus, ProcessError> {
        self.entry.wait(None)
    }

    /// Waits at most `timeout` for the process to end.
    ///
    /// # Errors
    /// [`ProcessError::Timeout`] if it is still running; [`ProcessError::Os`] if waiting fails.
    pub fn wait_timeout(&self, timeout: Duration) -> Result<ExitStatus, ProcessError> {
        self.entry.wait(Some(Instant::now() + timeout))
    }

    /// Sends `SIGTERM` (Python's `terminate()`); a no-op once the process has been reaped.
    ///
    /// # Errors
    /// [`ProcessError::Os`] if the signal cannot be sent.
    pub fn terminate(&self) -> Result<(), ProcessError> {
        self.entry.signal(libc::SIGTERM)
    }

    /// Sends `SIGKILL` (Python's `kill()`); a no-op once the process has been reaped.
    ///
    /// # Errors
    /// [`ProcessError::Os`] if the signal cannot be sent.
    pub fn kill(&self) -> Result<(), ProcessError> {
        self.entry.signal(libc::SIGKILL)
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use crate::pipe::{Pipe, Receiver};
    use crate::process::{Process, StartMethod};
    use crate::sys::fd::{Interest, poll};
    use crate::sys::proc::ExitStatus;

    /// Blocks until its pipe's sending end is closed everywhere. (A pipe end, unlike a raw
    /// descriptor, is not kept open by a forked child that inherited it.)
    fn wait_for_close(rx: Receiver<u8>) {
        let _ = rx.recv();
        drop(rx);
    }

    #[test]
    fn the_exit_descriptor_becomes_readable_when_the_child_ends_under_every_method() {
        for method in StartMethod::ALL {
            let (rx, tx) = Pipe::<u8>::simplex().unwrap();
            let child = Process::new(wait_for_close, rx)
                .start_method(method)
                .start()
                .unwrap();
            let handle = child.handle();
            let running = poll([Interest::read(handle.exit_fd())], Some(Instant::now())).unwrap();
            assert!(running.is_none(), "{method}: readable while the child runs");
            drop(tx);
            let deadline = Some(Instant::now() + Duration::from_secs(30));
            let ended = poll([Interest::read(handle.exit_fd())], deadline).unwrap();
            assert!(ended.is_some_and(|[r]| r.readable), "{method}");
            // Readiness does not reap; try_reap then does.
            assert!(
                handle
                    .entry
                    .try_reap()
                    .unwrap()
                    .is_some_and(ExitStatus::success)
            );
            child.join().unwrap();
        }
    }
}
