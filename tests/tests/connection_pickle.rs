//! Issue #18: typed messages with the real Python through the pickle codec (feature `pickle`).
//!
//! Python's `Connection.send(obj)` / `recv()` and mproc's `send` / `recv` with
//! `Codec::pickle()`, both ways (mproc sends and Python checks what it unpickled; Python sends
//! and mproc decodes it as the Rust type it matches), with mproc as the listener and as the
//! client, over TCP loopback and a Unix socket, for every Python 3 installed. Python also sends
//! hostile pickles through the same connection (an object whose unpickling would run a shell
//! command, a function, a pickle that is not the type asked for): each is a typed error, the
//! command never runs, and the connection goes on.

mod connection_support;

use std::collections::{BTreeMap, BTreeSet};

use connection_support::{
    PARSE_ADDRESS, Python, Running, TIMEOUT, TempDir, hex, python_address, pythons, start,
};
use mproc::codec::ByteBuf;
use mproc::connection::pickle::PickleError;
use mproc::connection::{Address, Client, Codec, Connection, ConnectionError, Listener, Options};
use serde::{Deserialize, Serialize};

const KEY: &[u8] = b"pickle interop key";

#[derive(Debug, PartialEq, Serialize, Deserialize)]
enum Kind {
    Small,
    Big(u32),
}

/// Arrives in Python as a dict; Python sends it back as a dict, which decodes as this again.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Job {
    name: String,
    sizes: Vec<u32>,
    weight: f64,
    done: bool,
    note: Option<String>,
    data: ByteBuf,
    pair: (i64, String),
    nested: Vec<Vec<i32>>,
    map: BTreeMap<String, Vec<Option<bool>>>,
    kinds: Vec<Kind>,
}

fn job() -> Job {
    Job {
        name: "büro".into(),
        sizes: vec![0, 1, 255, 65_536, u32::MAX],
        weight: -2.5,
        done: true,
        note: None,
        data: ByteBuf(vec![0, 0x9f, 0xff]),
        pair: (-(1 << 40), "a".into()),
        nested: vec![vec![1, 2], vec![], vec![3]],
        map: [("k".to_owned(), vec![Some(true), None])].into(),
        kinds: vec![Kind::Small, Kind::Big(3)],
    }
}

/// The Python side, once `conn` is connected: check what mproc sent, send it back, then send
/// one value of every plain type, hostile pickles, and a last string.
const EXCHANGE: &str = r"
import os, pickle
got = conn.recv()
expected = {'name': 'büro', 'sizes': [0, 1, 255, 65536, 4294967295], 'weight': -2.5,
            'done': True, 'note': None, 'data': b'\x00\x9f\xff', 'pair': (-(1 << 40), 'a'),
            'nested': [[1, 2], [], [3]], 'map': {'k': [True, None]},
            'kinds': ['Small', {'Big': 3}]}
assert got == expected, got
assert type(got['pair']) is tuple and type(got['data']) is bytes
conn.send(got)
for v in [7, -(2**40), 'zé', b'\x00\x01', [1, 'two', 3.0], (1, 2, 3, 4, 5), None, 2.5,
          True, False, {'a': 1, 'b': 2}]:
    conn.send(v)
# Sets have opcodes of their own from protocol 4 on (Python 3.8's default); before, they are
# a REDUCE of builtins.set, which mproc refuses.
for v in [{5, 6}, frozenset([7])]:
    conn.send_bytes(pickle.dumps(v, protocol=max(4, pickle.DEFAULT_PROTOCOL)))
conn.send([[[]], [[1]]])
conn.send_bytes(pickle.dumps({'p5': b'x' * 300}, protocol=pickle.HIGHEST_PROTOCOL))
conn.send('not a number')
marker = sys.argv[3]
class Evil:
    def __reduce__(self):
        return (os.system, ('touch ' + marker,))
conn.send(Evil())
conn.send(os.system)
conn.send('still here')
print('OK', flush=True)
conn.close()
";

fn client_script() -> String {
    format!(
        "{PARSE_ADDRESS}
from multiprocessing.connection import Client
conn = Client(address, authkey=key)
{EXCHANGE}"
    )
}

fn listener_script() -> String {
    let exchange = EXCHANGE.replace('\n', "\n    ");
    format!(
        "{PARSE_ADDRESS}
from multiprocessing.connection import Listener
with Listener(address, authkey=key) as listener:
    a = listener.address
    print(a[1] if isinstance(a, tuple) else 'ready', flush=True)
    conn = listener.accept()
    {exchange}"
    )
}

fn options(python: &Python) -> Options {
    Options::new()
        .authkey(KEY)
        .allow_legacy_md5(!python.modern())
        .codec(Codec::pickle())
}

fn recv<T: serde::de::DeserializeOwned>(conn: &Connection) -> T {
    conn.recv_timeout(TIMEOUT).unwrap()
}

/// The mproc side of [`EXCHANGE`].
fn exchange(conn: &Connection, marker: &std::path::Path) {
    conn.send_timeout(&job(), TIMEOUT).unwrap();
    assert_eq!(recv::<Job>(conn), job());
    assert_eq!(recv::<i64>(conn), 7);
    assert_eq!(recv::<i64>(conn), -(1 << 40));
    assert_eq!(recv::<String>(conn), "zé");
    assert_eq!(recv::<ByteBuf>(conn), ByteBuf(vec![0, 1]));
    assert_eq!(recv::<(u8, String, f64)>(conn), (1, "two".into(), 3.0));
    assert_eq!(recv::<Vec<u16>>(conn), [1, 2, 3, 4, 5]);
    assert_eq!(recv::<Option<u8>>(conn), None);
    assert!((recv::<f64>(conn) - 2.5).abs() < f64::EPSILON);
    assert!(recv::<bool>(conn));
    assert!(!recv::<bool>(conn));
    assert_eq!(
        recv::<BTreeMap<String, i32>>(conn),
        BTreeMap::from([("a".into(), 1), ("b".into(), 2)])
    );
    assert_eq!(recv::<BTreeSet<u8>>(conn), BTreeSet::from([5, 6]));
    assert_eq!(recv::<Vec<u8>>(conn), [7]);
    assert_eq!(
        recv::<Vec<Vec<Vec<u8>>>>(conn),
        vec![vec![vec![]], vec![vec![1]]]
    );
    let p5: BTreeMap<String, ByteBuf> = recv(conn);
    assert_eq!(p5["p5"].len(), 300);
    let wrong = conn.recv_timeout::<u32>(TIMEOUT).unwrap_err();
    assert!(
        matches!(wrong, ConnectionError::Unpickle(PickleError::Decode { .. })),
        "{wrong:?}"
    );
    for _ in 0..2 {
        let evil = conn.recv_timeout::<String>(TIMEOUT).unwrap_err();
        assert!(
            matches!(
                evil,
                ConnectionError::Unpickle(PickleError::Refused {
                    name: "GLOBAL" | "STACK_GLOBAL",
                    ..
                })
            ),
            "{evil:?}"
        );
    }
    assert_eq!(recv::<String>(conn), "still here");
    assert!(!marker.exists(), "the pickled command ran");
}

/// Runs the mproc side of the exchange, then checks that Python finished it too (showing what
/// Python printed if either side failed).
fn exchange_with(run: Running, python: &Python, conn: &Connection, marker: &std::path::Path) {
    let ours = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| exchange(conn, marker)));
    let out = run.finish(TIMEOUT).expect("python ended");
    if let Err(panic) = ours {
        eprintln!("{python:?}: {out:?}");
        std::panic::resume_unwind(panic);
    }
    assert!(
        out.success && out.stdout.contains("OK"),
        "{python:?}: {out:?}"
    );
}

fn addresses(dir: &TempDir) -> [Address; 2] {
    [
        "127.0.0.1:0".parse().unwrap(),
        Address::Unix(dir.0.join("pickle.sock")),
    ]
}

#[test]
fn python_clients_exchange_pickles_with_an_mproc_listener() {
    for python in pythons() {
        let dir = TempDir::new("pickle-client");
        let marker = dir.0.join("pwned");
        for address in addresses(&dir) {
            let listener = Listener::bind_with(&address, options(&python)).unwrap();
            let run = start(
                &python,
                &client_script(),
                &[
                    &python_address(listener.address()),
                    &hex(KEY),
                    &marker.display().to_string(),
                ],
            );
            let conn = listener.accept_timeout(TIMEOUT).unwrap();
            exchange_with(run, &python, &conn, &marker);
        }
    }
}

#[test]
fn an_mproc_client_exchanges_pickles_with_python_listeners() {
    for python in pythons() {
        let dir = TempDir::new("pickle-listener");
        let marker = dir.0.join("pwned");
        for address in addresses(&dir) {
            let mut run = start(
                &python,
                &listener_script(),
                &[
                    &python_address(&address),
                    &hex(KEY),
                    &marker.display().to_string(),
                ],
            );
            let first = run.line(TIMEOUT);
            let actual = match &address {
                Address::Tcp(a) => Address::Tcp((a.ip(), first.trim().parse().unwrap()).into()),
                other => other.clone(),
            };
            let conn = Client::connect_with(&actual, &options(&python)).unwrap();
            exchange_with(run, &python, &conn, &marker);
        }
    }
}

/// The codec is per connection: the same connection carries raw bytes and pickles, and a
/// postcard end reading a pickle gets a typed error, not a value.
#[test]
fn codecs_are_per_connection_and_do_not_mix_silently() {
    let listener = Listener::bind("127.0.0.1:0", KEY).unwrap();
    let address = listener.address().clone();
    let peer = std::thread::spawn(move || {
        let options = Options::new().authkey(KEY).codec(Codec::pickle());
        let conn = Client::connect_with(&address, &options)?;
        assert_eq!(conn.codec(), &Codec::pickle());
        conn.send(&("a pickle", 1u8))?;
        conn.send_bytes(b"raw")?;
        conn.recv_timeout::<u64>(TIMEOUT)
    });
    let mut conn = listener.accept_timeout(TIMEOUT).unwrap();
    assert_eq!(conn.codec(), &Codec::Postcard);
    let err = conn.recv_timeout::<(String, u8)>(TIMEOUT).unwrap_err();
    assert!(matches!(err, ConnectionError::Decode(_)), "{err:?}");
    assert_eq!(conn.recv_bytes_timeout(TIMEOUT).unwrap(), b"raw");
    conn.set_codec(Codec::pickle());
    conn.send(&99u64).unwrap();
    assert_eq!(integration_tests::threads::join(peer).unwrap().unwrap(), 99);
}

/// A "billion laughs" through the memo: a 1 KiB string, then 30 lists each holding ten
/// references to the one before (10^30 strings once copied out), in under 3 KiB.
fn memo_bomb() -> Vec<u8> {
    let mut p = vec![0x80, 4, b'X'];
    p.extend(1024u32.to_le_bytes());
    p.extend([b'l'; 1024]);
    p.push(0x94);
    for level in 0u32..30 {
        p.extend([b']', 0x94, b'(']);
        for _ in 0..10 {
            p.push(b'j');
            p.extend(level.to_le_bytes());
        }
        p.push(b'e');
    }
    p.push(b'.');
    p
}

/// A peer on a real connection sends hostile pickles as raw messages to an end that decodes
/// pickles: each is a typed error (nothing run, nothing huge allocated, no stack overflow),
/// and the connection then carries a good message.
#[test]
fn hostile_pickles_from_a_peer_are_typed_errors_and_the_connection_goes_on() {
    let mut nested = vec![0x80, 4];
    nested.extend(std::iter::repeat_n(b']', 200_000));
    nested.extend(std::iter::repeat_n(b'a', 199_999));
    nested.push(b'.');
    let mut marks = vec![0x80, 4];
    marks.extend(std::iter::repeat_n(b'(', 200_000));
    let mut huge = vec![0x80, 5, 0x8e];
    huge.extend((1u64 << 63).to_le_bytes());
    huge.extend(b"abc.");
    let mut dup = vec![0x80, 4, b']'];
    for _ in 0..64 {
        dup.extend(b"2a");
    }
    dup.push(b'.');
    let good = mproc::connection::pickle::dumps(&vec!["fine".to_owned()]).unwrap();
    let hostile: Vec<Vec<u8>> = vec![
        memo_bomb(),
        nested,
        marks,
        huge,
        dup,
        b"cos\nsystem\n(Vtouch /tmp/mproc-pwned\ntR.".to_vec(),
        good[..good.len() - 3].to_vec(),
        b"\x80\x04]\x94h\x00a.".to_vec(),
    ];
    let count = hostile.len();
    let listener = Listener::bind_with(
        "127.0.0.1:0",
        Options::new().authkey(KEY).codec(Codec::pickle()),
    )
    .unwrap();
    let address = listener.address().clone();
    let peer = std::thread::spawn(move || -> Result<(), ConnectionError> {
        let conn = Client::connect(&address, KEY)?;
        for bytes in &hostile {
            conn.send_bytes(bytes)?;
        }
        conn.send_bytes(&good)
    });
    let conn = listener.accept_timeout(TIMEOUT).unwrap();
    let mut seen = Vec::new();
    for _ in 0..count {
        match conn.recv_timeout::<Vec<String>>(TIMEOUT) {
            Err(ConnectionError::Unpickle(e)) => seen.push(e),
            other => panic!("not refused: {other:?}"),
        }
    }
    assert_eq!(recv::<Vec<String>>(&conn), ["fine"]);
    integration_tests::threads::join(peer).unwrap().unwrap();
    assert!(
        matches!(seen[0], PickleError::TooLarge { .. }),
        "{:?}",
        seen[0]
    );
    assert!(
        matches!(seen[1], PickleError::TooDeep { .. }),
        "{:?}",
        seen[1]
    );
    assert!(
        matches!(seen[2], PickleError::TooDeep { .. }),
        "{:?}",
        seen[2]
    );
    assert!(
        matches!(seen[3], PickleError::Truncated { .. }),
        "{:?}",
        seen[3]
    );
    assert!(
        matches!(seen[4], PickleError::Refused { name: "DUP", .. }),
        "{:?}",
        seen[4]
    );
    assert!(
        matches!(seen[5], PickleError::Refused { name: "GLOBAL", .. }),
        "{:?}",
        seen[5]
    );
    assert!(
        matches!(seen[6], PickleError::Truncated { .. }),
        "{:?}",
        seen[6]
    );
    assert!(
        matches!(seen[7], PickleError::Recursive { .. }),
        "{:?}",
        seen[7]
    );
    assert!(!std::path::Path::new("/tmp/mproc-pwned").exists());
}
