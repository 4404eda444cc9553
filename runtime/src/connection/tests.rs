//! Unit tests: framing, handshake both ways, limits, handles, `wait`.

use std::io::Write;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::thread;
use std::time::Duration;

use super::frame::{Stream, header};
use super::*;

const TIMEOUT: Duration = Duration::from_secs(10);

fn pair() -> (Connection, UnixStream) {
    let (a, b) = UnixStream::pair().unwrap();
    (
        Connection::new(Stream::new(OwnedFd::from(a), true), DEFAULT_MAX_MESSAGE_LEN),
        b,
    )
}

fn connected() -> (Connection, Connection) {
    let (a, b) = UnixStream::pair().unwrap();
    let wrap = |s: UnixStream| {
        Connection::new(Stream::new(OwnedFd::from(s), true), DEFAULT_MAX_MESSAGE_LEN)
    };
    (wrap(a), wrap(b))
}

#[test]
fn headers_are_cpythons() {
    assert_eq!(header(5), ([0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0], 4));
    assert_eq!(header(0x7fff_ffff).0[..4], [0x7f, 0xff, 0xff, 0xff]);
    let (long, n) = header(0x8000_0000);
    assert_eq!(n, 12);
    assert_eq!(long, [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0x80, 0, 0, 0]);
}

#[test]
fn bytes_and_values_round_trip_with_boundaries() {
    let (a, b) = connected();
    a.send_bytes(b"a").unwrap();
    a.send_bytes(b"").unwrap();
    a.send_bytes_range(b"xcdx", 1, Some(2)).unwrap();
    a.send(&("hello".to_owned(), 7u32)).unwrap();
    assert_eq!(b.recv_bytes_timeout(TIMEOUT).unwrap(), b"a");
    assert_eq!(b.recv_bytes_timeout(TIMEOUT).unwrap(), b"");
    assert_eq!(b.recv_bytes_timeout(TIMEOUT).unwrap(), b"cd");
    let value: (String, u32) = b.recv_timeout(TIMEOUT).unwrap();
    assert_eq!(value, ("hello".to_owned(), 7));
    assert!(matches!(
        a.send_bytes_range(b"abc", 2, Some(2)),
        Err(ConnectionError::OutOfBounds { .. })
    ));
    drop(a);
    assert!(b.poll(Some(TIMEOUT)).unwrap());
    assert!(matches!(
        b.recv_bytes_timeout(TIMEOUT),
        Err(ConnectionError::Eof)
    ));
}

#[test]
fn recv_bytes_into_and_buffer_too_short() {
    let (a, b) = connected();
    a.send_bytes(b"12345").unwrap();
    a.send_bytes(b"123").unwrap();
    let mut buf = [0u8; 6];
    assert!(matches!(
        b.recv_bytes_into(&mut buf, 7),
        Err(ConnectionError::OutOfBounds { .. })
    ));
    match b.recv_bytes_into(&mut buf, 2) {
        Err(ConnectionError::BufferTooShort { message }) => assert_eq!(message, b"12345"),
        other => panic!("{other:?}"),
    }
    assert_eq!(b.recv_bytes_into(&mut buf, 2).unwrap(), 3);
    assert_eq!(&buf[2..5], b"123");
}

#[test]
fn a_declared_length_over_the_limit_is_refused_unallocated_and_breaks() {
    let (mut conn, mut raw) = pair();
    conn.set_max_message_len(1024);
    raw.write_all(&[0x7f, 0xff, 0xff, 0xff, 1, 2, 3]).unwrap();
    assert!(matches!(
        conn.recv_bytes_timeout(TIMEOUT),
        Err(ConnectionError::TooLarge {
            len: 0x7fff_ffff,
            max: 1024
        })
    ));
    assert!(matches!(
        conn.recv_bytes_timeout(TIMEOUT),
        Err(ConnectionError::Broken)
    ));
    let (conn, mut raw) = pair();
    raw.write_all(&[0xff, 0xff, 0xff, 0xff]).unwrap();
    raw.write_all(&(1u64 << 63).to_be_bytes()).unwrap();
    assert!(matches!(
        conn.recv_bytes_timeout(TIMEOUT),
        Err(ConnectionError::TooLarge { len, .. }) if len == 1 << 63
    ));
    let (mut conn, mut raw) = pair();
    conn.set_max_message_len(u64::MAX);
    raw.write_all(&(-1i32).to_be_bytes()).unwrap();
    raw.write_all(&u64::MAX.to_be_bytes()).unwrap();
    drop(raw);
    assert!(matches!(
        conn.recv_bytes_timeout(TIMEOUT),
        Err(ConnectionError::Truncated {
            got: 12,
            expected: u64::MAX
        })
    ));
    let (conn, mut raw) = pair();
    raw.write_all(&(-2i32).to_be_bytes()).unwrap();
    assert!(matches!(
        conn.recv_bytes_timeout(TIMEOUT),
        Err(ConnectionError::Malformed(_))
    ));
}

#[test]
fn a_truncated_frame_is_a_typed_error_and_memory_follows_the_bytes() {
    let (mut conn, mut raw) = pair();
    conn.set_max_message_len(u64::MAX);
    raw.write_all(&[0x7f, 0xff, 0xff, 0xff]).unwrap();
    raw.write_all(&[9; 1000]).unwrap();
    drop(raw);
    match conn.recv_bytes_timeout(TIMEOUT) {
        Err(ConnectionError::Truncated { got, expected }) => {
            assert_eq!((got, expected), (1004, 0x7fff_ffff + 4));
        }
        other => panic!("{other:?}"),
    }
    let (conn, mut raw) = pair();
    raw.write_all(&[0, 0]).unwrap();
    drop(raw);
    assert!(matches!(
        conn.recv_bytes_timeout(TIMEOUT),
        Err(ConnectionError::Truncated {
            got: 2,
            expected: 4
        })
    ));
}

#[test]
fn a_timeout_before_a_message_keeps_the_connection_and_within_one_breaks_it() {
    let (conn, mut raw) = pair();
    assert!(matches!(
        conn.recv_bytes_timeout(Duration::ZERO),
        Err(ConnectionError::Timeout)
    ));
    raw.write_all(&[0, 0, 0, 2, b'o']).unwrap();
    assert!(matches!(
        conn.recv_bytes_timeout(Duration::from_millis(1)),
        Err(ConnectionError::Timeout)
    ));
    raw.write_all(b"k").unwrap();
    assert!(matches!(
        conn.recv_bytes_timeout(TIMEOUT),
        Err(ConnectionError::Broken)
    ));
}

#[test]
fn long_messages_use_the_eight_byte_header_shape() {
    // Not 2 GiB here: the 12-byte header is accepted for any length.
    let (conn, mut raw) = pair();
    raw.write_all(&(-1i32).to_be_bytes()).unwrap();
    raw.write_all(&3u64.to_be_bytes()).unwrap();
    raw.write_all(b"abc").unwrap();
    assert_eq!(conn.recv_bytes_timeout(TIMEOUT).unwrap(), b"abc");
}

#[test]
fn handles_travel_over_unix_sockets_only() {
    let (a, b) = connected();
    let (here, there) = crate::Pipe::<u32>::new().unwrap();
    a.send(&there).unwrap();
    let there: crate::Connection<u32> = b.recv_timeout(TIMEOUT).unwrap();
    there.send(&5).unwrap();
    assert_eq!(here.recv_timeout(TIMEOUT).unwrap(), 5);

    let listener = Listener::bind("127.0.0.1:0", Auth::Unauthenticated).unwrap();
    let address = listener.address().clone();
    let client = thread::spawn(move || Client::connect(&address, Auth::Unauthenticated));
    let server = listener.accept_timeout(TIMEOUT).unwrap();
    let client = client.join().unwrap().unwrap();
    assert!(matches!(
        server.send(&there),
        Err(ConnectionError::HandlesNeedUnixSocket { count: 1 })
    ));
    server.send_bytes(b"still usable").unwrap();
    assert_eq!(client.recv_bytes_timeout(TIMEOUT).unwrap(), b"still usable");
}

fn serve(listener: Listener) -> thread::JoinHandle<Result<Vec<u8>, ConnectionError>> {
    thread::spawn(move || {
        let conn = listener.accept_timeout(TIMEOUT)?;
        let got = conn.recv_bytes_timeout(TIMEOUT)?;
        conn.send_bytes(&got)?;
        Ok(got)
    })
}

#[test]
fn the_handshake_accepts_the_same_key_on_every_address_family() {
    let dir = std::env::temp_dir().join(format!("mproc-conn-unit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let addresses: Vec<Address> = vec![
        "127.0.0.1:0".parse().unwrap(),
        Address::Unix(dir.join("s")),
        Address::Abstract(format!("mproc-unit-{}", std::process::id()).into_bytes()),
    ];
    for address in addresses {
        let listener = Listener::bind(&address, Auth::Program).unwrap();
        let target = listener.address().clone();
        let server = serve(listener);
        let conn = Client::connect(&target, Auth::Program).unwrap();
        conn.send_bytes(b"ping").unwrap();
        assert_eq!(conn.recv_bytes_timeout(TIMEOUT).unwrap(), b"ping");
        assert_eq!(server.join().unwrap().unwrap(), b"ping");
    }
    assert!(
        !dir.join("s").exists(),
        "the listener removes its socket file"
    );
    let _ = std::fs::remove_dir(&dir);
}

#[test]
fn a_wrong_key_is_refused_on_both_sides() {
    let listener = Listener::bind("127.0.0.1:0", b"right").unwrap();
    let target = listener.address().clone();
    let server = serve(listener);
    let client = Client::connect(&target, b"wrong");
    assert!(matches!(client, Err(ConnectionError::DigestSentRejected)));
    let server = server.join().unwrap();
    assert!(matches!(server, Err(ConnectionError::DigestReceivedWrong)));
    assert!(server.unwrap_err().is_authentication());
}

#[test]
fn authenticated_and_unauthenticated_ends_do_not_mix() {
    let listener = Listener::bind("127.0.0.1:0", b"key").unwrap();
    let target = listener.address().clone();
    let server = serve(listener);
    let conn = Client::connect(&target, Auth::Unauthenticated).unwrap();
    // The client reads the challenge as a message; the server never sees an answer.
    let challenge = conn.recv_bytes_timeout(TIMEOUT).unwrap();
    assert!(challenge.starts_with(b"#CHALLENGE#{sha256}"));
    assert_eq!(challenge.len(), 11 + 8 + 40);
    conn.send_bytes(b"not an answer").unwrap();
    assert!(matches!(
        server.join().unwrap(),
        Err(ConnectionError::UnsupportedDigest)
    ));
}

#[test]
fn a_silent_peer_times_the_handshake_out() {
    let options = Options::new()
        .authkey(b"k")
        .handshake_timeout(Duration::from_millis(50));
    let listener = Listener::bind_with("127.0.0.1:0", options).unwrap();
    let Address::Tcp(addr) = *listener.address() else {
        unreachable!()
    };
    let _silent = std::net::TcpStream::connect(addr).unwrap();
    assert!(matches!(
        listener.accept_timeout(TIMEOUT),
        Err(ConnectionError::HandshakeTimeout)
    ));
}

#[test]
fn wait_reports_ready_objects() {
    let (a, b) = connected();
    let (c, d) = connected();
    let listener = Listener::bind("127.0.0.1:0", Auth::Unauthenticated).unwrap();
    assert!(
        wait(&[&a, &c, &listener], Some(Duration::ZERO))
            .unwrap()
            .is_empty()
    );
    d.send_bytes(b"x").unwrap();
    assert_eq!(wait(&[&a, &c, &listener], Some(TIMEOUT)).unwrap(), [1]);
    drop(b);
    assert_eq!(wait(&[&a, &c, &listener], Some(TIMEOUT)).unwrap(), [0, 1]);
}

#[test]
fn addresses_parse_from_python_spellings() {
    assert_eq!(
        "[::1]:80".parse::<Address>().unwrap(),
        Address::Tcp("[::1]:80".parse().unwrap())
    );
    assert!(matches!(
        "localhost:80".parse::<Address>().unwrap(),
        Address::Tcp(a) if a.ip().is_loopback() && a.port() == 80
    ));
    assert_eq!(
        "@name".parse::<Address>().unwrap(),
        Address::Abstract(b"name".to_vec())
    );
    assert_eq!(
        "sock".parse::<Address>().unwrap(),
        Address::Unix("sock".into())
    );
    assert!("".parse::<Address>().is_err());
    assert!(format!("@{}", "x".repeat(108)).parse::<Address>().is_err());
}

#[test]
fn keys_never_show_in_debug_output() {
    let options = Options::new().authkey(b"very secret");
    let shown = format!("{options:?}");
    assert!(
        shown.contains("Auth::Bytes(<11 bytes, redacted>)"),
        "{shown}"
    );
    assert!(!shown.contains("very secret"));
    assert_eq!(format!("{:?}", Auth::default()), "Auth::Program");
}

#[test]
fn handshakes_can_run_on_an_established_connection() {
    let (a, b) = connected();
    let server = thread::spawn(move || {
        a.deliver_challenge(b"late key", TIMEOUT)?;
        a.answer_challenge(b"late key", TIMEOUT)?;
        a.deliver_challenge(b"late key", TIMEOUT).map(|()| a)
    });
    b.answer_challenge(b"late key", TIMEOUT).unwrap();
    b.deliver_challenge(b"late key", TIMEOUT).unwrap();
    assert!(matches!(
        b.answer_challenge(b"other key", TIMEOUT),
        Err(ConnectionError::DigestSentRejected)
    ));
    assert!(matches!(
        server.join().unwrap(),
        Err(ConnectionError::DigestReceivedWrong)
    ));
}

#[test]
fn the_listener_remembers_the_last_peer() {
    let listener = Listener::bind("127.0.0.1:0", Auth::Unauthenticated).unwrap();
    assert_eq!(listener.last_accepted(), None);
    let address = listener.address().clone();
    let client = thread::spawn(move || Client::connect(&address, Auth::Unauthenticated));
    let _server = listener.accept_timeout(TIMEOUT).unwrap();
    let _client = client.join().unwrap().unwrap();
    assert!(matches!(
        listener.last_accepted(),
        Some(Address::Tcp(peer)) if peer.ip().is_loopback()
    ));
}

#[test]
fn an_endless_handshake_timeout_does_not_overflow() {
    let options = Options::new()
        .authkey(b"k")
        .handshake_timeout(Duration::MAX);
    let listener = Listener::bind_with("127.0.0.1:0", options.clone()).unwrap();
    let address = listener.address().clone();
    let client = thread::spawn(move || Client::connect_with(&address, &options));
    listener.accept_timeout(TIMEOUT).unwrap();
    client.join().unwrap().unwrap();
}
