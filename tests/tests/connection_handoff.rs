//! Issue #18: a `connection::Connection` is a handle: a server accepts and authenticates, then
//! hands the connection to a worker process (as an argument, or through a pipe to a worker
//! already running); a descriptor that is not a stream socket is refused.

#![allow(
    clippy::needless_pass_by_value,
    reason = "process targets take their arguments by value: they arrive deserialized"
)]

use std::os::fd::AsFd;
use std::thread;

use integration_tests::{METHODS, TIMEOUT};
use mproc::codec::Fd;
use mproc::connection::{Address, Auth, Client, Connection, Listener};
use mproc::pipe::Receiver;
use mproc::prelude::*;

/// Serves one client: doubles every number until the client leaves; returns how many.
fn serve(conn: Connection) -> u32 {
    let mut served = 0;
    while let Ok(n) = conn.recv_timeout::<u64>(TIMEOUT) {
        conn.send(&(n * 2)).unwrap();
        served += 1;
    }
    served
}

/// A client in a thread: sends 1..=5, checks the doubles, leaves.
fn client(address: Address) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let conn = Client::connect(&address, Auth::Program).unwrap();
        for n in 1..=5u64 {
            conn.send(&n).unwrap();
            assert_eq!(conn.recv_timeout::<u64>(TIMEOUT).unwrap(), n * 2);
        }
    })
}

#[test]
fn an_accepted_connection_is_served_by_a_child_under_every_method() {
    for (i, method) in METHODS.into_iter().enumerate() {
        for address in [
            "127.0.0.1:0".to_owned(),
            format!("@mproc-handoff-{}-{i}", std::process::id()),
        ] {
            let listener = Listener::bind(address.as_str(), Auth::Program).unwrap();
            let talker = client(listener.address().clone());
            let conn = listener.accept_timeout(TIMEOUT).unwrap();
            let worker = Process::new(serve, conn)
                .start_method(method)
                .start()
                .unwrap();
            integration_tests::threads::join(talker).unwrap();
            assert_eq!(
                worker.join_timeout(TIMEOUT).unwrap(),
                5,
                "{method:?} {address}"
            );
        }
    }
}

fn serve_from_pipe(rx: Receiver<Connection>) -> u32 {
    rx.recv_timeout(TIMEOUT).map_or(0, serve)
}

#[test]
fn a_connection_travels_through_a_pipe_to_a_running_child() {
    let (rx, tx) = Pipe::<Connection>::simplex().unwrap();
    let worker = Process::new(serve_from_pipe, rx).start().unwrap();
    let listener = Listener::bind("127.0.0.1:0", Auth::Program).unwrap();
    let talker = client(listener.address().clone());
    tx.send(&listener.accept_timeout(TIMEOUT).unwrap()).unwrap();
    integration_tests::threads::join(talker).unwrap();
    assert_eq!(worker.join_timeout(TIMEOUT).unwrap(), 5);
}

#[test]
fn a_descriptor_that_is_not_a_stream_socket_is_not_a_connection() {
    // A pipe end (a SEQPACKET socket) and a file, encoded as bare descriptors and decoded as
    // connections: both refused, with a reason.
    let (end, _other) = Pipe::<u8>::new().unwrap();
    let file = std::fs::File::open("/dev/null").unwrap();
    for fd in [
        end.as_fd().try_clone_to_owned().unwrap(),
        std::os::fd::OwnedFd::from(file),
    ] {
        let (bytes, fds) = mproc::codec::encode(&Fd::from(fd)).unwrap().into_parts();
        let refused = mproc::codec::decode::<Connection>(&bytes, fds).unwrap_err();
        assert!(
            refused.to_string().contains("cannot be a connection"),
            "{refused}"
        );
    }
}

/// Connects to `address` (a Unix socket), receives a pipe end over the connection, and sends
/// a greeting through that pipe.
fn receive_a_pipe_end(address: String) -> Result<(), String> {
    let conn = Client::connect(address.as_str(), Auth::Program).map_err(|e| e.to_string())?;
    let end: mproc::pipe::Connection<String> =
        conn.recv_timeout(TIMEOUT).map_err(|e| e.to_string())?;
    end.send(&"through the handed-over pipe".to_owned())
        .map_err(|e| e.to_string())
}

#[test]
fn handles_travel_over_unix_connections_between_processes() {
    let dir = std::env::temp_dir().join(format!("mproc-handoff-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let addresses = [
        Address::Unix(dir.join("s")),
        Address::Abstract(format!("mproc-handles-{}", std::process::id()).into_bytes()),
    ];
    for address in addresses {
        let listener = Listener::bind(&address, Auth::Program).unwrap();
        let child = Process::new(receive_a_pipe_end, listener.address().to_string())
            .start()
            .unwrap();
        let conn = listener.accept_timeout(TIMEOUT).unwrap();
        let (here, there) = Pipe::<String>::new().unwrap();
        conn.send_timeout(&there, TIMEOUT).unwrap();
        drop(there);
        assert_eq!(
            here.recv_timeout(TIMEOUT).unwrap(),
            "through the handed-over pipe"
        );
        child.join_timeout(TIMEOUT).unwrap().unwrap();
    }
    let _ = std::fs::remove_dir_all(&dir);
}
