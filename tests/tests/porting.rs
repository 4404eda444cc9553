//! Issue #22, the process items: a literal port of a Python program behaves like the Python.
//! Waiting for a child again after `join`; a forked child that reaches a pipe end it was not
//! given is told so; a panic arrives with its location (and backtrace, when asked for), from a
//! process and from a pool task, under every start method.

#![allow(
    clippy::needless_pass_by_value,
    reason = "process targets take their arguments by value: they arrive deserialized"
)]

use std::sync::OnceLock;
use std::time::Duration;

use integration_tests::{METHODS, TIMEOUT, pools, procs};
use mproc::pipe::{Connection, Receiver, Sender};
use mproc::prelude::*;
use mproc::{PanicLocation, PipeError, ProcessError, TaskError};

fn square(x: u32) -> u32 {
    x * x
}

/// Returns once its pipe's sending end is closed.
fn wait_for_close(rx: Receiver<u8>) {
    let _ = rx.recv();
}

#[test]
fn join_every_child_then_wait_for_them_all_again() {
    for method in METHODS {
        let children: Vec<_> = (0..3)
            .map(|i| {
                Process::new(square, i)
                    .start_method(method)
                    .start()
                    .unwrap()
            })
            .collect();
        for (i, child) in (0u32..).zip(&children) {
            assert_eq!(procs::join(child).unwrap(), i * i, "{method}");
        }
        // Python's second `for p in ps: p.join()`.
        for child in &children {
            assert!(child.wait_timeout(TIMEOUT).unwrap().success(), "{method}");
            // It has ended: `wait` returns at once, as often as it is called.
            assert!(child.wait().unwrap().success(), "{method}");
            assert!(child.wait().unwrap().success(), "{method}");
        }
    }
}

#[test]
fn a_second_join_says_to_use_wait() {
    let child = Process::new(square, 4).start().unwrap();
    assert_eq!(procs::join(&child).unwrap(), 16);
    let err = child.join_timeout(TIMEOUT).unwrap_err();
    assert!(matches!(err, ProcessError::AlreadyJoined), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("taken by an earlier `join`") && text.contains("use `wait()`"),
        "{text}"
    );
}

#[test]
fn wait_can_come_before_join_and_times_out_while_the_child_runs() {
    for method in METHODS {
        let (rx, tx) = Pipe::<u8>::simplex().unwrap();
        let child = Process::new(wait_for_close, rx)
            .start_method(method)
            .start()
            .unwrap();
        assert!(
            matches!(
                child.wait_timeout(Duration::ZERO),
                Err(ProcessError::Timeout)
            ),
            "{method}"
        );
        drop(tx);
        assert!(child.wait_timeout(TIMEOUT).unwrap().success(), "{method}");
        assert!(child.wait_timeout(TIMEOUT).unwrap().success(), "{method}");
        procs::join(&child).unwrap();
        assert!(child.wait().unwrap().success(), "{method}");
    }
}

// ---- a pipe end reached through a static, not passed (under `Fork`) ----

/// The parent's ends, set before the fork: a forked child has them in its copy of memory, as a
/// Python child has the module globals of a forking parent.
static SENDING: OnceLock<Sender<u32>> = OnceLock::new();
static DUPLEX: OnceLock<Connection<u32>> = OnceLock::new();

/// Uses the ends it was not given; reports each result as `(is NotPassed, message)`.
fn use_ends_not_passed(_: ()) -> Vec<(bool, String)> {
    let sending = SENDING.get().expect("set before the fork");
    let duplex = DUPLEX.get().expect("set before the fork");
    let report = |r: Result<(), PipeError>| match r {
        Err(e) => (matches!(e, PipeError::NotPassed), e.to_string()),
        Ok(()) => (false, "succeeded".to_owned()),
    };
    vec![
        report(sending.send(&7)),
        report(duplex.send(&8)),
        report(duplex.recv_timeout(TIMEOUT).map(drop)),
        report(duplex.poll(Some(Duration::ZERO)).map(drop)),
    ]
}

#[test]
fn a_forked_child_using_an_end_it_was_not_given_is_told_to_pass_it() {
    let (receiving, sending) = Pipe::<u32>::simplex().unwrap();
    let (here, there) = Pipe::<u32>::new().unwrap();
    assert!(SENDING.set(sending).is_ok() && DUPLEX.set(there).is_ok());
    let child = Process::new(use_ends_not_passed, ())
        .start_method(StartMethod::Fork)
        .start()
        .unwrap();
    let results = procs::join(&child).unwrap();
    assert_eq!(results.len(), 4);
    for (not_passed, message) in results {
        assert!(not_passed, "{message}");
        assert!(message.contains("not passed to this process"), "{message}");
    }
    // Nothing reached the parent's ends, which still work here.
    assert!(matches!(receiving.try_recv(), Err(PipeError::WouldBlock)));
    assert!(matches!(here.try_recv(), Err(PipeError::WouldBlock)));
    DUPLEX.get().unwrap().send(&9).unwrap();
    assert_eq!(here.recv_timeout(TIMEOUT).unwrap(), 9);
}

// ---- panics carry their location, and their backtrace when asked for ----

fn panics(_: ()) -> u32 {
    panic!("boom at line {}", line!())
}

/// The line a `panics`-style message names.
fn line_in(message: &str) -> u32 {
    message
        .rsplit(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no line in {message:?}"))
}

fn assert_located(message: &str, location: Option<&PanicLocation>, context: &str) {
    let location = location.unwrap_or_else(|| panic!("{context}: no location"));
    assert_eq!(location.file, file!(), "{context}");
    assert_eq!(location.line, line_in(message), "{context}");
    assert!(location.column > 0, "{context}");
}

/// Sets (or clears) the backtrace variables in this process, then panics.
fn panics_with_backtrace_set(wanted: bool) -> u32 {
    // SAFETY: called by a child on its only thread, first thing (nothing else reads the
    // environment meanwhile).
    unsafe {
        std::env::remove_var("RUST_LIB_BACKTRACE");
        if wanted {
            std::env::set_var("RUST_BACKTRACE", "1");
        } else {
            std::env::remove_var("RUST_BACKTRACE");
        }
    }
    panic!("traced at line {}", line!())
}

#[test]
fn a_panic_in_a_process_carries_its_location_under_every_method() {
    for method in METHODS {
        let child = Process::new(panics, ())
            .start_method(method)
            .start()
            .unwrap();
        let err = procs::join(&child).unwrap_err();
        let ProcessError::Panicked {
            message, location, ..
        } = &err
        else {
            panic!("{method}: {err:?}");
        };
        assert_located(message, location.as_ref(), &method.to_string());
        let at = location.as_ref().unwrap().to_string();
        assert!(
            err.to_string().contains(&format!("panicked at {at}: boom")),
            "{err}"
        );
    }
}

#[test]
fn a_panic_in_a_process_carries_a_backtrace_when_the_child_asks_for_one() {
    for method in METHODS {
        for wanted in [true, false] {
            let child = Process::new(panics_with_backtrace_set, wanted)
                .start_method(method)
                .start()
                .unwrap();
            let err = procs::join(&child).unwrap_err();
            let ProcessError::Panicked {
                message,
                location,
                backtrace,
                ..
            } = &err
            else {
                panic!("{method}: {err:?}");
            };
            assert_located(message, location.as_ref(), &method.to_string());
            match backtrace {
                Some(text) if wanted => assert!(
                    text.contains("panics_with_backtrace_set"),
                    "{method}: the backtrace does not name the function: {text}"
                ),
                None if !wanted => {}
                other => panic!("{method}, wanted {wanted}: {other:?}"),
            }
        }
    }
}

#[test]
fn a_panic_in_a_pool_task_carries_its_location_and_backtrace_under_every_method() {
    for method in METHODS {
        let pool = pools::pool(1, method);
        for wanted in [false, true] {
            match pool.apply(panics_with_backtrace_set, wanted) {
                Err(TaskError::Panicked {
                    message,
                    location,
                    backtrace,
                    ..
                }) => {
                    assert_located(&message, location.as_ref(), &method.to_string());
                    assert_eq!(backtrace.is_some(), wanted, "{method}: {backtrace:?}");
                }
                other => panic!("{method}: {other:?}"),
            }
        }
        // The worker survives its tasks' panics.
        assert_eq!(pool.apply(square, 3).unwrap(), 9);
    }
}
