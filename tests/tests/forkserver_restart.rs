//! A killed fork server: replaced by the next start, also when killed in the middle of
//! requests; its children live on. A test binary of its own, as these tests kill the server
//! that every other test of the binary would share.

#![allow(
    clippy::needless_pass_by_value,
    reason = "process targets take their arguments by value: they arrive deserialized"
)]

use std::time::Duration;

use integration_tests::gate::{self, Gate, Passed};
use integration_tests::{TIMEOUT, procs};
use mproc::diag::fork_server_pid;
use mproc::prelude::*;

const FS: StartMethod = StartMethod::ForkServer;

fn plus_one(x: u32) -> u32 {
    x + 1
}

fn wait_at(gate: Gate) -> u32 {
    assert_eq!(gate.wait(Duration::from_hours(1)), Passed::Opened);
    5
}

/// The running server's pid (starting one if needed).
fn server() -> i32 {
    let child = Process::new(plus_one, 0).start_method(FS).start().unwrap();
    assert_eq!(procs::join(&child).unwrap(), 1);
    fork_server_pid().expect("a fork server runs after a ForkServer start")
}

/// The tests of this binary kill the server they share, so they run one at a time.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn sigkill(pid: i32) {
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
}

#[test]
fn a_killed_server_is_replaced_by_the_next_start() {
    let _serial = serial();
    let old = server();
    sigkill(old);
    assert!(procs::wait_for_exit(old, TIMEOUT));
    let child = Process::new(plus_one, 41).start_method(FS).start().unwrap();
    assert_eq!(procs::join(&child).unwrap(), 42);
    let new = fork_server_pid().unwrap();
    assert_ne!(new, old);
    assert!(
        !procs::children_of_self().contains(&old),
        "the dead server was reaped"
    );
}

/// Says `x` on `tx`, returns `x + 1`.
fn report((tx, x): (mproc::pipe::Sender<u32>, u32)) -> u32 {
    tx.send(&x).unwrap();
    x + 1
}

/// Starts from one thread while another kills the server again and again (ten times in 200
/// starts): every start succeeds (a request the dying server held is either forked, and found through the child's
/// hello, or repeated with a new server), and every child runs exactly once.
#[test]
fn starts_survive_a_server_killed_at_random_moments() {
    let _serial = serial();
    let (count_rx, count_tx) = Pipe::<u32>::simplex().unwrap();
    // The killer strikes once per 20 starts, right when the previous start returned: while the
    // next request is being sent, forked, or answered.
    let started = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let killer = std::thread::spawn({
        let started = std::sync::Arc::clone(&started);
        move || {
            for round in 1..=10 {
                while started.load(std::sync::atomic::Ordering::Acquire) < round * 20 {
                    std::thread::yield_now();
                }
                if let Some(pid) = fork_server_pid() {
                    let _ = nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(pid),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                }
            }
        }
    });
    let mut children = Vec::new();
    for i in 0..200 {
        let child = Process::new(report, (count_tx.try_clone().unwrap(), i))
            .start_method(FS)
            .start()
            .unwrap_or_else(|e| panic!("start {i}: {e}"));
        started.fetch_add(1, std::sync::atomic::Ordering::Release);
        children.push((i, child));
        if children.len() == 10 {
            for (i, c) in children.drain(..) {
                assert_eq!(procs::join(&c).unwrap(), i + 1);
            }
        }
    }
    for (i, c) in children {
        assert_eq!(procs::join(&c).unwrap(), i + 1);
    }
    integration_tests::threads::join(killer).unwrap();
    drop(count_tx);
    let mut seen = Vec::new();
    while let Ok(x) = count_rx.recv_timeout(TIMEOUT) {
        seen.push(x);
    }
    seen.sort_unstable();
    assert_eq!(seen, (0..200).collect::<Vec<_>>(), "each child ran once");
}

#[test]
fn children_outlive_their_server() {
    let _serial = serial();
    for daemon in [false, true] {
        let (open, gate) = gate::gate();
        let child = Process::new(wait_at, gate)
            .start_method(FS)
            .daemon(daemon)
            .start()
            .unwrap();
        let old = fork_server_pid().unwrap();
        sigkill(old);
        assert!(procs::wait_for_exit(old, TIMEOUT));
        assert!(child.is_alive(), "daemon={daemon}");
        open.open();
        assert_eq!(procs::join(&child).unwrap(), 5);
        assert_eq!(child.exit_status().unwrap(), Some(ExitStatus::Code(0)));
    }
}
