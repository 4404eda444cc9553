//! Issue #18: hostile and broken peers against `mproc::connection`, on both sides of the
//! handshake and after it: typed errors, no panic, no allocation of a declared size, and the
//! listener keeps serving good clients afterwards.
//!
//! Allocations are watched by a counting global allocator: the largest single allocation any
//! test here makes stays far below the sizes hostile peers declare (2 GiB - 1, 2^63).

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use integration_tests::TIMEOUT;
use mproc::connection::{Address, Auth, Client, Connection, ConnectionError, Listener, Options};

/// Records the largest single allocation request of this test binary.
struct Largest;

static LARGEST: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call to the system allocator unchanged; only records sizes.
unsafe impl GlobalAlloc for Largest {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's contract is System's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract is System's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        // SAFETY: the caller's contract is System's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Largest = Largest;

/// No test here legitimately allocates more than a few MiB at once.
const ALLOCATION_BOUND: usize = 64 << 20;

fn assert_no_huge_allocation() {
    let largest = LARGEST.load(Ordering::Relaxed);
    assert!(
        largest < ALLOCATION_BOUND,
        "an allocation of {largest} bytes"
    );
}

const KEY: &[u8] = b"hostile key";

/// Whether an error is the one a case expects.
type Expect = fn(&ConnectionError) -> bool;

/// One frame, as Python writes it: 4-byte big-endian length, then the bytes.
fn frame(bytes: &[u8]) -> Vec<u8> {
    let mut out = u32::try_from(bytes.len()).unwrap().to_be_bytes().to_vec();
    out.extend_from_slice(bytes);
    out
}

fn listener(handshake: Duration) -> (Listener, SocketAddr) {
    let options = Options::new().authkey(KEY).handshake_timeout(handshake);
    let listener = Listener::bind_with("127.0.0.1:0", options).unwrap();
    let Address::Tcp(addr) = *listener.address() else {
        unreachable!("bound on TCP")
    };
    (listener, addr)
}

/// A raw peer: connects, writes `bytes` (after reading the challenge if `read_challenge`),
/// then closes (or stays, for `linger`).
fn raw_peer(addr: SocketAddr, read_challenge: bool, bytes: Vec<u8>) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let mut sock = TcpStream::connect(addr).unwrap();
        sock.set_read_timeout(Some(TIMEOUT)).unwrap();
        if read_challenge {
            let mut head = [0u8; 4];
            sock.read_exact(&mut head).unwrap();
            let mut challenge = vec![0u8; u32::from_be_bytes(head) as usize];
            sock.read_exact(&mut challenge).unwrap();
            assert!(challenge.starts_with(b"#CHALLENGE#{sha256}"));
        }
        // The listener may already have hung up: what it does is the test's point.
        let _ = sock.write_all(&bytes);
        let _ = sock.shutdown(std::net::Shutdown::Write);
        let mut rest = Vec::new();
        let _ = sock.read_to_end(&mut rest);
    })
}

/// The listener still authenticates and serves a good client.
fn still_serves(listener: &Listener) {
    let address = listener.address().clone();
    let client = thread::spawn(move || {
        let conn = Client::connect(&address, KEY)?;
        conn.send_bytes(b"good")?;
        conn.recv_bytes_timeout(TIMEOUT)
    });
    let conn = listener.accept_timeout(TIMEOUT).unwrap();
    let got = conn.recv_bytes_timeout(TIMEOUT).unwrap();
    conn.send_bytes(&got).unwrap();
    assert_eq!(
        integration_tests::threads::join(client).unwrap().unwrap(),
        b"good"
    );
}

fn refused_with(listener: &Listener, peer: thread::JoinHandle<()>) -> ConnectionError {
    let error = listener.accept_timeout(TIMEOUT).unwrap_err();
    integration_tests::threads::join(peer).unwrap();
    error
}

#[test]
fn garbage_before_and_during_the_handshake_is_refused() {
    let (listener, addr) = listener(TIMEOUT);
    let cases: Vec<(bool, Vec<u8>, Expect)> = vec![
        // Before reading the challenge: a negative length.
        (false, vec![0xde, 0xad, 0xbe, 0xef, 1, 2, 3], |e| {
            matches!(e, ConnectionError::Malformed(_))
        }),
        // An answer of junk, without a digest prefix.
        (true, frame(&[0x55; 100]), |e| {
            matches!(e, ConnectionError::UnsupportedDigest)
        }),
        // A legacy-sized answer while legacy is off.
        (true, frame(&[0; 16]), |e| {
            matches!(e, ConnectionError::LegacyRefused)
        }),
        // A well-formed answer with the wrong MAC.
        (
            true,
            frame(&[b"{sha256}".as_slice(), &[0; 32]].concat()),
            |e| matches!(e, ConnectionError::DigestReceivedWrong),
        ),
        // A digest CPython allows but mproc does not speak.
        (
            true,
            frame(&[b"{sha3_256}".as_slice(), &[0; 32]].concat()),
            |e| matches!(e, ConnectionError::UnsupportedDigest),
        ),
        // Half an answer, then the peer leaves.
        (true, frame(&[0x55; 100])[..50].to_vec(), |e| {
            matches!(
                e,
                ConnectionError::Truncated {
                    got: 50,
                    expected: 104
                }
            )
        }),
        // 2^31 - 1 declared during the handshake.
        (true, vec![0x7f, 0xff, 0xff, 0xff, 0, 0], |e| {
            matches!(e, ConnectionError::HandshakeTooLong { len: 0x7fff_ffff })
        }),
        // The -1 marker and 2^63.
        (
            true,
            [
                (-1i32).to_be_bytes().as_slice(),
                &(1u64 << 63).to_be_bytes(),
            ]
            .concat(),
            |e| matches!(e, ConnectionError::HandshakeTooLong { len } if *len == 1 << 63),
        ),
    ];
    for (read_challenge, bytes, expected) in cases {
        let peer = raw_peer(addr, read_challenge, bytes.clone());
        let error = refused_with(&listener, peer);
        assert!(expected(&error), "{bytes:02x?}: {error:?}");
    }
    still_serves(&listener);
    assert_no_huge_allocation();
}

#[test]
fn a_peer_that_says_nothing_times_the_handshake_out() {
    let (listener, addr) = listener(Duration::from_millis(100));
    let silent = TcpStream::connect(addr).unwrap();
    let error = listener.accept_timeout(TIMEOUT).unwrap_err();
    assert!(
        matches!(error, ConnectionError::HandshakeTimeout),
        "{error:?}"
    );
    drop(silent);
    still_serves(&listener);
}

#[test]
fn a_thousand_connections_opened_and_dropped_leave_the_listener_serving() {
    // Room for all of them in the queue, so no connect waits for TCP's retry (a second each).
    let options = Options::new().authkey(KEY).backlog(1024);
    let listener = Listener::bind_with("127.0.0.1:0", options).unwrap();
    let Address::Tcp(addr) = *listener.address() else {
        unreachable!("bound on TCP")
    };
    let opener = thread::spawn(move || {
        for _ in 0..1000 {
            drop(TcpStream::connect(addr).unwrap());
        }
    });
    for i in 0..1000 {
        match listener.accept_timeout(TIMEOUT) {
            Err(
                ConnectionError::Eof
                | ConnectionError::Disconnected
                | ConnectionError::Truncated { .. }
                | ConnectionError::Os { .. },
            ) => {}
            other => panic!("connection {i}: {other:?}"),
        }
    }
    integration_tests::threads::join(opener).unwrap();
    still_serves(&listener);
}

/// An authenticated connection whose peer then writes raw bytes on its socket.
fn authenticated_pair(max: u64) -> (Connection, Connection) {
    let options = Options::new().authkey(KEY).max_message_len(max);
    let listener = Listener::bind_with("127.0.0.1:0", options.clone()).unwrap();
    let address = listener.address().clone();
    let client = thread::spawn(move || Client::connect_with(&address, &options));
    let server = listener.accept_timeout(TIMEOUT).unwrap();
    (
        server,
        integration_tests::threads::join(client).unwrap().unwrap(),
    )
}

fn write_raw(conn: &Connection, bytes: &[u8]) {
    let mut written = 0;
    while written < bytes.len() {
        written += nix::unistd::write(conn.as_fd(), &bytes[written..]).unwrap();
    }
}

#[test]
fn hostile_frames_after_the_handshake_are_typed_errors() {
    // 2^31 - 1 declared, over the default limit: refused before anything is allocated.
    let (server, client) = authenticated_pair(mproc::connection::DEFAULT_MAX_MESSAGE_LEN);
    write_raw(&client, &[0x7f, 0xff, 0xff, 0xff, 1, 2, 3]);
    let error = server.recv_bytes_timeout(TIMEOUT).unwrap_err();
    assert!(
        matches!(
            error,
            ConnectionError::TooLarge {
                len: 0x7fff_ffff,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(matches!(
        server.recv_bytes_timeout(TIMEOUT),
        Err(ConnectionError::Broken)
    ));

    // No limit at all: 2^31 - 1 declared, 64 KiB sent (room in any socket buffer), then the
    // peer leaves.
    let (server, client) = authenticated_pair(u64::MAX);
    write_raw(&client, &[0x7f, 0xff, 0xff, 0xff]);
    write_raw(&client, &vec![7u8; 64 << 10]);
    drop(client);
    let error = server.recv_bytes_timeout(TIMEOUT).unwrap_err();
    assert!(
        matches!(error, ConnectionError::Truncated { got, expected: 0x8000_0003 } if got == (64 << 10) + 4),
        "{error:?}"
    );

    // The -1 marker and 2^63.
    let (server, client) = authenticated_pair(u64::MAX);
    write_raw(&client, &(-1i32).to_be_bytes());
    write_raw(&client, &(1u64 << 63).to_be_bytes());
    write_raw(&client, b"abc");
    drop(client);
    let error = server.recv_bytes_timeout(TIMEOUT).unwrap_err();
    assert!(
        matches!(error, ConnectionError::Truncated { got: 15, .. }),
        "{error:?}"
    );

    // A truncated small frame, and a typed message that does not decode (consumed; usable).
    let (server, client) = authenticated_pair(1 << 20);
    write_raw(&client, &frame(&[0xff; 3]));
    let error = server.recv_timeout::<u64>(TIMEOUT).unwrap_err();
    assert!(matches!(error, ConnectionError::Decode(_)), "{error:?}");
    client.send(&5u64).unwrap();
    assert_eq!(server.recv_timeout::<u64>(TIMEOUT).unwrap(), 5);
    write_raw(&client, &frame(&[1; 100])[..40]);
    drop(client);
    let error = server.recv_bytes_timeout(TIMEOUT).unwrap_err();
    assert!(
        matches!(
            error,
            ConnectionError::Truncated {
                got: 40,
                expected: 104
            }
        ),
        "{error:?}"
    );
    assert_no_huge_allocation();
}

/// A raw listener that sends `bytes` to whoever connects, then reads until the peer leaves.
fn raw_listener(bytes: Vec<u8>) -> (SocketAddr, thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = thread::spawn(move || {
        let (mut sock, _) = listener.accept().unwrap();
        sock.set_read_timeout(Some(TIMEOUT)).unwrap();
        let _ = sock.write_all(&bytes);
        let mut rest = Vec::new();
        let _ = sock.read_to_end(&mut rest);
    });
    (addr, server)
}

#[test]
fn a_hostile_listener_cannot_fool_or_hang_a_client() {
    let mut challenge = b"#CHALLENGE#{sha256}".to_vec();
    challenge.extend_from_slice(&[3; 40]);
    let cases: Vec<(Vec<u8>, Expect)> = vec![
        (frame(b"hello"), |e| {
            matches!(e, ConnectionError::NotAChallenge)
        }),
        (frame(b"#CHALLENGE#short"), |e| {
            matches!(e, ConnectionError::ChallengeTooShort { len: 5 })
        }),
        (
            frame(&[b"#CHALLENGE#".as_slice(), &[1; 20]].concat()),
            |e| matches!(e, ConnectionError::LegacyRefused),
        ),
        (vec![0x7f, 0xff, 0xff, 0xff], |e| {
            matches!(e, ConnectionError::HandshakeTooLong { .. })
        }),
        // A valid challenge, then a refusal whatever the answer.
        ([frame(&challenge), frame(b"#FAILURE#")].concat(), |e| {
            matches!(e, ConnectionError::DigestSentRejected)
        }),
        // Nothing at all: the client's handshake times out.
        (Vec::new(), |e| {
            matches!(e, ConnectionError::HandshakeTimeout)
        }),
    ];
    let options = Options::new()
        .authkey(KEY)
        .handshake_timeout(Duration::from_millis(500));
    for (bytes, expected) in cases {
        let (addr, server) = raw_listener(bytes.clone());
        let error = Client::connect_with(addr, &options).unwrap_err();
        assert!(expected(&error), "{bytes:02x?}: {error:?}");
        integration_tests::threads::join(server).unwrap();
    }
    assert_no_huge_allocation();
}

#[test]
fn unauthenticated_listeners_skip_the_handshake_both_ways() {
    let listener = Listener::bind("127.0.0.1:0", Auth::Unauthenticated).unwrap();
    let address = listener.address().clone();
    let client = thread::spawn(move || Client::connect(&address, Auth::Unauthenticated));
    let server = listener.accept_timeout(TIMEOUT).unwrap();
    let client = integration_tests::threads::join(client).unwrap().unwrap();
    client.send(&"no handshake").unwrap();
    assert_eq!(
        server.recv_timeout::<String>(TIMEOUT).unwrap(),
        "no handshake"
    );
}
