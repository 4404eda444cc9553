//! Starting a fork server: exec of this program's executable from a launcher thread, the
//! start-up message, and the authenticated connection.
//!
//! The kernel ties `PR_SET_PDEATHSIG` to the *thread* that created a process, and a child of
//! the server (forked with `CLONE_PARENT`) has the server's creator as its parent thread too. So
//! servers are started from one launcher thread that lives as long as the program: the server,
//! and the daemon children it forks, are killed when the program dies, not when whichever
//! thread happened to start the server ends.

use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::protocol::{self, Key, MAC_LEN, NONCE_LEN, Ready, Startup};
use super::server::{MARKER, PROTOCOL};
use crate::process::{ForkServerError, SpawnError};
use crate::sys;
use crate::sys::OsContext;
use crate::wire;

/// How long a new server may take to start listening, and to answer the handshake. Exec of a
/// large test binary on a loaded machine takes well under a second; only a broken server takes
/// this long.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// The launcher thread's stack: it only runs `Command::spawn`.
const LAUNCHER_STACK: usize = 256 * 1024;

/// A running, authenticated fork server.
#[derive(Debug)]
pub(super) struct Server {
    pub(super) pid: libc::pid_t,
    pub(super) pidfd: OwnedFd,
    /// The program's end of the life-line: the server exits when it closes.
    #[allow(
        dead_code,
        reason = "held open, never read: closing it tells the server to exit"
    )]
    pub(super) lifeline: OwnedFd,
    /// The authenticated request connection.
    pub(super) conn: OwnedFd,
}

/// The launcher thread (see the module docs).
#[derive(Debug)]
pub(super) struct Launcher {
    requests: mpsc::Sender<Launch>,
}

struct Launch {
    stdin: OwnedFd,
    marker: String,
    reply: mpsc::Sender<std::io::Result<u32>>,
}

impl Launcher {
    pub(super) fn new() -> std::io::Result<Self> {
        let (requests, incoming) = mpsc::channel::<Launch>();
        std::thread::Builder::new()
            .name("mproc-forkserver".into())
            .stack_size(LAUNCHER_STACK)
            .spawn(move || {
                // Lives as long as the program: the channel's sender is never dropped (see
                // `ForkGuard` for forked children, where this thread does not exist).
                while let Ok(launch) = incoming.recv() {
                    let _ = launch.reply.send(exec_server(launch.stdin, &launch.marker));
                }
            })?;
        Ok(Self { requests })
    }

    fn launch(&self, stdin: OwnedFd, marker: String) -> std::io::Result<u32> {
        let (reply, answer) = mpsc::channel();
        self.requests
            .send(Launch {
                stdin,
                marker,
                reply,
            })
            .map_err(|_| std::io::Error::other("the fork server launcher thread is gone"))?;
        answer
            .recv()
            .map_err(|_| std::io::Error::other("the fork server launcher thread is gone"))?
    }
}

fn exec_server(stdin: OwnedFd, marker: &str) -> std::io::Result<u32> {
    let mut cmd = Command::new("/proc/self/exe");
    if let Some(arg0) = std::env::args_os().next() {
        cmd.arg0(arg0);
    }
    cmd.env(MARKER, marker).stdin(Stdio::from(stdin));
    // The server, and so every child it forks, holds only the life-line and stdio: none of
    // the program's descriptors that lack close-on-exec.
    // SAFETY: the hook only makes a system call between fork and exec (see `only_stdio`).
    unsafe { cmd.pre_exec(crate::process::start::spawn::only_stdio) };
    let child = cmd.spawn()?;
    Ok(child.id()) // dropping `child` does not wait; the program reaps the server (pidfd)
}

/// Starts a server and connects to it.
pub(super) fn start(launcher: &mut Option<Launcher>) -> Result<Server, SpawnError> {
    super::server::keep_hook();
    let key: Key = sys::random::bytes().map_err(SpawnError::os("getrandom"))?;
    let tag: [u8; 8] = sys::random::bytes().map_err(SpawnError::os("getrandom"))?;
    let me = sys::proc::getpid();
    let address = format!("mproc-forkserver/{me}/{}", hex(&tag)).into_bytes();
    let (lifeline, server_end) = sys::socket::socketpair().map_err(SpawnError::os("socketpair"))?;

    let launcher = match launcher {
        Some(l) => l,
        None => launcher.insert(Launcher::new().map_err(SpawnError::os("starting a thread"))?),
    };
    let pid = launcher
        .launch(server_end, format!("{PROTOCOL}:{me}"))
        .map_err(SpawnError::os("exec of /proc/self/exe for the fork server"))?;
    let pid = libc::pid_t::try_from(pid).expect("invariant: pids fit in pid_t");
    let pidfd = match sys::proc::pidfd_open(pid) {
        Ok(fd) => fd,
        Err(e) => {
            sys::proc::kill_and_reap(pid);
            return Err(SpawnError::os("pidfd_open")(e));
        }
    };
    let server = Starting {
        pid,
        pidfd: Some(pidfd),
    };
    let conn = server.handshake(lifeline.as_fd(), &Startup { key, address })?;
    let pidfd = server.into_running();
    Ok(Server {
        pid,
        pidfd,
        lifeline,
        conn,
    })
}

/// A server that is not known to work yet: killed and reaped if dropped.
struct Starting {
    pid: libc::pid_t,
    /// `None` once handed over.
    pidfd: Option<OwnedFd>,
}

impl Starting {
    fn handshake(
        &self,
        lifeline: std::os::fd::BorrowedFd<'_>,
        startup: &Startup,
    ) -> Result<OwnedFd, SpawnError> {
        let deadline = Some(Instant::now() + STARTUP_TIMEOUT);
        let message = postcard::to_allocvec(startup)
            .map_err(ForkServerError::step("encoding the start-up message"))?;
        wire::send(lifeline, &[&message], &[], deadline)
            .map_err(ForkServerError::step("sending the start-up message"))?;
        let ready = wire::recv(lifeline, 4096, deadline, |payload, _| {
            postcard::from_bytes::<Ready>(&payload)
        })
        .map_err(ForkServerError::step("waiting for the server to listen"))?
        .map_err(ForkServerError::step("decoding the start-up answer"))?;
        ready.map_err(|reason| ForkServerError::Refused { reason })?;

        let conn = sys::listener::connect(&startup.address)
            .map_err(SpawnError::os("connecting to the fork server"))?;
        // The kernel recorded who listens there: only our server, or we refuse to talk.
        let peer = sys::listener::peer_pid(conn.as_fd()).map_err(SpawnError::os("SO_PEERCRED"))?;
        if peer != self.pid {
            return Err(ForkServerError::Impostor { pid: peer }.into());
        }
        authenticate(conn.as_fd(), &startup.key, deadline)?;
        Ok(conn)
    }

    /// The server works: hands over its pidfd instead of stopping it.
    fn into_running(mut self) -> OwnedFd {
        self.pidfd.take().expect("invariant: taken only here")
    }
}

impl Drop for Starting {
    fn drop(&mut self) {
        if let Some(pidfd) = &self.pidfd {
            stop(pidfd.as_fd());
        }
    }
}

/// Kills a server and reaps it.
pub(super) fn stop(pidfd: std::os::fd::BorrowedFd<'_>) {
    let _ = sys::proc::pidfd_send_signal(pidfd, libc::SIGKILL);
    loop {
        match sys::proc::try_reap(pidfd) {
            Ok(Some(_)) | Err(_) => return,
            Ok(None) => {
                if sys::fd::poll([sys::fd::Interest::read(pidfd)], None).is_err() {
                    return;
                }
            }
        }
    }
}

/// The client's side of the handshake (see `protocol`).
fn authenticate(
    conn: std::os::fd::BorrowedFd<'_>,
    key: &Key,
    deadline: Option<Instant>,
) -> Result<(), SpawnError> {
    let challenge = wire::recv(conn, NONCE_LEN as u64, deadline, |p, _| p.into_vec())
        .map_err(ForkServerError::step("waiting for the challenge"))?;
    if challenge.len() != NONCE_LEN {
        return Err(ForkServerError::MalformedChallenge.into());
    }
    let nonce: [u8; NONCE_LEN] = sys::random::bytes().map_err(SpawnError::os("getrandom"))?;
    let answer = protocol::client_answer(key, &challenge);
    wire::send(conn, &[&answer, &nonce], &[], deadline)
        .map_err(ForkServerError::step("answering the challenge"))?;
    let proof = wire::recv(conn, MAC_LEN as u64, deadline, |p, _| p.into_vec()).map_err(
        ForkServerError::step("waiting for the server's proof of the key"),
    )?;
    if !protocol::server_answer_ok(key, &nonce, &proof) {
        return Err(ForkServerError::UnknownKey.into());
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}
