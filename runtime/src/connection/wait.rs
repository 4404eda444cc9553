//! [`wait`]: readiness of many connections, listeners, pipe ends and process sentinels at once
//! (Python's `multiprocessing.connection.wait`).

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::Duration;

use super::conn::deadline_in;
use super::error::ConnectionError;
use crate::process::{Child, ProcessHandle};
use crate::sys;

/// Waits until at least one of `objects` is ready, or `timeout` passes (`None`: as long as it
/// takes; `Some(Duration::ZERO)`: only look), and returns the indices of the ready ones, in
/// order (empty on timeout).
///
/// Ready means: a [`Connection`](super::Connection) or pipe end has a message or the end of
/// its stream to receive; a [`Listener`](super::Listener) has a connection to accept; a
/// [`Sentinel`] has seen its process end. Anything else that is [`AsFd`] works too, with
/// `poll(2)`'s `POLLIN` meaning (readable, hung up, or in error).
///
/// ```
/// use std::time::Duration;
/// use mproc::Pipe;
/// use mproc::connection::wait;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let (a, b) = Pipe::<u32>::new()?;
/// let (c, d) = Pipe::<u32>::new()?;
/// d.send(&7)?;
/// assert_eq!(wait(&[&a, &c], Some(Duration::from_secs(5)))?, [1]);
/// # let _ = b;
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// [`ConnectionError::Os`] if `poll(2)` fails (for instance, with more descriptors than the
/// process may open).
pub fn wait(
    objects: &[&dyn AsFd],
    timeout: Option<Duration>,
) -> Result<Vec<usize>, ConnectionError> {
    let fds: Vec<BorrowedFd<'_>> = objects.iter().map(|o| o.as_fd()).collect();
    let ready = sys::fd::poll_readable(&fds, timeout.and_then(deadline_in))
        .map_err(ConnectionError::os("poll"))?;
    Ok(ready
        .iter()
        .enumerate()
        .filter_map(|(i, &r)| r.then_some(i))
        .collect())
}

/// A descriptor that becomes ready when a process ends (Python's `Process.sentinel`): a pidfd,
/// for [`wait`]. Readiness does not reap the process: join it as usual.
#[derive(Debug)]
pub struct Sentinel(OwnedFd);

impl Sentinel {
    /// A sentinel for the process `pid`, as it is now: a pidfd names one process, so a pid
    /// reused later is never confused with it. For children prefer [`Child::sentinel`], which
    /// cannot race with reaping.
    ///
    /// # Errors
    /// [`ConnectionError::Os`] if no such process exists (or it was already reaped).
    pub fn from_pid(pid: i32) -> Result<Self, ConnectionError> {
        sys::proc::pidfd_open(pid)
            .map(Self)
            .map_err(ConnectionError::os("pidfd_open"))
    }

    fn of_handle(handle: &ProcessHandle) -> Result<Self, ConnectionError> {
        sys::fd::dup_cloexec(handle.exit_fd())
            .map(Self)
            .map_err(ConnectionError::os("dup"))
    }
}

impl AsFd for Sentinel {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

impl<R> Child<R> {
    /// A [`Sentinel`] that becomes ready when this child ends (Python's `Process.sentinel`),
    /// for [`wait`](crate::connection::wait).
    ///
    /// # Errors
    /// [`ConnectionError::Os`] if the descriptor cannot be duplicated.
    pub fn sentinel(&self) -> Result<Sentinel, ConnectionError> {
        Sentinel::of_handle(&self.handle())
    }
}

impl ProcessHandle {
    /// A [`Sentinel`] that becomes ready when this process ends (see [`Child::sentinel`]).
    ///
    /// # Errors
    /// [`ConnectionError::Os`] if the descriptor cannot be duplicated.
    pub fn sentinel(&self) -> Result<Sentinel, ConnectionError> {
        Sentinel::of_handle(self)
    }
}
