//! A forked child reports its panic's location even when another thread of the parent was
//! inside a panic hook at the fork (issue #22). The child inherits std's hook lock as that
//! thread held it, so a child that installed its own recording hook would wait for the lock
//! forever. This file installs a panic hook of its own, so it holds this one test.

use std::sync::{Condvar, Mutex};
use std::time::Duration;

use integration_tests::{TIMEOUT, procs};
use mproc::prelude::*;

/// Whether the blocker thread is inside the hook, and whether it may leave.
static STATE: Mutex<(bool, bool)> = Mutex::new((false, false));
static CHANGED: Condvar = Condvar::new();

/// A hook that keeps the thread named `blocker` inside it until released.
fn install_blocking_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().name() == Some("blocker") {
            let mut state = STATE.lock().unwrap();
            state.0 = true;
            CHANGED.notify_all();
            let _ = CHANGED.wait_timeout_while(state, TIMEOUT, |s| !s.1);
        }
        previous(info);
    }));
}

fn square(x: u32) -> u32 {
    x * x
}

fn panics(_: ()) -> u32 {
    panic!("boom")
}

#[test]
fn a_forked_child_panics_normally_while_a_parent_thread_is_in_a_panic_hook() {
    install_blocking_hook();
    // A first fork installs mproc's recording hook in front of the blocking one.
    let first = Process::new(square, 3)
        .start_method(StartMethod::Fork)
        .start()
        .unwrap();
    assert_eq!(procs::join(&first).unwrap(), 9);

    let blocker = std::thread::Builder::new()
        .name("blocker".into())
        .spawn(|| panic!("held in the hook"))
        .unwrap();
    let state = STATE.lock().unwrap();
    let (state, waited) = CHANGED
        .wait_timeout_while(state, TIMEOUT, |s| !s.0)
        .unwrap();
    assert!(!waited.timed_out(), "the blocker never entered the hook");
    drop(state);

    // Forked while the blocker holds std's hook lock.
    let child = Process::new(panics, ())
        .start_method(StartMethod::Fork)
        .start()
        .unwrap();
    let outcome = child.join_timeout(TIMEOUT);

    STATE.lock().unwrap().1 = true;
    CHANGED.notify_all();
    assert!(blocker.join().is_err(), "the blocker panicked");

    match outcome {
        Err(ProcessError::Panicked {
            message, location, ..
        }) => {
            assert_eq!(message, "boom");
            assert!(location.is_some_and(|l| l.file == file!()));
        }
        Err(ProcessError::Timeout) => {
            let _ = child.kill();
            let _ = child.wait_timeout(Duration::from_secs(5));
            panic!("the forked child hung");
        }
        other => panic!("{other:?}"),
    }
}
