//! The program's side: one fork server per process, started on first use, restarted when it
//! died, stopped at exit; requests, and how their answers come back.
//!
//! The answer to a request arrives on the new child's result socket, not from the server: the
//! child's first message there is a *hello* with its pid, and if the server cannot fork it, the
//! server sends the reason there instead. Since the program closes its own copy of the child's
//! end right after sending the request, only the server and the child hold it, so the
//! program's end receives exactly one of:
//!
//! - a hello: the child runs (also if the server died right after forking it: it is never lost,
//!   nor started twice);
//! - a refusal from the server: nothing was started;
//! - end of stream: the server died before forking; nothing was started, and the request is
//!   repeated with a new server.
//!
//! The pid thus comes from the child as soon as it runs, without waiting for the server to be
//! scheduled again, and the server's lock is held only to send.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::launch::{self, Launcher, Server};
use super::protocol;
use crate::codec::Encoded;
use crate::process::child::main::ChildSpec;
use crate::process::child::outcome::{self, Greeting};
use crate::process::trace;
use crate::process::{ForkServerError, SpawnError};
use crate::sys;
use crate::sys::OsContext;
use crate::sys::fork_hook::{ForkContext, ForkHook, Held};
use crate::wire::{self, WireError};

/// How long a request may take to be answered before the server is taken for hung (it answers
/// right after one `clone`; only a stopped or broken server takes this long).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a child may take to say its pid once its server was killed for hanging.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);

/// Servers tried for one start before giving up (each try after the first follows the death
/// of the previous server).
const ATTEMPTS: usize = 3;

struct State {
    server: Option<Server>,
    /// Servers started so far by this process; names the current one.
    generation: u64,
    launcher: Option<Launcher>,
}

static STATE: Mutex<State> = Mutex::new(State {
    server: None,
    generation: 0,
    launcher: None,
});

fn lock() -> MutexGuard<'static, State> {
    STATE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Has the program's fork server start a child running `spec` with `args`, reporting on
/// `child_sock`. Returns the child's pid and the program's end of the result socket (a new one
/// if the request had to be repeated).
pub(crate) fn start(
    spec: &ChildSpec,
    args: &Encoded,
    parent_sock: OwnedFd,
    child_sock: OwnedFd,
) -> Result<(libc::pid_t, OwnedFd), SpawnError> {
    let header = protocol::RequestHeader {
        offsets: spec.entry.to_offsets()?,
        name: spec.identity.name.clone(),
        daemon: spec.identity.daemon,
        path: spec.identity.path.clone(),
        parent_pid: spec.parent_pid,
        parent_name: spec.parent_name.clone(),
        authkey: crate::auth::program_key()
            .map_err(SpawnError::os("making the program authkey"))?
            .to_vec(),
    };
    let header =
        protocol::encode_header(&header).map_err(ForkServerError::step("encoding the request"))?;
    let (mut parent_sock, mut child_sock) = (parent_sock, child_sock);
    for _ in 0..ATTEMPTS {
        let generation = send(&header, args, child_sock.as_fd())?;
        // From here on only the server (and the child it forks) hold the child's end.
        drop(child_sock);
        if let Some(pid) = answer(parent_sock.as_fd(), generation)? {
            return Ok((pid, parent_sock));
        }
        (parent_sock, child_sock) =
            sys::socket::socketpair().map_err(SpawnError::os("socketpair"))?;
    }
    Err(ForkServerError::Died { attempts: ATTEMPTS }.into())
}

/// Sends a request to the running server (started, or replaced if it died, as needed);
/// returns the generation of the server that got it.
fn send(header: &[u8], args: &Encoded, child_sock: BorrowedFd<'_>) -> Result<u64, SpawnError> {
    let mut fds = Vec::with_capacity(1 + args.fds.len());
    fds.push(child_sock);
    fds.extend(args.fds.iter().map(AsFd::as_fd));
    let mut state = lock();
    for _ in 0..ATTEMPTS {
        let server = state.running()?;
        let deadline = Some(Instant::now() + ANSWER_TIMEOUT);
        match wire::send(server.conn.as_fd(), &[header, &args.bytes], &fds, deadline) {
            Ok(()) => return Ok(state.generation),
            // Gone (the kernel refuses to queue for a closed peer), or hung with a full
            // socket: nothing was sent; replace it.
            Err(WireError::Timeout) => state.lose(),
            Err(WireError::Io(e))
                if matches!(
                    e.raw_os_error(),
                    Some(libc::EPIPE | libc::ECONNRESET | libc::ENOTCONN)
                ) =>
            {
                state.lose();
            }
            Err(e) => {
                return Err(ForkServerError::step("sending the request")(e).into());
            }
        }
    }
    Err(ForkServerError::Died { attempts: ATTEMPTS }.into())
}

/// Waits for the answer to a request sent to server `generation`: the child's pid, or `None`
/// if the server died without forking (then nothing ran; the request may be repeated).
fn answer(parent_sock: BorrowedFd<'_>, generation: u64) -> Result<Option<libc::pid_t>, SpawnError> {
    match greeting(parent_sock, ANSWER_TIMEOUT) {
        Err(WireError::Timeout) => {
            // A hung server: kill it. Its child (if it forked one) still says hello; if it
            // did not, its end of the child's socket closes with it.
            discard(generation);
            match greeting(parent_sock, HELLO_TIMEOUT) {
                Err(WireError::Eof) => Ok(None),
                other => interpret(other),
            }
        }
        Err(WireError::Eof) => {
            discard(generation);
            Ok(None)
        }
        other => interpret(other),
    }
}

fn greeting(parent_sock: BorrowedFd<'_>, timeout: Duration) -> Result<Greeting, WireError> {
    let deadline = Some(Instant::now() + timeout);
    wire::recv(parent_sock, 64 * 1024, deadline, |payload, _| {
        outcome::parse_greeting(&payload)
    })
}

fn interpret(got: Result<Greeting, WireError>) -> Result<Option<libc::pid_t>, SpawnError> {
    match got {
        Ok(Greeting::Hello(pid)) => Ok(Some(pid)),
        Ok(Greeting::Refused(reason)) => Err(ForkServerError::Refused { reason }.into()),
        Ok(Greeting::Other) => Err(ForkServerError::NoPid.into()),
        Err(e) => Err(ForkServerError::step("waiting for the child's pid")(e).into()),
    }
}

/// Forgets server `generation` if it is still the current one (another thread may have
/// replaced it already).
fn discard(generation: u64) {
    let mut state = lock();
    if state.generation == generation {
        state.lose();
    }
}

impl State {
    /// The running server, started if there is none.
    fn running(&mut self) -> Result<&Server, SpawnError> {
        if self.server.is_none() {
            let server = launch::start(&mut self.launcher)?;
            self.generation += 1;
            trace::fork_server_started(server.pid, self.generation);
            self.server = Some(server);
        }
        Ok(self.server.as_ref().expect("invariant: just set"))
    }

    /// Forgets a server that died or broke its protocol: it is killed and reaped.
    fn lose(&mut self) {
        if let Some(server) = &self.server {
            trace::fork_server_lost(server.pid);
        }
        self.discard();
    }

    /// Stops the server, if one runs: it is killed and reaped.
    fn discard(&mut self) {
        if let Some(server) = self.server.take() {
            launch::stop(server.pidfd.as_fd());
        }
    }
}

/// The running server's pid, if there is one.
pub(crate) fn server_pid() -> Option<libc::pid_t> {
    lock().server.as_ref().map(|s| s.pid)
}

/// Stops the server (at exit: after the children were handled).
pub(crate) fn shutdown() {
    lock().discard();
}

/// The server's state, locked across `fork()` by the `Fork` start method.
pub(crate) static FORK_HOOK: ForkHook = ForkHook {
    guards: &[concat!(module_path!(), "::STATE")],
    prepare: || Ok(Some(Box::new(ForkGuard(Some(lock()))))),
};

#[derive(Debug)]
struct ForkGuard(Option<MutexGuard<'static, State>>);

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("server", &self.server)
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

impl Held for ForkGuard {
    fn in_parent(self: Box<Self>, _: &mut ForkContext) {}

    /// The parent's server is not this process's (its children would be the parent's
    /// children), so the child lets go of it and starts its own when it needs one.
    fn in_child(&mut self, _: &mut ForkContext) {
        let Some(mut state) = self.0.take() else {
            return;
        };
        // Closing the child's copies of the descriptors leaves the parent's server untouched.
        drop(state.server.take());
        // The launcher thread does not exist in the child; its channel may have been in use by
        // that thread at the fork, so it is forgotten, not dropped.
        std::mem::forget(state.launcher.take());
    }
}
