//! No descriptor and no zombie is left behind by any way a child can end.
//!
//! One test in its own binary, so nothing else runs concurrently and the counts are exact.

#![allow(
    clippy::needless_pass_by_value,
    reason = "process targets take their arguments by value: they arrive deserialized"
)]

use std::time::Duration;

use integration_tests::gate::{self, Gate, Passed};
use integration_tests::{METHODS, TIMEOUT, procs};
use mproc::prelude::*;

fn wait_at(gate: Gate) -> u8 {
    assert_eq!(gate.wait(Duration::from_hours(1)), Passed::Opened);
    1
}

fn exit_with(code: i32) {
    std::process::exit(code)
}

fn panics(_: ()) -> u8 {
    panic!("deliberate")
}

fn every_ending(method: StartMethod) {
    // Returned and joined.
    let c = Process::new(|x: u8| x, 3)
        .start_method(method)
        .start()
        .unwrap();
    assert_eq!(procs::join(&c).unwrap(), 3);
    // exit(n), panic.
    let c = Process::new(exit_with, 4)
        .start_method(method)
        .start()
        .unwrap();
    assert!(procs::join(&c).is_err());
    let c = Process::new(panics, ())
        .start_method(method)
        .start()
        .unwrap();
    assert!(procs::join(&c).is_err());
    // Killed while blocked, after a timed-out join.
    let (opener, gate) = gate::gate();
    let c = Process::new(wait_at, gate)
        .start_method(method)
        .start()
        .unwrap();
    assert!(c.join_timeout(Duration::from_millis(10)).is_err());
    c.kill().unwrap();
    assert!(procs::join(&c).is_err());
    drop(opener);
    // Dropped without join, finishing later.
    let (opener, gate) = gate::gate();
    let c = Process::new(wait_at, gate)
        .start_method(method)
        .start()
        .unwrap();
    let handle = c.handle();
    drop(c);
    opener.open();
    handle.wait_timeout(TIMEOUT).unwrap();
    drop(handle);
    // Dropped without join, never waited for by anyone: reaped by active_children().
    let (opener, gate) = gate::gate();
    let c = Process::new(wait_at, gate)
        .start_method(method)
        .start()
        .unwrap();
    let pid = c.pid();
    drop(c);
    opener.open();
    assert!(procs::wait_for_exit(pid, TIMEOUT));
}

#[test]
fn no_descriptor_or_zombie_is_left_behind() {
    // Warm up lazily created state (the spawn hook, the exit handler) before counting.
    every_ending(StartMethod::Fork);
    assert!(active_children().is_empty());
    let fds = procs::fd_count();
    assert!(procs::children_of_self().is_empty());

    for method in METHODS {
        for _ in 0..3 {
            every_ending(method);
        }
    }

    assert!(active_children().is_empty(), "finished children are reaped");
    assert_eq!(
        procs::children_of_self(),
        Vec::<i32>::new(),
        "no zombie remains"
    );
    assert_eq!(procs::fd_count(), fds, "no descriptor leaked");
}
