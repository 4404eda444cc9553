//! Structured events (feature `tracing`): process starts and exits, and the fork server's
//! replacement after it is killed, printed by a `tracing-subscriber` formatter.
//!
//! `cargo run --release -p examples --features tracing --example tracing_events` prints (one run;
//! pids vary), then checks that every kind of event appeared:
//!
//! ```text
//! DEBUG mproc::process: process started pid=4242 name="Process-1" start_method=fork daemon=false
//! DEBUG mproc::process: process exited pid=4242 name="Process-1" exit_status=exit code 0 code=0
//! square(7) = 49 under fork
//! DEBUG mproc::process: fork server started pid=4243 generation=1 restart=false
//! DEBUG mproc::process: process started pid=4244 name="Process-2" start_method=forkserver daemon=false
//! DEBUG mproc::process: process exited pid=4244 name="Process-2" exit_status=exit code 0 code=0
//! square(8) = 64 under forkserver
//! DEBUG mproc::process: process started pid=4245 name="Process-3" start_method=spawn daemon=false
//! WARN mproc::process: process exited pid=4245 name="Process-3" exit_status=signal 9 (SIGKILL) signal=9
//! the sleeper was killed: process was killed by signal 9 (SIGKILL)
//! killing the fork server (pid 4243)
//! WARN mproc::process: fork server lost pid=4243
//! WARN mproc::process: fork server started pid=4246 generation=2 restart=true
//! DEBUG mproc::process: process started pid=4247 name="Process-4" start_method=forkserver daemon=false
//! DEBUG mproc::process: process exited pid=4247 name="Process-4" exit_status=exit code 0 code=0
//! square(9) = 81 under a new fork server
//! every kind of event was seen
//! ```

#![allow(
    clippy::needless_pass_by_value,
    reason = "process targets receive their arguments by value, deserialized"
)]

use std::io::Write;
use std::sync::Mutex;

use mproc::pipe::Receiver;
use mproc::prelude::*;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

fn square(x: u64) -> u64 {
    x * x
}

/// Waits for a message that never comes (it is killed first).
fn sleeper(rx: Receiver<()>) {
    let _ = rx.recv();
}

/// Everything the subscriber printed, to check at the end.
static PRINTED: Mutex<Vec<u8>> = Mutex::new(Vec::new());

/// The subscriber's output: stdout, and a copy in [`PRINTED`].
struct Tee;

impl Write for Tee {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        PRINTED
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(buf);
        std::io::stdout().write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stdout().flush()
    }
}

fn main() -> mproc::Result<()> {
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .without_time()
        .with_ansi(false)
        .with_writer(|| Tee)
        .init();

    for (x, method) in [(7, StartMethod::Fork), (8, StartMethod::ForkServer)] {
        let child = Process::new(square, x).start_method(method).start()?;
        println!("square({x}) = {} under {method}", child.join()?);
    }

    // A child ended by a signal is reported at WARN.
    let (rx, _tx) = Pipe::<()>::simplex()?;
    let child = Process::new(sleeper, rx)
        .start_method(StartMethod::Spawn)
        .start()?;
    child.kill()?;
    match child.join() {
        Err(e) => println!("the sleeper was killed: {e}"),
        Ok(()) => println!("the sleeper returned"),
    }

    // Killing the fork server: the next start replaces it, and says so.
    if let Some(pid) = mproc::process::fork_server_pid() {
        println!("killing the fork server (pid {pid})");
        if let Err(e) = kill(Pid::from_raw(pid), Signal::SIGKILL) {
            println!("cannot kill it: {e}");
        }
    }
    let child = Process::new(square, 9)
        .start_method(StartMethod::ForkServer)
        .start()?;
    println!("square(9) = {} under a new fork server", child.join()?);

    let printed = String::from_utf8_lossy(
        &PRINTED
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    )
    .into_owned();
    for expected in [
        "process started",
        "start_method=fork",
        "start_method=forkserver",
        "process exited",
        "signal=9",
        "fork server lost",
        "restart=true",
    ] {
        assert!(
            printed.contains(expected),
            "no `{expected}` event in:\n{printed}"
        );
    }
    println!("every kind of event was seen");
    Ok(())
}
