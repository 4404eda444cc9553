//! A one-shot gate across processes, on a pipe: the side holding [`Opener`] opens it, the side
//! holding [`Gate`] waits (with a deadline) until it is opened or the opener is gone.
//!
//! Both ends are serializable (their descriptors travel as `mproc::codec::Fd`), so a gate can be
//! given to a child as a process argument. It is how tests order events across processes without
//! sleeping.

use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::Duration;

use mproc::codec::Fd;
use serde::{Deserialize, Serialize};

/// The waiting end.
#[derive(Debug, Serialize, Deserialize)]
pub struct Gate(Fd);

/// The opening end; dropping it without opening also releases the waiter (as "closed").
#[derive(Debug, Serialize, Deserialize)]
pub struct Opener(Fd);

/// How a wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Passed {
    /// The opener sent its byte.
    Opened,
    /// Every opener was dropped (or its process died) without opening.
    Closed,
    /// The deadline passed.
    TimedOut,
}

/// A new closed gate.
///
/// # Panics
/// If the OS refuses a pipe.
#[must_use]
pub fn gate() -> (Opener, Gate) {
    let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).expect("pipe2");
    (Opener(Fd::from(write)), Gate(Fd::from(read)))
}

impl Opener {
    /// Opens the gate.
    ///
    /// # Panics
    /// If the pipe write fails (the waiting side is gone).
    pub fn open(self) {
        let mut file = std::fs::File::from(self.0.into_inner());
        file.write_all(b"o").expect("gate write");
    }

    /// Sends a number through the gate (opening it); the waiter reads it with
    /// [`Gate::recv_u64`].
    ///
    /// # Panics
    /// If the pipe write fails.
    pub fn send_u64(self, value: u64) {
        let mut file = std::fs::File::from(self.0.into_inner());
        file.write_all(&value.to_le_bytes()).expect("gate write");
    }
}

impl Gate {
    /// Waits until the gate opens, its openers are gone, or `timeout` passes.
    ///
    /// # Panics
    /// If polling or reading the pipe fails.
    #[must_use]
    pub fn wait(self, timeout: Duration) -> Passed {
        if !self.readable(timeout) {
            return Passed::TimedOut;
        }
        let mut byte = [0u8; 1];
        match nix::unistd::read(self.0.as_fd(), &mut byte).expect("gate read") {
            0 => Passed::Closed,
            _ => Passed::Opened,
        }
    }

    /// Waits for a number sent with [`Opener::send_u64`]; `None` on timeout or close.
    ///
    /// # Panics
    /// If polling or reading the pipe fails.
    #[must_use]
    pub fn recv_u64(self, timeout: Duration) -> Option<u64> {
        if !self.readable(timeout) {
            return None;
        }
        let mut buf = [0u8; 8];
        let mut file = std::fs::File::from(self.0.into_inner());
        file.read_exact(&mut buf)
            .ok()
            .map(|()| u64::from_le_bytes(buf))
    }

    fn readable(&self, timeout: Duration) -> bool {
        let mut fds = [nix::poll::PollFd::new(
            self.0.as_fd(),
            nix::poll::PollFlags::POLLIN,
        )];
        let ms = u16::try_from(timeout.as_millis()).unwrap_or(u16::MAX);
        nix::poll::poll(&mut fds, ms).expect("poll") > 0
    }

    /// The raw descriptor (for leak accounting).
    #[must_use]
    pub fn raw(&self) -> i32 {
        self.0.as_fd().as_raw_fd()
    }
}

/// Turns a raw owned descriptor into a gate end (for tests that build their own pipes).
#[must_use]
pub fn gate_from(fd: OwnedFd) -> Gate {
    Gate(Fd::from(fd))
}
