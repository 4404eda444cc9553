//! The fork server process: a fresh execution of the program's executable, intercepted before
//! `main` (so no user code and no thread runs in it), which forks one child per request.
//!
//! It serves one program (its parent) and lives as long as that program: it exits when the
//! life-line reads end of stream, and the kernel kills it if the program dies abruptly
//! (`PR_SET_PDEATHSIG`, armed from the program's long-lived launcher thread, re-checked with
//! `getppid()`). Each child is forked with `CLONE_PARENT`, so it is the *program's* child.

use std::ffi::{OsStr, c_char, c_int};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::{Duration, Instant};

use super::protocol::{self, Key, MAC_LEN, NONCE_LEN, Ready, Startup};
use crate::codec::Encoded;
use crate::process::StartMethod;
use crate::process::child::entry::EntryPoint;
use crate::process::child::main::{self as child_main, ChildSpec};
use crate::process::child::outcome::{self, ReportTo};
use crate::process::identity::Identity;
use crate::sys::{self, clone::SiblingFork, proc::Forked};
use crate::wire::{self, WireError};

/// How many program connections may wait to be accepted.
const LISTEN_BACKLOG: i32 = 16;

/// The environment marker; its value is `PROTOCOL:program-pid`.
pub(super) const MARKER: &str = "__MPROC_FORK_SERVER";
pub(super) const PROTOCOL: &str = "1";

/// How long the program may take to send the start-up message.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a new connection may take to answer the challenge.
const AUTH_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections beyond this many are closed at once.
const MAX_CONNECTIONS: usize = 16;

/// Runs before `main` in every process of an executable that uses the fork server.
#[used]
#[unsafe(link_section = ".init_array")]
static FORK_SERVER_HOOK: extern "C" fn(c_int, *const *const c_char, *const *const c_char) =
    fork_server_hook;

extern "C" fn fork_server_hook(_: c_int, _: *const *const c_char, _: *const *const c_char) {
    let Some(value) = std::env::var_os(MARKER) else {
        return;
    };
    // SAFETY: constructors run before `main`, on the only thread; nothing reads the environment
    // concurrently. The marker must not reach the server's children.
    unsafe { std::env::remove_var(MARKER) };
    if sys::proc::secure_exec() {
        // As for a `Spawn` child: a privileged start takes no orders from its environment.
        return;
    }
    // Never unwind into the dynamic loader. A child forked by the server never returns here.
    let code = std::panic::catch_unwind(|| serve(&value)).unwrap_or(1);
    sys::proc::exit_now(code);
}

/// Makes sure the hook is linked into every executable that can start a fork server.
pub(super) fn keep_hook() {
    std::hint::black_box(&FORK_SERVER_HOOK);
}

/// The server's life; returns its exit code (a forked child never returns).
fn serve(marker: &OsStr) -> i32 {
    sys::proc::ignore_sigpipe();
    sys::proc::ignore_sigint(true);
    // Installed once here, the children inherit the hook that records their panics, as forked
    // ones do: installing it in each child cost it allocations and page faults.
    crate::process::panic::install_hook();
    let program = marker
        .to_str()
        .and_then(|v| v.strip_prefix(PROTOCOL)?.strip_prefix(':')?.parse().ok());
    let Some(program) = program else {
        return 2;
    };
    // Armed first, then checked: a program that died before this line is seen by getppid().
    if sys::proc::set_parent_death_signal().is_err() || sys::proc::getppid() != program {
        return 1;
    }
    // SAFETY: descriptor 0 is the life-line the program installed; it stays open for this
    // borrow and is replaced below only after being duplicated.
    let stdin = unsafe { BorrowedFd::borrow_raw(0) };
    let Ok(lifeline) = sys::fd::dup_cloexec_at_least(stdin, 3) else {
        return 1;
    };
    if sys::fd::stdin_to_dev_null().is_err() {
        return 1;
    }
    let deadline = Some(Instant::now() + STARTUP_TIMEOUT);
    let startup = wire::recv(lifeline.as_fd(), 1024, deadline, |payload, _fds| {
        postcard::from_bytes::<Startup>(&payload).ok()
    });
    let Ok(Some(mut startup)) = startup else {
        return 1;
    };
    let ready = SiblingFork::prepare()
        .map_err(|e| format!("reading the robust-mutex list: {e}"))
        .and_then(|prep| {
            let listener = sys::listener::listen(&startup.address, LISTEN_BACKLOG)
                .map_err(|e| format!("listening for requests: {e}"))?;
            Ok((prep, listener))
        });
    let answer: Ready = ready.as_ref().map(|_| ()).map_err(Clone::clone);
    let Ok(answer) = postcard::to_allocvec(&answer) else {
        return 1;
    };
    if wire::send(lifeline.as_fd(), &[&answer], &[], None).is_err() {
        return 1;
    }
    let Ok((prep, listener)) = ready else {
        return 1;
    };
    let server = Server {
        key: startup.key,
        program,
        lifeline,
        listener,
        conns: Vec::new(),
        prep,
    };
    forget_key(&mut startup.key);
    match server.run() {
        Ended::Done => 0,
        Ended::Child(start) => start.run(),
    }
}

struct Server {
    key: Key,
    program: libc::pid_t,
    lifeline: OwnedFd,
    listener: OwnedFd,
    conns: Vec<Conn>,
    prep: SiblingFork,
}

struct Conn {
    sock: OwnedFd,
    state: ConnState,
}

enum ConnState {
    /// Challenged with this nonce; must answer before the deadline.
    Challenged {
        nonce: [u8; NONCE_LEN],
        deadline: Instant,
    },
    /// Authenticated: its messages are requests.
    Trusted,
}

impl Drop for Server {
    /// The children are copies of the server: they should not find the key in their memory
    /// (best effort: the server is dropped in each child before its function runs).
    fn drop(&mut self) {
        forget_key(&mut self.key);
    }
}

fn forget_key(key: &mut Key) {
    key.fill(0);
    std::hint::black_box(key);
}

/// How a server's loop ended: the program is gone, or this is a freshly forked child.
enum Ended {
    Done,
    Child(ChildStart),
}

/// What to do with a connection after serving it.
enum Next {
    Keep,
    Close,
    Child(ChildStart),
}

impl Server {
    /// Serves until the program is gone; returns in each forked child too (after the server's
    /// descriptors are closed there, since `self` is consumed).
    fn run(mut self) -> Ended {
        loop {
            let deadline = self
                .conns
                .iter()
                .filter_map(|c| match c.state {
                    ConnState::Challenged { deadline, .. } => Some(deadline),
                    ConnState::Trusted => None,
                })
                .min();
            let mut fds = vec![self.lifeline.as_fd(), self.listener.as_fd()];
            fds.extend(self.conns.iter().map(|c| c.sock.as_fd()));
            let Ok(ready) = sys::fd::poll_readable(&fds, deadline) else {
                return Ended::Done;
            };
            drop(fds);
            if ready[0] {
                // End of stream (the program is gone), or a message it never sends.
                return Ended::Done;
            }
            let polled = ready.len() - 2;
            for i in (0..polled).rev() {
                if !ready[2 + i] {
                    continue;
                }
                match self.serve(i) {
                    Next::Keep => {}
                    Next::Close => {
                        self.conns.swap_remove(i);
                    }
                    Next::Child(start) => return Ended::Child(start),
                }
            }
            if ready[1] {
                self.accept();
            }
            let now = Instant::now();
            self.conns.retain(|c| match c.state {
                ConnState::Challenged { deadline, .. } => deadline > now,
                ConnState::Trusted => true,
            });
        }
    }

    /// Accepts every waiting connection and challenges it.
    fn accept(&mut self) {
        while let Ok(Some(sock)) = sys::listener::accept(self.listener.as_fd()) {
            if self.conns.len() >= MAX_CONNECTIONS {
                continue; // dropped: closed unread
            }
            let Ok(nonce) = sys::random::bytes::<NONCE_LEN>() else {
                continue;
            };
            let deadline = Some(Instant::now() + AUTH_TIMEOUT);
            if wire::send(sock.as_fd(), &[&nonce], &[], deadline).is_ok() {
                self.conns.push(Conn {
                    sock,
                    state: ConnState::Challenged {
                        nonce,
                        deadline: Instant::now() + AUTH_TIMEOUT,
                    },
                });
            }
        }
    }

    /// Reads one message from connection `i` (which poll found readable).
    fn serve(&mut self, i: usize) -> Next {
        let conn = &mut self.conns[i];
        match conn.state {
            ConnState::Challenged { nonce, .. } => {
                let answered = check_answer(&self.key, &nonce, conn.sock.as_fd());
                match answered {
                    Some(reply) if wire::send(conn.sock.as_fd(), &[&reply], &[], None).is_ok() => {
                        conn.state = ConnState::Trusted;
                        Next::Keep
                    }
                    _ => Next::Close,
                }
            }
            ConnState::Trusted => {
                let received = wire::recv(
                    conn.sock.as_fd(),
                    u64::MAX,
                    Some(Instant::now()),
                    |payload, fds| match protocol::split_request(&payload) {
                        Ok((header, args)) => Some((header, args.to_vec(), fds)),
                        Err(reason) => {
                            if let Some(sock) = fds.first() {
                                refuse(sock.as_fd(), &reason);
                            }
                            None
                        }
                    },
                );
                match received {
                    Ok(Some((header, args, fds))) => self.fork(header, args, fds),
                    // Refused on the child's socket (when there was one).
                    Ok(None) | Err(WireError::Timeout) => Next::Keep,
                    // Discarded unread: no child socket to answer on, and the client then sees
                    // its request go unanswered as if this server had died. It never sends such
                    // a request; a peer that does is not kept.
                    Err(_) => Next::Close,
                }
            }
        }
    }

    /// Starts the child a request asks for; any failure is told on the child's result socket.
    fn fork(&self, header: protocol::RequestHeader, args: Vec<u8>, mut fds: Vec<OwnedFd>) -> Next {
        if fds.is_empty() {
            return Next::Close; // nowhere to answer: not our client
        }
        let sock = fds.remove(0);
        if header.parent_pid != self.program {
            refuse(sock.as_fd(), "request for another program");
            return Next::Keep;
        }
        if let Err(e) = crate::auth::check_key(&header.authkey) {
            refuse(sock.as_fd(), &format!("the request's authkey: {e}"));
            return Next::Keep;
        }
        // SAFETY: the offsets come over a connection that proved it knows the key, that is
        // from the program that exec'd this server from its own executable file.
        let entry = match unsafe { EntryPoint::from_offsets(header.offsets) } {
            Ok(e) => e,
            Err(reason) => {
                refuse(sock.as_fd(), &reason);
                return Next::Keep;
            }
        };
        let start = ChildStart {
            spec: ChildSpec {
                entry,
                identity: Identity {
                    name: header.name,
                    daemon: header.daemon,
                    path: header.path,
                },
                parent_pid: header.parent_pid,
                parent_name: header.parent_name,
                method: StartMethod::ForkServer,
                authkey: Some(header.authkey),
            },
            args: Encoded { bytes: args, fds },
            sock,
        };
        // SAFETY: the server is single-threaded (it runs before `main`, and never starts a
        // thread), `prep` was captured on this thread, and no `pthread_atfork` handler matters
        // to it. The child returns to `run`, which drops the server's descriptors first.
        match unsafe { sys::clone::fork_sibling(&self.prep) } {
            Ok(Forked::Child) => Next::Child(start),
            // The child's descriptors are the child's: dropped here. It answers itself. The
            // program's key is the child's too: wiped, so later children do not find it in
            // freed memory (best effort, as for the server's own key).
            Ok(Forked::Parent(_)) => {
                let mut start = start;
                if let Some(key) = &mut start.spec.authkey {
                    key.fill(0);
                    std::hint::black_box(key);
                }
                Next::Keep
            }
            Err(e) => {
                refuse(start.sock.as_fd(), &format!("clone failed: {e}"));
                Next::Keep
            }
        }
    }
}

/// Tells the client, on the would-be child's result socket, why no child was forked.
fn refuse(sock: BorrowedFd<'_>, reason: &str) {
    let _ = outcome::send_refused(sock, reason);
}

/// Reads a challenged connection's answer; returns the server's answer to send back, or `None`
/// if the connection must be refused. Reads at most one message of a fixed small size; any
/// descriptors attached are closed unread.
fn check_answer(key: &Key, nonce: &[u8], sock: BorrowedFd<'_>) -> Option<[u8; MAC_LEN]> {
    let max = (MAC_LEN + NONCE_LEN) as u64;
    wire::recv(sock, max, Some(Instant::now()), |payload, _fds| {
        if payload.len() != MAC_LEN + NONCE_LEN {
            return None;
        }
        let (answer, client_nonce) = payload.split_at(MAC_LEN);
        protocol::client_answer_ok(key, nonce, answer)
            .then(|| protocol::server_answer(key, client_nonce))
    })
    .ok()
    .flatten()
}

/// Everything a freshly forked child needs; the server's own descriptors are closed by then.
#[derive(Debug)]
struct ChildStart {
    spec: ChildSpec,
    args: Encoded,
    /// The child's end of its result socket.
    sock: OwnedFd,
}

impl ChildStart {
    /// Runs the child: it first says its pid on its result socket, which answers the request
    /// (see `client`), then runs the function.
    fn run(self) -> ! {
        // The server ignores Ctrl-C; the program's children do not.
        sys::proc::ignore_sigint(false);
        let _ = outcome::send_hello(self.sock.as_fd(), sys::proc::getpid());
        child_main::run(self.spec, self.args, ReportTo::Socket(self.sock))
    }
}
