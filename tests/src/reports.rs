//! A pipe of 4-byte reports: the write end travels to tasks or workers (one copy each), the
//! read end stays in the test, which reads the reports one by one, each wait bounded by
//! [`TIMEOUT`].

use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};

use mproc::codec::Fd;

use crate::TIMEOUT;

/// The pipe: see the module docs.
#[derive(Debug)]
pub struct Reports {
    read: OwnedFd,
    write: OwnedFd,
}

impl Default for Reports {
    fn default() -> Self {
        Self::new()
    }
}

impl Reports {
    /// A new pipe (close-on-exec both ends).
    ///
    /// # Panics
    /// If the pipe cannot be made.
    #[must_use]
    pub fn new() -> Self {
        let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).expect("pipe2");
        Self { read, write }
    }

    /// A copy of the write end, to give to a task or a worker.
    ///
    /// # Panics
    /// If the descriptor cannot be duplicated.
    #[must_use]
    pub fn writer(&self) -> Fd {
        Fd::from(self.write.try_clone().expect("dup"))
    }

    /// The next report, or `None` after [`TIMEOUT`].
    ///
    /// # Panics
    /// If `poll` or `dup` fails.
    #[must_use]
    pub fn next(&self) -> Option<[u8; 4]> {
        let mut fds = [nix::poll::PollFd::new(
            self.read.as_fd(),
            nix::poll::PollFlags::POLLIN,
        )];
        let ms = u16::try_from(TIMEOUT.as_millis()).unwrap_or(u16::MAX);
        if nix::poll::poll(&mut fds, ms).expect("poll") == 0 {
            return None;
        }
        let mut buf = [0u8; 4];
        let mut file = std::fs::File::from(self.read.try_clone().expect("dup"));
        file.read_exact(&mut buf).ok()?;
        Some(buf)
    }
}

/// Writes one report to `to` (4 bytes: one atomic pipe write), from a task or a worker.
///
/// # Panics
/// If the write fails.
pub fn report(to: &Fd, bytes: [u8; 4]) {
    let mut file = std::fs::File::from(to.as_fd().try_clone_to_owned().expect("dup"));
    file.write_all(&bytes).expect("report");
}
