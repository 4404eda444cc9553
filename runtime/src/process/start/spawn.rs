//! The `Spawn` start method: the child is a fresh execution of this program's executable.
//!
//! The parent runs `/proc/self/exe` with a marker in the environment and the child's end of the
//! result socket as descriptor 0 (every other descriptor is closed at the exec, whether it was
//! marked close-on-exec or not), then sends a bootstrap message on it: the entry point as
//! offsets (see [`crate::process::child::entry`]), the child's identity, the program authkey, and the encoded
//! arguments with their handle descriptors. In the child, a constructor in `.init_array` sees
//! the marker *before `main` runs* (also in `cargo test` binaries), reads the message, installs
//! the key, runs the function and exits, so `main` never runs in a spawned child. No user
//! ceremony is needed.

use std::ffi::{OsStr, c_char, c_int};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

use crate::codec::Encoded;
use crate::process::SpawnError;
use crate::process::StartMethod;
use crate::process::child::entry::{EntryPoint, Offsets};
use crate::process::child::main::{self as child_main, ChildSpec};
use crate::process::child::outcome::ReportTo;
use crate::process::identity::Identity;
use crate::sys;
use crate::sys::OsContext;
use crate::wire;

/// The environment marker; its value is `PROTOCOL:parent-pid`.
const MARKER: &str = "__MPROC_SPAWNED_CHILD";
const PROTOCOL: &str = "1";

/// The bootstrap message.
#[derive(Debug, Serialize, Deserialize)]
struct Boot {
    offsets: Offsets,
    name: String,
    daemon: bool,
    path: Vec<u32>,
    parent_name: String,
    /// The program authkey, so the child has it before its function runs (never in the
    /// environment or argv, which other users may read in `/proc`).
    authkey: Vec<u8>,
    args: Vec<u8>,
}

/// Starts a re-executed child running `spec` with `args`, reporting on `child_sock`.
pub(crate) fn start(
    spec: &ChildSpec,
    args: &Encoded,
    parent_sock: &OwnedFd,
    child_sock: OwnedFd,
) -> Result<libc::pid_t, SpawnError> {
    let boot = Boot {
        offsets: spec.entry.to_offsets()?,
        name: spec.identity.name.clone(),
        daemon: spec.identity.daemon,
        path: spec.identity.path.clone(),
        parent_name: spec.parent_name.clone(),
        authkey: crate::auth::program_key()
            .map_err(SpawnError::os("making the program authkey"))?
            .to_vec(),
        args: args.bytes.clone(),
    };
    let message = postcard::to_allocvec(&boot)
        .map_err(|e| SpawnError::os("encoding the bootstrap message")(std::io::Error::other(e)))?;

    let mut cmd = Command::new("/proc/self/exe");
    if let Some(arg0) = std::env::args_os().next() {
        cmd.arg0(arg0);
    }
    cmd.env(MARKER, format!("{PROTOCOL}:{}", spec.parent_pid))
        .stdin(Stdio::from(child_sock));
    // SAFETY: the hook runs between fork and exec and only makes a system call (see
    // `cloexec_from`). By then std has installed the bootstrap socket as descriptor 0.
    unsafe { cmd.pre_exec(only_stdio) };
    let child = cmd
        .spawn()
        .map_err(SpawnError::os("exec of /proc/self/exe"))?;
    let pid = libc::pid_t::try_from(child.id()).expect("invariant: pids fit in pid_t");
    drop(child); // no pipes were requested; reaping is ours (pidfd)

    let fds: Vec<BorrowedFd<'_>> = args.fds.iter().map(AsFd::as_fd).collect();
    if let Err(e) = wire::send(parent_sock.as_fd(), &[&message], &fds, None) {
        sys::proc::kill_and_reap(pid);
        return Err(SpawnError::os("sending the bootstrap message")(
            std::io::Error::other(e),
        ));
    }
    Ok(pid)
}

/// In a child between `fork` and `exec`: every descriptor above stdio is closed at the `exec`,
/// so the child holds only the bootstrap socket (as its stdin), stdout, stderr, and what the
/// bootstrap message brings. The parent's descriptors that lack close-on-exec do not leak
/// into it (as Python's `spawn`, which passes only what the child needs).
pub(crate) fn only_stdio() -> std::io::Result<()> {
    sys::proc::cloexec_from(3)
}

/// Runs before `main` in every process of an executable that uses the `Spawn` start method.
#[used]
#[unsafe(link_section = ".init_array")]
static SPAWNED_CHILD_HOOK: extern "C" fn(c_int, *const *const c_char, *const *const c_char) =
    spawned_child_hook;

extern "C" fn spawned_child_hook(_: c_int, _: *const *const c_char, _: *const *const c_char) {
    let Some(value) = std::env::var_os(MARKER) else {
        return;
    };
    // SAFETY: constructors run before `main`, on the only thread; nothing reads the environment
    // concurrently. The marker must not leak into this child's own children.
    unsafe { std::env::remove_var(MARKER) };
    if sys::proc::secure_exec() {
        // A set-user-ID (or otherwise privileged) start: the marker comes from whoever ran us,
        // not from a parent of our own, and must not choose code to run. `main` runs as usual.
        return;
    }
    // Never unwind into the dynamic loader.
    let _ = std::panic::catch_unwind(|| run_spawned_child(&value));
    sys::proc::exit_now(1);
}

/// Makes sure the hook is linked into every executable that can spawn.
pub(crate) fn keep_hook() {
    std::hint::black_box(&SPAWNED_CHILD_HOOK);
}

fn run_spawned_child(marker: &OsStr) -> ! {
    // Rust's runtime (not yet started) would ignore SIGPIPE; so do we, as the parent does.
    sys::proc::ignore_sigpipe();
    let parent_pid = marker
        .to_str()
        .and_then(|v| v.strip_prefix(PROTOCOL)?.strip_prefix(':')?.parse().ok());
    let Some(parent_pid) = parent_pid else {
        child_main::fail(None, format!("malformed {MARKER} marker"));
    };
    // SAFETY: descriptor 0 is the socket the parent installed for us; it stays open for this
    // borrow, and is replaced below only after being duplicated.
    let stdin = unsafe { BorrowedFd::borrow_raw(0) };
    let sock = match sys::fd::dup_cloexec_at_least(stdin, 3) {
        Ok(s) => s,
        Err(e) => child_main::fail(None, format!("bootstrap socket: {e}")),
    };
    if let Err(e) = sys::fd::stdin_to_dev_null() {
        child_main::fail(Some(&sock), format!("redirecting stdin: {e}"));
    }
    let received = wire::recv(sock.as_fd(), u64::MAX, None, |payload, fds| {
        postcard::from_bytes::<Boot>(&payload).map(|boot| (boot, fds))
    });
    let (boot, fds) = match received {
        Ok(Ok(decoded)) => decoded,
        Ok(Err(e)) => child_main::fail(Some(&sock), format!("decoding the bootstrap message: {e}")),
        Err(e) => child_main::fail(None, format!("reading the bootstrap message: {e}")),
    };
    // SAFETY: the offsets come from our parent, which exec'd this same executable file and sent
    // them over a socket only it and we hold.
    let entry = match unsafe { EntryPoint::from_offsets(boot.offsets) } {
        Ok(e) => e,
        Err(e) => child_main::fail(Some(&sock), e),
    };
    if let Err(e) = crate::auth::check_key(&boot.authkey) {
        child_main::fail(Some(&sock), format!("the bootstrap's authkey: {e}"));
    }
    let spec = ChildSpec {
        entry,
        identity: Identity {
            name: boot.name,
            daemon: boot.daemon,
            path: boot.path,
        },
        parent_pid,
        parent_name: boot.parent_name,
        method: StartMethod::Spawn,
        authkey: Some(boot.authkey),
    };
    debug_assert!(sock.as_raw_fd() >= 3);
    child_main::run(
        spec,
        Encoded {
            bytes: boot.args,
            fds,
        },
        ReportTo::Socket(sock),
    )
}

#[cfg(all(test, not(loom)))]
mod proptests;
