//! Issue #18: `mproc::connection` against the real Python `multiprocessing.connection`.
//!
//! A Python `Client` talks to an mproc `Listener`, and an mproc `Client` to a Python
//! `Listener`, over TCP on 127.0.0.1 (port 0), a Unix socket path in a temporary directory, and
//! a Linux abstract name: small and 5 MiB messages both ways, an empty message, and wrong keys
//! refused on both sides (a typed error here, `AuthenticationError` in Python). Every Python
//! version installed is used: 3.12+ with the `{sha256}` handshake; 3.11 and older with the
//! legacy HMAC-MD5 one, which mproc accepts only when allowed.

mod connection_support;

use connection_support::{
    PARSE_ADDRESS, Python, Running, TIMEOUT, TempDir, abstract_name, hex, legacy_python,
    modern_pythons, python_address, pythons, start,
};
use mproc::connection::{Address, Client, ConnectionError, Listener, Options};

const BIG: usize = 5 << 20;
const KEY: &[u8] = b"interop key";
const OTHER_KEY: &[u8] = b"another key";

/// The exchange both scripts run once connected: echo two messages reversed, then send 5 MiB of
/// their own and an empty message.
const EXCHANGE: &str = r"
for _ in range(2):
    m = conn.recv_bytes()
    conn.send_bytes(m[::-1])
big = (bytes(range(251)) * ((5 << 20) // 251 + 1))[:5 << 20]
conn.send_bytes(big)
conn.send_bytes(b'')
print('OK', flush=True)
conn.close()
";

fn client_script() -> String {
    format!(
        "{PARSE_ADDRESS}
from multiprocessing.connection import Client
from multiprocessing import AuthenticationError
try:
    conn = Client(address, authkey=key)
except AuthenticationError as e:
    print('AuthenticationError:', e, flush=True)
    sys.exit(3)
{EXCHANGE}"
    )
}

fn listener_script() -> String {
    let exchange = EXCHANGE.replace('\n', "\n    ");
    format!(
        "{PARSE_ADDRESS}
from multiprocessing.connection import Listener
from multiprocessing import AuthenticationError
with Listener(address, authkey=key) as listener:
    a = listener.address
    print(a[1] if isinstance(a, tuple) else 'ready', flush=True)
    try:
        conn = listener.accept()
    except AuthenticationError as e:
        print('AuthenticationError:', e, flush=True)
        sys.exit(3)
    {exchange}"
    )
}

/// The Rust side of [`EXCHANGE`].
fn exchange(conn: &mproc::connection::Connection) {
    conn.send_bytes_timeout(b"small", TIMEOUT).unwrap();
    assert_eq!(conn.recv_bytes_timeout(TIMEOUT).unwrap(), b"llams");
    let big: Vec<u8> = (0..BIG)
        .map(|i| u8::try_from(i * 7 % 256).unwrap())
        .collect();
    conn.send_bytes_timeout(&big, TIMEOUT).unwrap();
    let back = conn.recv_bytes_timeout(TIMEOUT).unwrap();
    assert_eq!(back.len(), BIG);
    assert!(back.iter().rev().eq(big.iter()), "5 MiB came back reversed");
    let theirs = conn.recv_bytes_timeout(TIMEOUT).unwrap();
    assert_eq!(theirs.len(), BIG);
    assert!(
        theirs
            .iter()
            .enumerate()
            .all(|(i, &b)| b as usize == i % 251)
    );
    assert_eq!(conn.recv_bytes_timeout(TIMEOUT).unwrap(), b"");
    assert!(matches!(
        conn.recv_bytes_timeout(TIMEOUT),
        Err(ConnectionError::Eof)
    ));
}

fn options(key: &[u8], python: &Python) -> Options {
    Options::new()
        .authkey(key)
        .allow_legacy_md5(!python.modern())
}

/// Addresses of every family for a listener (port 0; fresh names).
fn listen_addresses(dir: &TempDir) -> Vec<Address> {
    vec![
        "127.0.0.1:0".parse().unwrap(),
        Address::Unix(dir.0.join("mproc.sock")),
        Address::Abstract(abstract_name("py")),
    ]
}

fn expect_ok(run: Running) {
    let out = run.finish(TIMEOUT).expect("python ended");
    assert!(out.success && out.stdout.contains("OK"), "{out:?}");
}

fn expect_authentication_error(run: Running, python: &Python, message: &str) {
    let out = run.finish(TIMEOUT).expect("python ended");
    assert_eq!(out.code, Some(3), "{python:?}: {out:?}");
    assert!(out.stdout.contains(message), "{python:?}: {out:?}");
}

fn python_client_with_mproc_listener(python: &Python, address: &Address) {
    let listener = Listener::bind_with(address, options(KEY, python)).unwrap();
    let run = start(
        python,
        &client_script(),
        &[&python_address(listener.address()), &hex(KEY)],
    );
    let conn = listener.accept_timeout(TIMEOUT).unwrap();
    exchange(&conn);
    expect_ok(run);
}

/// Starts a Python listener on `address` (port 0 for TCP) and returns where it listens.
fn python_listener(python: &Python, address: &Address, key: &[u8]) -> (Running, Address) {
    let mut run = start(
        python,
        &listener_script(),
        &[&python_address(address), &hex(key)],
    );
    let first = run.line(TIMEOUT);
    let actual = match address {
        Address::Tcp(a) => Address::Tcp((a.ip(), first.trim().parse().unwrap()).into()),
        other => {
            assert_eq!(first, "ready");
            other.clone()
        }
    };
    (run, actual)
}

fn mproc_client_with_python_listener(python: &Python, address: &Address) {
    let (run, actual) = python_listener(python, address, KEY);
    let conn = Client::connect_with(&actual, &options(KEY, python)).unwrap();
    exchange(&conn);
    expect_ok(run);
}

#[test]
fn python_clients_talk_to_an_mproc_listener_on_every_family() {
    for python in modern_pythons() {
        let dir = TempDir::new("pyclient");
        for address in listen_addresses(&dir) {
            python_client_with_mproc_listener(&python, &address);
        }
    }
}

#[test]
fn an_mproc_client_talks_to_python_listeners_on_every_family() {
    for python in modern_pythons() {
        let dir = TempDir::new("pylistener");
        for address in listen_addresses(&dir) {
            mproc_client_with_python_listener(&python, &address);
        }
    }
}

/// Python's `Listener`/`Client` take only `AF_INET` tuples (a `('::1', port)` address fails
/// in Python), so IPv6 is checked between mproc ends.
#[test]
fn ipv6_loopback_works_between_mproc_ends_where_the_machine_has_it() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        eprintln!("note: no IPv6 loopback here");
        return;
    }
    let listener = Listener::bind("[::1]:0", KEY).unwrap();
    let address = listener.address().clone();
    let client = std::thread::spawn(move || {
        let conn = Client::connect(&address, KEY)?;
        conn.send_bytes(b"over ipv6")?;
        conn.recv_bytes_timeout(TIMEOUT)
    });
    let conn = listener.accept_timeout(TIMEOUT).unwrap();
    let got = conn.recv_bytes_timeout(TIMEOUT).unwrap();
    conn.send_bytes(&got).unwrap();
    assert_eq!(
        integration_tests::threads::join(client).unwrap().unwrap(),
        b"over ipv6"
    );
}

#[test]
fn a_python_client_with_the_wrong_key_is_refused_and_refuses() {
    for python in pythons() {
        let dir = TempDir::new("wrongkey");
        for address in &listen_addresses(&dir)[..2] {
            let listener = Listener::bind_with(address, options(KEY, &python)).unwrap();
            let run = start(
                &python,
                &client_script(),
                &[&python_address(listener.address()), &hex(OTHER_KEY)],
            );
            let refused = listener.accept_timeout(TIMEOUT).unwrap_err();
            assert!(
                matches!(refused, ConnectionError::DigestReceivedWrong),
                "{python:?}: {refused:?}"
            );
            expect_authentication_error(run, &python, "digest sent was rejected");
        }
    }
}

#[test]
fn an_mproc_client_with_the_wrong_key_is_refused_by_python() {
    for python in pythons() {
        let dir = TempDir::new("wrongkey-client");
        for address in &listen_addresses(&dir)[..2] {
            let (run, actual) = python_listener(&python, address, KEY);
            let refused = Client::connect_with(&actual, &options(OTHER_KEY, &python)).unwrap_err();
            assert!(
                matches!(refused, ConnectionError::DigestSentRejected),
                "{python:?}: {refused:?}"
            );
            expect_authentication_error(run, &python, "digest received was wrong");
        }
    }
}

/// The legacy handshake (Python <= 3.11) works when allowed, and is refused by default.
#[test]
fn legacy_python_is_served_only_when_allowed() {
    let Some(python) = legacy_python() else {
        eprintln!("note: no Python <= 3.11 found: legacy interop not run");
        return;
    };
    let tcp: Address = "127.0.0.1:0".parse().unwrap();
    python_client_with_mproc_listener(&python, &tcp);
    mproc_client_with_python_listener(&python, &tcp);

    let strict = Options::new().authkey(KEY);
    let listener = Listener::bind_with(&tcp, strict.clone()).unwrap();
    let run = start(
        &python,
        &client_script(),
        &[&python_address(listener.address()), &hex(KEY)],
    );
    let refused = listener.accept_timeout(TIMEOUT).unwrap_err();
    assert!(
        matches!(refused, ConnectionError::LegacyRefused),
        "{refused:?}"
    );
    expect_authentication_error(run, &python, "digest sent was rejected");

    let (run, actual) = python_listener(&python, &tcp, KEY);
    let refused = Client::connect_with(&actual, &strict).unwrap_err();
    assert!(
        matches!(refused, ConnectionError::LegacyRefused),
        "{refused:?}"
    );
    // mproc hangs up without answering: the old Python's accept fails (EOFError).
    let out = run.finish(TIMEOUT).expect("python ended");
    assert!(!out.success, "{out:?}");
}
