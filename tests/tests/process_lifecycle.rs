//! Starting, joining and ending processes, under every start method.

#![allow(
    clippy::needless_pass_by_value,
    reason = "process targets take their arguments by value: they arrive deserialized"
)]

use std::time::Duration;

use integration_tests::gate::{self, Gate, Passed};
use integration_tests::{METHODS, TIMEOUT, procs};
use mproc::prelude::*;

fn plus_one(x: u32) -> u32 {
    x + 1
}

fn exit_with(code: i32) {
    std::process::exit(code)
}

fn panic_with(message: String) -> u8 {
    panic!("{message}")
}

/// Blocks until the gate opens (or the process is signalled); returns 7.
fn wait_at(gate: Gate) -> u8 {
    assert_eq!(gate.wait(Duration::from_hours(1)), Passed::Opened);
    7
}

#[test]
fn a_returned_value_comes_back_with_exit_code_zero() {
    for method in METHODS {
        let child = Process::new(plus_one, 41)
            .start_method(method)
            .start()
            .unwrap();
        assert_eq!(procs::join(&child).unwrap(), 42, "{method:?}");
        assert_eq!(child.exit_status().unwrap(), Some(ExitStatus::Code(0)));
    }
}

#[test]
fn exit_codes_are_reported_without_a_value() {
    for method in METHODS {
        for code in [0, 3] {
            let child = Process::new(exit_with, code)
                .start_method(method)
                .start()
                .unwrap();
            match procs::join(&child) {
                Err(ProcessError::Exited { code: c }) => assert_eq!(c, code, "{method:?}"),
                other => panic!("{method:?} exit({code}): {other:?}"),
            }
            assert_eq!(child.exit_status().unwrap(), Some(ExitStatus::Code(code)));
        }
    }
}

#[test]
fn a_panic_is_reported_with_its_message_and_exit_code_one() {
    for method in METHODS {
        let child = Process::new(panic_with, "out of tickets".to_owned())
            .start_method(method)
            .start();
        let child = child.unwrap();
        match procs::join(&child) {
            Err(ProcessError::Panicked { message, .. }) => assert_eq!(message, "out of tickets"),
            other => panic!("{method:?}: {other:?}"),
        }
        assert_eq!(child.exit_status().unwrap(), Some(ExitStatus::Code(1)));
    }
}

#[test]
fn terminate_and_kill_end_a_blocked_child_by_signal() {
    for method in METHODS {
        for (signal, end) in [(libc::SIGTERM, "terminate"), (libc::SIGKILL, "kill")] {
            let (_opener, gate) = gate::gate();
            let child = Process::new(wait_at, gate)
                .start_method(method)
                .start()
                .unwrap();
            assert!(child.is_alive(), "it waits for a gate nobody opens");
            if end == "terminate" {
                child.terminate().unwrap();
            } else {
                child.kill().unwrap();
            }
            match procs::join(&child) {
                Err(ProcessError::Killed { signal: s }) => assert_eq!(s, signal),
                other => panic!("{method:?} {end}: {other:?}"),
            }
            assert_eq!(
                child.exit_status().unwrap(),
                Some(ExitStatus::Signaled(signal))
            );
            assert_eq!(
                child.exit_status().unwrap().unwrap().python_exitcode(),
                -signal
            );
            assert!(!child.is_alive());
            child.terminate().unwrap(); // a no-op once reaped, as in Python
            child.kill().unwrap();
        }
    }
}

#[test]
fn join_timeout_on_a_running_child_loses_nothing() {
    for method in METHODS {
        let (opener, gate) = gate::gate();
        let child = Process::new(wait_at, gate)
            .start_method(method)
            .start()
            .unwrap();
        assert!(matches!(
            child.join_timeout(Duration::from_millis(20)),
            Err(ProcessError::Timeout)
        ));
        assert!(matches!(child.try_join(), Err(ProcessError::Timeout)));
        assert!(child.is_alive());
        assert_eq!(child.exit_status().unwrap(), None);
        opener.open();
        assert_eq!(procs::join(&child).unwrap(), 7, "{method:?}");
        assert!(!child.is_alive());
        assert!(matches!(child.join(), Err(ProcessError::AlreadyJoined)));
    }
}

#[test]
fn a_hundred_children_start_and_join() {
    for method in METHODS {
        let children: Vec<_> = (0..100)
            .map(|i| {
                Process::new(plus_one, i)
                    .start_method(method)
                    .start()
                    .unwrap()
            })
            .collect();
        let values: Vec<u32> = children.iter().map(|c| procs::join(c).unwrap()).collect();
        assert_eq!(values, (1..=100).collect::<Vec<_>>(), "{method:?}");
    }
}

#[process]
fn describe_self() -> (String, bool, Vec<u32>, Option<(i32, String)>) {
    let me = current_process();
    let parent = parent_process().map(|p| (p.pid(), p.name().to_owned()));
    (
        me.name().to_owned(),
        me.daemon(),
        me.identity().to_vec(),
        parent,
    )
}

#[test]
fn children_know_their_name_flag_and_parent() {
    let me = std::process::id().cast_signed();
    for method in METHODS {
        let child = describe_self::builder()
            .name("ticket-seller")
            .daemon(true)
            .start_method(method);
        let child = child.spawn().unwrap();
        assert_eq!(child.name(), "ticket-seller");
        assert!(child.daemon());
        let (name, daemon, path, parent) = procs::join(&child).unwrap();
        assert_eq!(name, "ticket-seller");
        assert!(daemon);
        assert_eq!(
            path.len(),
            1,
            "a child of the main process has a one-step identity"
        );
        assert_eq!(parent, Some((me, "MainProcess".to_owned())), "{method:?}");
    }
    let child = describe_self::spawn().unwrap();
    assert!(child.name().starts_with("Process-"), "{}", child.name());
    assert!(
        !child.daemon(),
        "the main process is not a daemon, so neither is its child"
    );
    let (name, _, path, _) = procs::join(&child).unwrap();
    assert_eq!(name, format!("Process-{}", path[0]));
}

#[test]
fn the_main_process_has_no_parent_and_a_cpu_count() {
    assert!(parent_process().is_none());
    assert_eq!(current_process().name(), "MainProcess");
    assert_eq!(current_process().pid(), std::process::id().cast_signed());
    let n = cpu_count();
    let online = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count();
    assert!((1..=online).contains(&n), "{n} of {online}");
}

/// The CPUs this thread may run on, from `sched_getaffinity`.
fn allowed_cpus() -> Vec<usize> {
    let set = nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0)).unwrap();
    (0..nix::sched::CpuSet::count())
        .filter(|&i| set.is_set(i).unwrap())
        .collect()
}

/// Narrows this process to the first CPU it is allowed on; returns that CPU, the CPUs allowed
/// afterwards, and what `cpu_count()` says then.
fn narrow_to_one_cpu(_: ()) -> (usize, Vec<usize>, usize) {
    let cpu = allowed_cpus()[0];
    let mut one = nix::sched::CpuSet::new();
    one.set(cpu).unwrap();
    nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &one).unwrap();
    (cpu, allowed_cpus(), cpu_count())
}

#[test]
fn cpu_count_follows_the_affinity_mask() {
    let allowed = allowed_cpus();
    assert_eq!(cpu_count(), allowed.len(), "allowed: {allowed:?}");
    for method in METHODS {
        let child = Process::new(narrow_to_one_cpu, ())
            .start_method(method)
            .start()
            .unwrap();
        let (cpu, now_allowed, count) = procs::join(&child).unwrap();
        assert!(
            allowed.contains(&cpu),
            "{method:?}: {cpu} not in {allowed:?}"
        );
        assert_eq!(now_allowed, [cpu], "{method:?}: the child narrowed itself");
        assert_eq!(count, 1, "{method:?}: cpu_count() with one CPU allowed");
    }
    assert_eq!(cpu_count(), allowed.len(), "the child's mask is its own");
}

/// Python's "data isolation": a child's change to a global is invisible to the parent.
static mut COUNTER: u32 = 0;

fn bump_global(by: u32) -> u32 {
    // SAFETY: only this (single-threaded) child touches its copy of COUNTER.
    unsafe {
        COUNTER += by;
        COUNTER
    }
}

#[test]
fn globals_are_not_shared() {
    for method in METHODS {
        let child = Process::new(bump_global, 5)
            .start_method(method)
            .start()
            .unwrap();
        assert_eq!(procs::join(&child).unwrap(), 5);
        // SAFETY: a plain read; no thread of this process writes COUNTER.
        assert_eq!(unsafe { COUNTER }, 0, "{method:?}");
    }
}

#[test]
fn large_values_travel_both_ways() {
    fn reverse(mut v: Vec<u8>) -> Vec<u8> {
        v.reverse();
        v
    }
    let data: Vec<u8> = (0..4_000_000u32).map(|i| (i % 253) as u8).collect();
    for method in METHODS {
        let child = Process::new(reverse, data.clone())
            .start_method(method)
            .start()
            .unwrap();
        let back = procs::join(&child).unwrap();
        assert_eq!(back.len(), data.len());
        assert!(back.iter().rev().eq(data.iter()), "{method:?}");
    }
}

#[test]
fn a_dropped_child_keeps_running_and_is_reaped() {
    let (opener, gate) = gate::gate();
    let child = Process::new(wait_at, gate).start().unwrap();
    let handle = child.handle();
    drop(child);
    assert!(handle.is_alive());
    assert!(active_children().iter().any(|c| c.pid() == handle.pid()));
    opener.open();
    assert_eq!(handle.wait_timeout(TIMEOUT).unwrap(), ExitStatus::Code(0));
    assert!(!active_children().iter().any(|c| c.pid() == handle.pid()));
}
