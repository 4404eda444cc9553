//! Structured events (feature `tracing`): process starts and exits, the fork server's
//! replacement after it is killed, a pool worker killed and replaced, a lock taken over from a
//! holder that was killed, and a queue closed, printed by a `tracing-subscriber` formatter.
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
//! DEBUG mproc::process: process started pid=4248 name="PoolWorker-1" start_method=forkserver daemon=true
//! DEBUG mproc::pool: pool worker started pid=4248 slot=0 name="PoolWorker-1" replacement=false
//! killing pool worker 4248
//! WARN mproc::process: process exited pid=4248 name="PoolWorker-1" exit_status=signal 9 (SIGKILL) signal=9
//! WARN mproc::pool: pool worker ended pid=4248 exit_status="signal 9 (SIGKILL)" lost=0
//! DEBUG mproc::process: process started pid=4249 name="PoolWorker-2" start_method=forkserver daemon=true
//! DEBUG mproc::pool: pool worker started pid=4249 slot=0 name="PoolWorker-2" replacement=true
//! square(3) = 9 on the replacement
//! ...
//! WARN mproc::process: process exited pid=4250 name="Process-5" exit_status=signal 9 (SIGKILL) signal=9
//! WARN mproc::sync: lock owner died pid=4250 by=4241
//! the lock was taken over from its killed holder
//! DEBUG mproc::queue: queue closed items=1
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

/// The pid of the pool worker that runs it.
fn worker_pid((): ()) -> u32 {
    std::process::id()
}

/// Takes `lock`, says so, and holds it until killed.
fn hold((lock, held): (Lock, Event)) {
    let _guard = lock.lock();
    held.set();
    let _ = Event::new().map(|never| never.wait_timeout(PATIENCE));
}

/// The bound on every wait here.
const PATIENCE: std::time::Duration = std::time::Duration::from_secs(30);

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

    // A pool worker killed: the pool reports its end and its replacement.
    let pool = Pool::new(1)?;
    let pid = pool.apply(worker_pid, ())?;
    println!("killing pool worker {pid}");
    if let Ok(pid) = i32::try_from(pid) {
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    }
    println!("square(3) = {} on the replacement", pool.apply(square, 3)?);
    pool.close();
    pool.join()?;

    // A lock whose holder was killed: the next taker takes it over and says so.
    let (lock, held) = (Lock::new()?, Event::new()?);
    let holder = Process::new(hold, (lock.clone(), held.clone())).start()?;
    held.wait_timeout(PATIENCE)?;
    holder.kill()?;
    let _ = holder.join();
    match lock.lock() {
        Err(mproc::TryLockError::OwnerDied(_)) => {
            println!("the lock was taken over from its killed holder");
        }
        other => println!("the lock was not taken over: {:?}", other.is_ok()),
    }

    // A queue closed with an item left in it.
    let queue = Queue::<u32>::new()?;
    queue.put(&1)?;
    queue.close();

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
        "pool worker started",
        "replacement=true",
        "pool worker ended",
        "lock owner died",
        "queue closed",
    ] {
        assert!(
            printed.contains(expected),
            "no `{expected}` event in:\n{printed}"
        );
    }
    println!("every kind of event was seen");
    Ok(())
}
