//! The program authkey (Python's `current_process().authkey`): every child has its parent's
//! key before its function runs, under every start method, grandchildren too; a key set before
//! a start is the child's key (also under a fork server started before the change); and the
//! key is never where another process could read it, in `/proc/<pid>/environ` or `cmdline`.
//!
//! Tests that set a key do it in a fresh `Spawn` child, so the key of this test process (which
//! the other tests compare against) never changes.

#![allow(
    clippy::needless_pass_by_value,
    reason = "process targets take their arguments by value: they arrive deserialized"
)]

use integration_tests::gate::{Gate, Passed, gate};
use integration_tests::{METHODS, TIMEOUT, procs};
use mproc::prelude::*;

/// This process's key.
fn key(_: ()) -> Vec<u8> {
    current_process()
        .authkey()
        .expect("authkey")
        .as_bytes()
        .to_vec()
}

/// This process's key, and that of a child started with `method`.
fn key_and_childs(method: StartMethod) -> (Vec<u8>, Vec<u8>) {
    let child = Process::new(key, ())
        .start_method(method)
        .start()
        .expect("start");
    let theirs = child.join_timeout(TIMEOUT).expect("join");
    (key(()), theirs)
}

#[test]
fn children_have_their_parents_key_under_every_method() {
    let mine = key(());
    assert_eq!(mine.len(), 32);
    for method in METHODS {
        let child = Process::new(key, ()).start_method(method).start().unwrap();
        assert!(
            procs::join(&child).unwrap() == mine,
            "{method}: another key"
        );
    }
}

#[test]
fn grandchildren_have_the_programs_key() {
    let mine = key(());
    for outer in METHODS {
        for inner in METHODS {
            let child = Process::new(key_and_childs, inner)
                .start_method(outer)
                .start()
                .unwrap();
            let (childs, grandchilds) = procs::join(&child).unwrap();
            assert!(childs == mine, "{outer}: the child has another key");
            assert!(
                grandchilds == mine,
                "{outer} then {inner}: the grandchild has another key"
            );
        }
    }
}

/// In a fresh process: starts a child with `method` (which, for the fork server, starts the
/// server with the key of now), sets a new key, and reports the key of a child started after.
fn set_then_start(method: StartMethod) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let (_, before) = key_and_childs(method);
    let chosen = format!("the key chosen for {method}").into_bytes();
    mproc::set_authkey(&chosen).expect("set_authkey");
    let (own, after) = key_and_childs(method);
    assert!(
        own == chosen,
        "set_authkey did not change this process's key"
    );
    (before, chosen, after)
}

#[test]
fn a_key_set_before_a_start_is_the_childs_key() {
    for method in METHODS {
        let child = Process::new(set_then_start, method)
            .start_method(StartMethod::Spawn)
            .start()
            .unwrap();
        let (before, chosen, after) = procs::join(&child).unwrap();
        assert!(before != chosen);
        assert!(after == chosen, "{method}: the child has another key");
    }
}

#[test]
fn bad_keys_are_refused_with_a_typed_error() {
    assert_eq!(mproc::set_authkey(b""), Err(mproc::AuthKeyError::Empty));
    let long = vec![1; mproc::MAX_AUTHKEY_LEN + 1];
    assert!(matches!(
        mproc::set_authkey(&long),
        Err(mproc::AuthKeyError::TooLong { .. })
    ));
    let shown = format!("{:?}", current_process().authkey().unwrap());
    assert!(shown.contains("redacted"), "{shown}");
}

fn hold(gate: Gate) -> bool {
    gate.wait(TIMEOUT) == Passed::Opened
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Whether process `pid`'s environment or command line holds `key`, raw or in hex.
fn exposes(pid: i32, key: &[u8]) -> bool {
    let hex = key.iter().fold(String::new(), |mut s, b| {
        use std::fmt::Write;
        let _ = write!(s, "{b:02x}");
        s
    });
    ["environ", "cmdline"].iter().any(|file| {
        let text = std::fs::read(format!("/proc/{pid}/{file}")).expect("/proc");
        contains(&text, key) || contains(&text.to_ascii_lowercase(), hex.as_bytes())
    })
}

#[test]
fn the_key_is_not_in_any_childs_environment_or_command_line() {
    let mine = key(());
    for method in METHODS {
        let (opener, waiting) = gate();
        let child = Process::new(hold, waiting)
            .start_method(method)
            .start()
            .unwrap();
        assert!(!exposes(child.pid(), &mine), "{method}: exposed in /proc");
        if let Some(server) = mproc::diag::fork_server_pid() {
            assert!(
                !exposes(server, &mine),
                "the fork server exposes it in /proc"
            );
        }
        opener.open();
        assert!(procs::join(&child).unwrap());
    }
}

/// Not a test on its own: run by `a_program_that_never_used_its_key_gives_it_to_forked_children`
/// in a process of its own (where nothing made the key yet), it prints whether a `Fork` child
/// had the key that this process has afterwards.
#[test]
#[ignore = "run by a_program_that_never_used_its_key_gives_it_to_forked_children"]
fn fresh_program_probe() {
    let child = Process::new(key, ())
        .start_method(StartMethod::Fork)
        .start()
        .unwrap();
    let theirs = procs::join(&child).unwrap();
    println!("PROBE same={}", theirs == key(()));
}

#[test]
fn a_program_that_never_used_its_key_gives_it_to_forked_children() {
    use std::process::{Command, Stdio};
    let exe = std::env::current_exe().unwrap();
    let probe = Command::new(exe)
        .args(["--exact", "fresh_program_probe", "--ignored", "--nocapture"])
        .args(["--test-threads", "1"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = i32::try_from(probe.id()).unwrap();
    if !procs::wait_for_exit(pid, TIMEOUT) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
        panic!("the probe hangs");
    }
    let out = probe.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "probe failed: {stdout}");
    assert!(
        stdout.contains("PROBE same=true"),
        "the forked child made a key of its own: {stdout}"
    );
}
