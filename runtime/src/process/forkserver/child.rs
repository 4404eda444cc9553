//! A child of the fork server, from the moment it exists until its function runs.

use std::os::fd::{AsFd, OwnedFd};

use crate::codec::Encoded;
use crate::process::child_main::{self, ChildSpec};
use crate::process::outcome;
use crate::sys;

/// Everything a freshly forked child needs; the server's own descriptors are closed by then.
#[derive(Debug)]
pub(super) struct ChildStart {
    pub(super) spec: ChildSpec,
    pub(super) args: Encoded,
    /// The child's end of its result socket.
    pub(super) sock: OwnedFd,
}

impl ChildStart {
    /// Runs the child: it first tells its pid on the result socket (so the program can find it
    /// even if the server dies before answering the request), then runs the function.
    pub(super) fn run(self) -> ! {
        // The server ignores Ctrl-C; the program's children do not.
        sys::proc::ignore_sigint(false);
        let _ = outcome::send_hello(self.sock.as_fd(), sys::proc::getpid());
        child_main::run(self.spec, self.args, self.sock, None)
    }
}
