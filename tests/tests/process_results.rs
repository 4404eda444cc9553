//! A child's value comes back whatever its size and whatever it holds, under every start
//! method: a forked child's small outcome through its result slot, a larger one or one with
//! handles through the parent's overflow listener, and the others on their result socket.

#![allow(
    clippy::needless_pass_by_value,
    reason = "process targets take their arguments by value: they arrive deserialized"
)]

use std::time::Duration;

use integration_tests::{METHODS, TIMEOUT, procs};
use mproc::pipe::Receiver;
use mproc::prelude::*;

/// A result slot's payload holds 4080 bytes: tag byte plus encoded value. These sizes cross
/// that edge (a `Vec<u8>` of n bytes encodes as a length prefix of 1–3 bytes and n bytes).
const SIZES: [usize; 9] = [0, 1, 4000, 4076, 4077, 4078, 4200, 70_000, 3 << 20];

fn bytes_of(len: usize) -> Vec<u8> {
    (0..len).map(|i| u8::try_from(i % 251).unwrap()).collect()
}

fn make(len: usize) -> Vec<u8> {
    bytes_of(len)
}

#[test]
fn values_of_every_size_come_back() {
    for method in METHODS {
        for len in SIZES {
            let child = Process::new(make, len)
                .start_method(method)
                .start()
                .unwrap();
            let back = procs::join(&child).unwrap();
            assert!(back == bytes_of(len), "{method}: {len} bytes");
        }
    }
}

#[test]
fn values_delivered_elsewhere_are_matched_to_their_child_in_any_order() {
    for method in METHODS {
        // Started together, finished in any order, joined in reverse: each join must get its
        // own child's value, not the first delivery waiting.
        let children: Vec<_> = (0..12)
            .map(|i| {
                let len = if i % 3 == 0 { 10 } else { 5000 + i * 1000 };
                let child = Process::new(make, len)
                    .start_method(method)
                    .start()
                    .unwrap();
                (len, child)
            })
            .collect();
        for (len, child) in children.iter().rev() {
            assert!(
                procs::join(child).unwrap() == bytes_of(*len),
                "{method}: {len}"
            );
        }
    }
}

fn long_panic(len: usize) -> u8 {
    panic!("{}", "p".repeat(len))
}

#[test]
fn a_panic_message_of_any_length_comes_back() {
    for method in METHODS {
        for len in [10, 10_000] {
            let child = Process::new(long_panic, len)
                .start_method(method)
                .start()
                .unwrap();
            match procs::join(&child) {
                Err(ProcessError::Panicked { message, .. }) => {
                    assert_eq!(message.len(), len, "{method}");
                }
                other => panic!("{method}: {other:?}"),
            }
        }
    }
}

/// Makes a pipe, writes into it, and returns its receiving end.
fn pipe_with_message(text: String) -> Receiver<String> {
    let (rx, tx) = Pipe::<String>::simplex().unwrap();
    tx.send(&text).unwrap();
    rx
}

#[test]
fn a_handle_made_in_the_child_comes_back_usable() {
    for method in METHODS {
        let child = Process::new(pipe_with_message, format!("from {method}"))
            .start_method(method)
            .start()
            .unwrap();
        let rx = procs::join(&child).unwrap();
        let got = rx.recv_timeout(TIMEOUT).unwrap();
        assert_eq!(got, format!("from {method}"));
    }
}

/// Forks its own children (small and large values) and returns what they returned.
fn grandparent(len: usize) -> Vec<Vec<u8>> {
    [3, len]
        .into_iter()
        .map(|n| {
            let c = Process::new(make, n)
                .start_method(StartMethod::Fork)
                .start()
                .unwrap();
            c.join_timeout(Duration::from_secs(30)).unwrap()
        })
        .collect()
}

#[test]
fn a_forked_child_gets_its_own_childrens_values() {
    for method in METHODS {
        // The parent's slot table and listener are copied into a forked child; it must use
        // its own, and the parent's must stay intact.
        let before = Process::new(make, 9000)
            .start_method(StartMethod::Fork)
            .start()
            .unwrap();
        let child = Process::new(grandparent, 9000)
            .start_method(method)
            .start()
            .unwrap();
        let got = procs::join(&child).unwrap();
        assert!(got == [bytes_of(3), bytes_of(9000)], "{method}");
        assert!(procs::join(&before).unwrap() == bytes_of(9000), "{method}");
    }
}

#[test]
fn a_killed_childs_value_is_not_mistaken_for_anothers() {
    // A child killed before it reports leaves its slot empty: the slot, taken again by the
    // next child, starts empty too.
    fn stall(_: ()) -> u8 {
        std::thread::sleep(Duration::from_mins(5));
        1
    }
    for _ in 0..3 {
        let child = Process::new(stall, ())
            .start_method(StartMethod::Fork)
            .start()
            .unwrap();
        child.kill().unwrap();
        assert!(matches!(
            procs::join(&child),
            Err(ProcessError::Killed { signal: 9 })
        ));
        let next = Process::new(make, 5)
            .start_method(StartMethod::Fork)
            .start()
            .unwrap();
        assert!(procs::join(&next).unwrap() == bytes_of(5));
    }
}
