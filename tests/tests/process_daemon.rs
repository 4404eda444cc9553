//! Daemon and non-daemon children when their parent ends: normally, by panic, by SIGKILL.
//!
//! Each test runs a "middle" process that starts a grandchild and reports the grandchild's pid
//! through a gate; the test then ends the middle process and watches the grandchild through a
//! pidfd (which works for any process, so also for a reparented one).

#![allow(
    clippy::needless_pass_by_value,
    reason = "process targets take their arguments by value: they arrive deserialized"
)]

use std::time::Duration;

use integration_tests::gate::{self, Gate, Opener, Passed};
use integration_tests::{METHODS, TIMEOUT, procs};
use mproc::prelude::*;

/// Waits (for an hour at most) until its gate opens.
fn wait_at(gate: Gate) {
    assert_eq!(gate.wait(Duration::from_hours(1)), Passed::Opened);
}

/// How the middle process ends after starting its grandchild.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
enum End {
    Return,
    Panic,
    /// Block on `hold` until killed by the test.
    Block,
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Middle {
    daemon: bool,
    method: StartMethod,
    grandchild_gate: Gate,
    report: Opener,
    end: End,
    hold: Gate,
}

fn middle(m: Middle) {
    let grandchild = Process::new(wait_at, m.grandchild_gate)
        .daemon(m.daemon)
        .start_method(m.method)
        .start()
        .expect("start grandchild");
    m.report
        .send_u64(u64::try_from(grandchild.pid()).expect("pid"));
    match m.end {
        End::Return => {}
        End::Panic => panic!("middle gives up"),
        End::Block => wait_at(m.hold),
    }
}

/// Starts a middle process; returns it, the grandchild's pid, and the grandchild's opener.
fn start_middle(daemon: bool, method: StartMethod, end: End) -> (Child<()>, i32, Opener, Opener) {
    let (grandchild_opener, grandchild_gate) = gate::gate();
    let (report, reported) = gate::gate();
    let (hold_opener, hold) = gate::gate();
    let m = Middle {
        daemon,
        method,
        grandchild_gate,
        report,
        end,
        hold,
    };
    let child = Process::new(middle, m)
        .start_method(method)
        .start()
        .expect("start middle");
    let pid = reported.recv_u64(TIMEOUT).expect("grandchild pid reported");
    (
        child,
        i32::try_from(pid).expect("pid"),
        grandchild_opener,
        hold_opener,
    )
}

#[test]
fn a_daemon_dies_when_its_parent_is_killed() {
    for method in METHODS {
        let (middle, grandchild, _g, _hold) = start_middle(true, method, End::Block);
        assert!(procs::is_running(grandchild));
        middle.kill().unwrap();
        assert!(matches!(
            procs::join(&middle),
            Err(ProcessError::Killed { signal: 9 })
        ));
        assert!(
            procs::wait_for_exit(grandchild, TIMEOUT),
            "{method:?}: daemon outlived parent"
        );
    }
}

#[test]
fn a_daemon_is_terminated_when_its_parent_returns() {
    for method in METHODS {
        let (middle, grandchild, _g, _hold) = start_middle(true, method, End::Return);
        procs::join(&middle).unwrap();
        // The middle process reaped it before exiting, so it is gone already.
        assert!(
            procs::wait_for_exit(grandchild, Duration::ZERO),
            "{method:?}"
        );
    }
}

#[test]
fn a_daemon_is_terminated_when_its_parent_panics() {
    for method in METHODS {
        let (middle, grandchild, _g, _hold) = start_middle(true, method, End::Panic);
        assert!(matches!(
            procs::join(&middle),
            Err(ProcessError::Panicked { .. })
        ));
        assert!(
            procs::wait_for_exit(grandchild, Duration::ZERO),
            "{method:?}"
        );
    }
}

#[test]
fn a_non_daemon_child_is_waited_for_at_its_parents_exit() {
    for method in METHODS {
        let (middle, grandchild, release, _hold) = start_middle(false, method, End::Return);
        // The middle process has returned, but waits at exit for its non-daemon child.
        assert!(matches!(
            middle.join_timeout(Duration::from_millis(100)),
            Err(ProcessError::Timeout)
        ));
        assert!(procs::is_running(grandchild));
        release.open();
        procs::join(&middle).unwrap();
        assert!(
            procs::wait_for_exit(grandchild, Duration::ZERO),
            "{method:?}"
        );
    }
}

#[test]
fn a_non_daemon_child_survives_its_parents_sigkill() {
    // As in Python: only daemons are tied to their parent's life.
    let (middle, grandchild, release, _hold) = start_middle(false, StartMethod::Fork, End::Block);
    middle.kill().unwrap();
    assert!(matches!(
        procs::join(&middle),
        Err(ProcessError::Killed { .. })
    ));
    assert!(procs::is_running(grandchild));
    release.open();
    assert!(procs::wait_for_exit(grandchild, TIMEOUT));
}
