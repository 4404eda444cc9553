//! Connections between processes that did not start each other: Python's
//! `multiprocessing.connection` `Listener` and `Client`, with its wire format and HMAC
//! handshake (so the peer may be a Python program: see the `connection_python` example), and
//! `wait` over connections and children's sentinels (the `connection_wait` example goes on).

use std::time::Duration;

use mproc::connection::{Client, ConnectionError, Listener, wait};
use mproc::prelude::*;

use super::section;

const KEY: &[u8] = b"tour key";
const PATIENCE: Duration = Duration::from_secs(30);

/// Connects to `address` by itself (it is given an address, not a handle) and answers
/// questions until the listener closes.
#[process]
fn service(address: String) {
    let conn = Client::connect(address.as_str(), KEY).expect("the key is right");
    while let Ok(words) = conn.recv::<Vec<String>>() {
        let longest = words.iter().map(String::len).max().unwrap_or(0);
        conn.send(&longest).expect("send");
    }
}

/// Connects with the wrong key, and reports what it was told.
#[process]
fn intruder(address: String) -> String {
    match Client::connect(address.as_str(), b"guessed key") {
        Ok(_) => "let in".to_owned(),
        Err(e) => e.to_string(),
    }
}

pub(crate) fn run() -> mproc::Result<()> {
    section("connections: Listener and Client, authenticated, over a Unix socket");
    let path = std::env::temp_dir().join(format!("mproc-tour-{}.sock", std::process::id()));
    let listener = Listener::bind(path.as_path(), KEY)?;
    let child = service::spawn(listener.address().to_string())?;
    let conn = listener.accept_timeout(PATIENCE)?;
    conn.send(&vec![
        "spam".to_owned(),
        "eggs".to_owned(),
        "bacon".to_owned(),
    ])?;
    println!(
        "asked a process that connected by itself; longest word: {} letters",
        conn.recv_timeout::<usize>(PATIENCE)?
    );
    drop(conn); // the service's recv sees the end of the stream

    section("connections: a wrong key is refused on both sides, before any message");
    let guesser = intruder::spawn(listener.address().to_string())?;
    match listener.accept_timeout(PATIENCE) {
        Err(e @ ConnectionError::DigestReceivedWrong) => println!("listener: {e}"),
        other => println!("listener: unexpected {other:?}"),
    }
    println!("intruder: {}", guesser.join()?);

    section("connections: wait() for whichever is first, a message or a child's end");
    let sentinel = child.sentinel()?;
    let ready = wait(&[&listener, &sentinel], Some(PATIENCE))?;
    println!("ready: {ready:?} (index 1: the service ended; nobody is connecting)");
    child.join()?;
    drop(listener); // removes the socket file it made
    println!("socket file left behind: {}", path.exists());
    Ok(())
}
