//! Issue #19: a manager killed (SIGKILL) while clients call it, a client killed mid-request,
//! a manager ending with its owner. Every wait is bounded; events are ordered with gates and
//! pipes, never sleeps.

#![allow(
    clippy::needless_pass_by_value,
    reason = "process targets take their arguments by value: they arrive deserialized"
)]

use integration_tests::gate::{Opener, gate};
use integration_tests::{METHODS, TIMEOUT};
use mproc::connection::{Sentinel, wait};
use mproc::manager::{DictProxy, Manager, ManagerError};
use mproc::pipe::Sender;
use mproc::prelude::*;

/// Calls the manager in a loop; opens `started` after the first call; returns how the loop
/// ended: the error text once a call fails.
fn hammer((d, started): (DictProxy<u32, u64>, Opener)) -> String {
    if let Err(e) = d.add(&0, 1) {
        return format!("first call failed: {e}");
    }
    started.open();
    loop {
        if let Err(e) = d.add(&0, 1) {
            return e.to_string();
        }
    }
}

#[test]
fn killing_the_manager_fails_every_call_with_a_typed_error_under_every_method() {
    for method in METHODS {
        let manager = Manager::start_method(method).unwrap();
        let d = manager.dict::<u32, u64>().unwrap();
        let clients: Vec<_> = (0..2)
            .map(|_| {
                let (opener, started) = gate();
                let child = Process::new(hammer, (d.clone(), opener))
                    .start_method(method)
                    .start()
                    .unwrap();
                (child, started)
            })
            .collect();
        let mut children = Vec::new();
        for (child, started) in clients {
            assert_eq!(
                started.wait(TIMEOUT),
                integration_tests::gate::Passed::Opened
            );
            children.push(child);
        }
        let pid = manager.pid().unwrap();
        // SAFETY: kill(2) with a pid this test started and has not reaped (the manager holds
        // its Child), so it cannot be reused meanwhile.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
        for child in children {
            let ended = child.join_timeout(TIMEOUT).unwrap();
            assert!(ended.contains("manager connection"), "{method:?}: {ended}");
        }
        // This process's proxies fail too, at once, and keep failing.
        for _ in 0..2 {
            assert!(
                matches!(d.get(&0), Err(ManagerError::Connection(_))),
                "{method:?}"
            );
        }
        drop(manager);
    }
}

#[test]
fn a_client_killed_mid_request_leaves_the_others_served() {
    let manager = Manager::start().unwrap();
    let d = manager.dict::<u32, u64>().unwrap();
    for _ in 0..3 {
        let (opener, started) = gate();
        let child = Process::new(hammer, (d.clone(), opener)).start().unwrap();
        assert_eq!(
            started.wait(TIMEOUT),
            integration_tests::gate::Passed::Opened
        );
        child.kill().unwrap();
        assert!(child.join_timeout(TIMEOUT).is_err());
        // The manager serves this process, and new connections, as before.
        let before = d.get(&0).unwrap().unwrap();
        assert!(d.add(&0, 1).unwrap() > before);
        let other = Manager::connect(manager.address(), mproc::connection::Auth::Program).unwrap();
        other.list::<u8>().unwrap().push(&1).unwrap();
    }
    manager.shutdown().unwrap();
}

/// Starts a manager, reports its pid, then waits to be killed.
fn owner((report, method): (Sender<i32>, StartMethod)) {
    let manager = Manager::start_method(method).unwrap();
    report.send(&manager.pid().unwrap()).unwrap();
    // Wait for the kill; the test bounds how long this process may live.
    std::thread::park_timeout(TIMEOUT);
}

#[test]
fn a_started_manager_ends_with_its_owner_even_when_the_owner_is_killed() {
    for method in METHODS {
        let (rx, tx) = Pipe::<i32>::simplex().unwrap();
        let owner = Process::new(owner, (tx, method))
            .start_method(method)
            .start()
            .unwrap();
        let manager_pid = rx.recv_timeout(TIMEOUT).unwrap();
        let sentinel = Sentinel::from_pid(manager_pid).unwrap();
        owner.kill().unwrap();
        assert!(owner.join_timeout(TIMEOUT).is_err());
        assert_eq!(
            wait(&[&sentinel], Some(TIMEOUT)).unwrap(),
            [0],
            "{method:?}: the manager outlived its owner"
        );
    }
}
