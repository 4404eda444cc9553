//! Issue #18: `connection::wait` over listeners, connections, pipe ends and process sentinels,
//! with children that authenticate with the program's authkey under every start method.

#![allow(
    clippy::needless_pass_by_value,
    reason = "process targets take their arguments by value: they arrive deserialized"
)]

use std::time::Duration;

use integration_tests::{METHODS, TIMEOUT};
use mproc::connection::{Auth, Client, ConnectionError, Listener, wait};
use mproc::pipe::Receiver;
use mproc::prelude::*;

/// Connects to `address` with the program's authkey (inherited from the parent), sends a
/// greeting and returns the reply.
fn dial(address: String) -> Result<Vec<u8>, String> {
    let conn = Client::connect(address.as_str(), Auth::Program).map_err(|e| e.to_string())?;
    conn.send_bytes(b"hello from a child")
        .map_err(|e| e.to_string())?;
    conn.recv_bytes_timeout(TIMEOUT).map_err(|e| e.to_string())
}

#[test]
fn children_authenticate_with_the_program_key_and_their_sentinels_fire() {
    for method in METHODS {
        let listener = Listener::bind("127.0.0.1:0", Auth::Program).unwrap();
        let child = Process::new(dial, listener.address().to_string())
            .start_method(method)
            .start()
            .unwrap();
        let sentinel = child.sentinel().unwrap();
        // The child waits for our reply, so only the listener can be ready.
        assert_eq!(wait(&[&listener, &sentinel], Some(TIMEOUT)).unwrap(), [0]);
        let conn = listener.accept_timeout(TIMEOUT).unwrap();
        assert_eq!(
            conn.recv_bytes_timeout(TIMEOUT).unwrap(),
            b"hello from a child"
        );
        assert!(wait(&[&sentinel], Some(Duration::ZERO)).unwrap().is_empty());
        conn.send_bytes(b"welcome").unwrap();
        assert_eq!(
            wait(&[&sentinel], Some(TIMEOUT)).unwrap(),
            [0],
            "{method:?}"
        );
        assert_eq!(child.join_timeout(TIMEOUT).unwrap().unwrap(), b"welcome");
        assert!(matches!(
            conn.recv_bytes_timeout(TIMEOUT),
            Err(ConnectionError::Eof)
        ));
    }
}

/// A child with another key is refused by the listener (and learns it).
fn dial_with_key(address: String) -> String {
    match Client::connect(address.as_str(), b"not the program key") {
        Ok(_) => "accepted".to_owned(),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_child_with_another_key_is_refused() {
    let listener = Listener::bind("127.0.0.1:0", Auth::Program).unwrap();
    let child = Process::new(dial_with_key, listener.address().to_string())
        .start()
        .unwrap();
    let refused = listener.accept_timeout(TIMEOUT).unwrap_err();
    assert!(
        matches!(refused, ConnectionError::DigestReceivedWrong),
        "{refused:?}"
    );
    assert_eq!(
        child.join_timeout(TIMEOUT).unwrap(),
        "digest sent was rejected"
    );
}

fn wait_then_exit(rx: Receiver<u8>) {
    let _ = rx.recv_timeout(TIMEOUT);
}

#[test]
fn wait_mixes_pipe_ends_connections_and_sentinels() {
    let (rx, tx) = Pipe::<u8>::simplex().unwrap();
    let child = Process::new(wait_then_exit, rx).start().unwrap();
    let sentinel = child.handle().sentinel().unwrap();
    let (here, there) = Pipe::<u8>::new().unwrap();
    let listener = Listener::bind("127.0.0.1:0", Auth::Unauthenticated).unwrap();
    let objects: [&dyn std::os::fd::AsFd; 3] = [&sentinel, &here, &listener];
    assert!(wait(&objects, Some(Duration::ZERO)).unwrap().is_empty());
    there.send(&1).unwrap();
    assert_eq!(wait(&objects, Some(TIMEOUT)).unwrap(), [1]);
    assert_eq!(here.recv_timeout(TIMEOUT).unwrap(), 1);
    tx.send(&0).unwrap();
    assert_eq!(wait(&objects, Some(TIMEOUT)).unwrap(), [0]);
    child.join_timeout(TIMEOUT).unwrap();
}
