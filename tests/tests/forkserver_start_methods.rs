//! Choosing the start method: per process, program-wide once (a second choice is a typed
//! error), from the `MPROC_START_METHOD` environment variable; and objects that work across
//! methods.
//!
//! Program-wide state is tested in fresh processes: `Spawn` children, or this test binary run
//! again with a chosen environment.

#![allow(
    clippy::needless_pass_by_value,
    reason = "process targets take their arguments by value: they arrive deserialized"
)]

use std::process::{Command, Stdio};

use integration_tests::{TIMEOUT, procs};
use mproc::pipe::{Receiver, Sender};
use mproc::prelude::*;
use mproc::{START_METHOD_ENV, StartMethodError};

/// How the default child of this process was started.
fn how_started(_: ()) -> Option<StartMethod> {
    mproc::diag::started_by()
}

/// In a fresh process: choose `method`, choose again, and start a child the default way.
fn choose_twice(method: StartMethod) -> (Result<(), String>, String, StartMethod, StartMethod) {
    let first = mproc::set_start_method(method).map_err(|e| e.to_string());
    let second = match mproc::set_start_method(StartMethod::Fork) {
        Err(StartMethodError::AlreadySet { current }) => format!("already set to {current}"),
        other => format!("unexpected: {other:?}"),
    };
    let child = Process::new(how_started, ())
        .start()
        .expect("default start");
    let used = child.join_timeout(TIMEOUT).expect("join").expect("a child");
    (first, second, get_start_method().expect("fixed"), used)
}

#[test]
fn set_start_method_works_once_then_is_a_typed_error() {
    for method in StartMethod::ALL {
        let child = Process::new(choose_twice, method)
            .start_method(StartMethod::Spawn)
            .start()
            .unwrap();
        let (first, second, fixed, used) = procs::join(&child).unwrap();
        assert_eq!(first, Ok(()), "{method}");
        assert_eq!(second, format!("already set to {method}"));
        assert_eq!((fixed, used), (method, method));
    }
}

/// In a fresh process: use the default, then try to choose.
fn choose_after_use(_: ()) -> (StartMethod, Option<StartMethod>) {
    let child = Process::new(how_started, ())
        .start()
        .expect("default start");
    let used = child.join_timeout(TIMEOUT).expect("join").expect("a child");
    match mproc::set_start_method(StartMethod::Spawn) {
        Err(StartMethodError::AlreadySet { current }) => (used, Some(current)),
        _ => (used, None),
    }
}

#[test]
fn using_the_default_fixes_it_as_in_python() {
    let child = Process::new(choose_after_use, ())
        .start_method(StartMethod::Spawn)
        .start()
        .unwrap();
    let (used, refused) = procs::join(&child).unwrap();
    assert_eq!(refused, Some(used), "the method in use is reported");
}

/// Runs this test binary's `environment_probe` with `MPROC_START_METHOD=value`; returns what
/// it printed.
fn probe_with(value: &str) -> String {
    let exe = std::env::current_exe().unwrap();
    let child = Command::new(exe)
        .args(["--exact", "environment_probe", "--ignored", "--nocapture"])
        .args(["--test-threads", "1"])
        .env(START_METHOD_ENV, value)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = i32::try_from(child.id()).unwrap();
    if !procs::wait_for_exit(pid, TIMEOUT) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
        panic!("the probe with {value:?} hangs");
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "probe with {value:?} failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Not a test on its own: run by `the_environment_variable_sets_the_default` in a process of
/// its own, it prints what the environment made of the default.
#[test]
#[ignore = "run by the_environment_variable_sets_the_default with MPROC_START_METHOD set"]
fn environment_probe() {
    match get_start_method() {
        Ok(method) => {
            let child = Process::new(how_started, ()).start().unwrap();
            let used = procs::join(&child).unwrap().unwrap();
            println!("PROBE default={method} used={used}");
        }
        Err(e) => {
            let start = Process::new(how_started, ()).start();
            let refused = matches!(start, Err(SpawnError::StartMethod(_)));
            // An explicit method needs no default.
            let child = Process::new(how_started, ())
                .start_method(StartMethod::Fork)
                .start()
                .unwrap();
            let used = procs::join(&child).unwrap().unwrap();
            println!("PROBE error=[{e}] start_refused={refused} explicit={used}");
        }
    }
}

#[test]
fn the_environment_variable_sets_the_default() {
    for method in StartMethod::ALL {
        let out = probe_with(method.name());
        assert!(
            out.contains(&format!("PROBE default={method} used={method}")),
            "{method}: {out}"
        );
    }
    let out = probe_with("threads");
    assert!(
        out.contains(
            "PROBE error=[environment variable MPROC_START_METHOD is `threads`: expected \
             `fork`, `spawn` or `forkserver`] start_refused=true explicit=fork"
        ),
        "{out}"
    );
    let out = probe_with("");
    assert!(
        out.contains(&format!("PROBE default={}", StartMethod::default())),
        "an empty value is no value: {out}"
    );
}

/// Makes a pipe in whatever process runs it, and hands both ends back.
fn make_pipe(_: ()) -> (Receiver<String>, Sender<String>) {
    Pipe::<String>::simplex().unwrap()
}

fn send_hello((tx, text): (Sender<String>, String)) {
    tx.send(&text).unwrap();
}

/// No "object created in a fork context" error: a pipe made in any process works in children
/// of every method, also one made in a child of another method and passed on.
#[test]
fn pipe_ends_work_across_every_pair_of_methods() {
    for maker in StartMethod::ALL {
        let child = Process::new(make_pipe, ())
            .start_method(maker)
            .start()
            .unwrap();
        let (rx, tx) = procs::join(&child).unwrap();
        for user in StartMethod::ALL {
            let text = format!("made under {maker}, used under {user}");
            let child = Process::new(send_hello, (tx.try_clone().unwrap(), text.clone()))
                .start_method(user)
                .start()
                .unwrap();
            procs::join(&child).unwrap();
            assert_eq!(rx.recv_timeout(TIMEOUT).unwrap(), text);
        }
    }
    let (rx, tx) = Pipe::<String>::simplex().unwrap();
    for user in StartMethod::ALL {
        let child = Process::new(send_hello, (tx.try_clone().unwrap(), user.to_string()))
            .start_method(user)
            .start()
            .unwrap();
        procs::join(&child).unwrap();
        assert_eq!(rx.recv_timeout(TIMEOUT).unwrap(), user.name());
    }
}

#[test]
fn names_are_pythons() {
    let names: Vec<&str> = StartMethod::ALL.iter().map(|m| m.name()).collect();
    assert_eq!(
        names[0],
        StartMethod::default().name(),
        "the default comes first"
    );
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, ["fork", "forkserver", "spawn"]);
    assert!(matches!(
        "Spawn".parse::<StartMethod>(),
        Err(StartMethodError::Unknown { .. })
    ));
}
