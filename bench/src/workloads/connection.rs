//! Connection (issue #18): `multiprocessing.connection` Listener/Client over TCP loopback and
//! Unix sockets: ping-pong of a 16-byte message, one-way throughput of large messages, and the
//! cost of establishing an authenticated connection. Both sides use raw messages
//! (`send_bytes`/`recv_bytes`), the same frames on the wire.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr as UnixAddr, UnixListener, UnixStream};
use std::time::{Duration, Instant};

use mproc::Process;
use mproc::connection::{Auth, Client, Connection, Listener};

use super::echo::{SMALL, echo, echoes, round_trips};
use super::{Figure, Workload, float, repeat, secs_since};
use crate::config::Sizes;
use crate::outcome::{Error, Measured, Outcome, Unit, fail};
use crate::peers;
use crate::sys::proc::{fork_child, wait_ok};

/// The ping-pong message size.
/// How long the parent waits for its child to connect.
const PATIENCE: Duration = Duration::from_mins(2);

const PINGPONG: &str = "a 16-byte message goes to a child connected by `Client` to the \
                        parent's `Listener` (authenticated) and comes back, one round trip per \
                        iteration. Python: the same with `multiprocessing.connection`, \
                        `send_bytes`/`recv_bytes`; floor: a bare socket of the same family, one \
                        `write` and one `read` each way";
const THROUGHPUT: &str = "the parent sends N messages one way over the connection, the child \
                          receives each whole and acknowledges the last; bytes per second. \
                          Python: `send_bytes` / `recv_bytes`; floor: a bare socket, `write` and \
                          `read` of whole messages";

const HANDSHAKE: &str = "a child connects to the parent's `Listener` over and over, one \
                         connection at a time; each is authenticated (the HMAC-SHA256 challenge \
                         both ways) and closed; time per connection, measured by the accepting \
                         parent. Python: `Client(address, authkey=...)` and `Listener.accept()`; \
                         floor: a bare `connect` and `accept` of the same family, no handshake";

#[derive(Debug, Clone, Copy)]
enum Family {
    Tcp,
    Unix,
}

macro_rules! figure {
    ($id:literal, $title:literal, $unit:expr, $about:expr, $mproc:ident, $floor:ident) => {
        figure!($id, $title, $unit, $about, $mproc, $floor, &[])
    };
    ($id:literal, $title:literal, $unit:expr, $about:expr, $mproc:ident, $floor:ident,
     $peers:expr) => {
        Figure {
            id: $id,
            title: $title,
            unit: $unit,
            pinned: false,
            memory: false,
            about: $about,
            mproc: $mproc,
            floor: $floor,
            peers: $peers,
        }
    };
}

pub(crate) const WORKLOAD: Workload = Workload {
    name: "connection",
    script: "mp_connection.py",
    figures: &[
        figure!(
            "connection.pingpong.tcp",
            "Connection round trip, 16 B, TCP loopback",
            Unit::Us,
            PINGPONG,
            mproc_pingpong_tcp,
            floor_pingpong_tcp
        ),
        figure!(
            "connection.pingpong.unix",
            "Connection round trip, 16 B, Unix socket",
            Unit::Us,
            PINGPONG,
            mproc_pingpong_unix,
            floor_pingpong_unix,
            &[peers::interprocess::PINGPONG_PEER]
        ),
        figure!(
            "connection.throughput.tcp.64k",
            "Connection throughput, 64 KiB messages, TCP loopback",
            Unit::BytesPerSec,
            THROUGHPUT,
            mproc_throughput_tcp_64k,
            floor_throughput_tcp_64k
        ),
        figure!(
            "connection.throughput.tcp.1m",
            "Connection throughput, 1 MiB messages, TCP loopback",
            Unit::BytesPerSec,
            THROUGHPUT,
            mproc_throughput_tcp_1m,
            floor_throughput_tcp_1m
        ),
        figure!(
            "connection.throughput.unix.64k",
            "Connection throughput, 64 KiB messages, Unix socket",
            Unit::BytesPerSec,
            THROUGHPUT,
            mproc_throughput_unix_64k,
            floor_throughput_unix_64k,
            &[peers::interprocess::THROUGHPUT_64K_PEER]
        ),
        figure!(
            "connection.throughput.unix.1m",
            "Connection throughput, 1 MiB messages, Unix socket",
            Unit::BytesPerSec,
            THROUGHPUT,
            mproc_throughput_unix_1m,
            floor_throughput_unix_1m,
            &[peers::interprocess::THROUGHPUT_1M_PEER]
        ),
        figure!(
            "connection.handshake.tcp",
            "Connection establishment with authentication, TCP loopback",
            Unit::Us,
            HANDSHAKE,
            mproc_handshake_tcp,
            floor_handshake_tcp
        ),
        figure!(
            "connection.handshake.unix",
            "Connection establishment with authentication, Unix socket",
            Unit::Us,
            HANDSHAKE,
            mproc_handshake_unix,
            floor_handshake_unix
        ),
    ],
};

/// A listener of `family` (an abstract name for Unix), authenticated with the program key.
fn listen(family: Family) -> Result<Listener, Error> {
    let address = match family {
        Family::Tcp => "127.0.0.1:0".to_owned(),
        Family::Unix => format!("@mproc-bench-connection-{}", std::process::id()),
    };
    Ok(Listener::bind(address.as_str(), Auth::Program)?)
}

/// Starts `child` with the listener's address and returns the accepted connection.
fn start_child<A: serde::Serialize + serde::de::DeserializeOwned + 'static>(
    listener: &Listener,
    child: fn((String, A)) -> Result<(), String>,
    arg: A,
) -> Result<(mproc::Child<Result<(), String>>, Connection), Error> {
    let child = Process::new(child, (listener.address().to_string(), arg)).start()?;
    let conn = listener.accept_timeout(PATIENCE)?;
    Ok((child, conn))
}

/// The child's half of the ping-pong: connect, then echo `rounds` messages.
fn mproc_echo((address, rounds): (String, u64)) -> Result<(), String> {
    let conn = Client::connect(address.as_str(), Auth::Program).map_err(|e| e.to_string())?;
    for _ in 0..rounds {
        let message = conn.recv_bytes().map_err(|e| e.to_string())?;
        conn.send_bytes(&message).map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn mproc_pingpong(sizes: &Sizes, family: Family) -> Result<Outcome, Error> {
    let listener = listen(family)?;
    let rounds = sizes.pingpong;
    let total = rounds * u64::from(sizes.total_runs());
    let (child, conn) = start_child(&listener, mproc_echo, total)?;
    let message = [7u8; SMALL];
    let mut back = Vec::new();
    let samples = repeat(sizes, || {
        let start = Instant::now();
        for _ in 0..rounds {
            conn.send_bytes(&message)?;
            back = conn.recv_bytes()?;
        }
        Ok(secs_since(start) * 1e6 / float(rounds))
    });
    drop(conn); // a failed run must not leave the child waiting for more
    let joined = child.join();
    let samples = samples?;
    joined?.map_err(fail)?;
    if back != message {
        return Err(fail("the echo came back changed"));
    }
    Ok(Outcome::Measured(Measured::new(samples)))
}

fn mproc_pingpong_tcp(sizes: &Sizes) -> Result<Outcome, Error> {
    mproc_pingpong(sizes, Family::Tcp)
}

fn mproc_pingpong_unix(sizes: &Sizes) -> Result<Outcome, Error> {
    mproc_pingpong(sizes, Family::Unix)
}

/// The child's half of the throughput figure: per run, receive `count` messages, then
/// acknowledge.
fn mproc_sink((address, (count, runs)): (String, (u64, u32))) -> Result<(), String> {
    let conn = Client::connect(address.as_str(), Auth::Program).map_err(|e| e.to_string())?;
    for _ in 0..runs {
        for _ in 0..count {
            conn.recv_bytes().map_err(|e| e.to_string())?;
        }
        conn.send_bytes(b"k").map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn mproc_throughput(sizes: &Sizes, family: Family, size: usize) -> Result<Outcome, Error> {
    let size_u64 = u64::try_from(size)?;
    let count = (sizes.pipe_bytes / size_u64).max(1);
    let listener = listen(family)?;
    let (child, conn) = start_child(&listener, mproc_sink, (count, sizes.total_runs()))?;
    let message = vec![7u8; size];
    let samples = repeat(sizes, || {
        let start = Instant::now();
        for _ in 0..count {
            conn.send_bytes(&message)?;
        }
        conn.recv_bytes()?;
        Ok(float(count * size_u64) / secs_since(start))
    });
    drop(conn);
    let joined = child.join();
    let samples = samples?;
    joined?.map_err(fail)?;
    Ok(Outcome::Measured(Measured::new(samples)))
}

fn mproc_throughput_tcp_64k(sizes: &Sizes) -> Result<Outcome, Error> {
    mproc_throughput(sizes, Family::Tcp, 64 << 10)
}

fn mproc_throughput_tcp_1m(sizes: &Sizes) -> Result<Outcome, Error> {
    mproc_throughput(sizes, Family::Tcp, 1 << 20)
}

fn mproc_throughput_unix_64k(sizes: &Sizes) -> Result<Outcome, Error> {
    mproc_throughput(sizes, Family::Unix, 64 << 10)
}

fn mproc_throughput_unix_1m(sizes: &Sizes) -> Result<Outcome, Error> {
    mproc_throughput(sizes, Family::Unix, 1 << 20)
}

/// A connected pair of bare sockets of `family` (TCP with Nagle off, as mproc's).
fn socket_pair(family: Family) -> Result<(BoxedStream, BoxedStream), Error> {
    Ok(match family {
        Family::Tcp => {
            let listener = TcpListener::bind("127.0.0.1:0")?;
            let a = TcpStream::connect(listener.local_addr()?)?;
            let (b, _) = listener.accept()?;
            a.set_nodelay(true)?;
            b.set_nodelay(true)?;
            (Box::new(a), Box::new(b))
        }
        Family::Unix => {
            let (a, b) = UnixStream::pair()?;
            (Box::new(a), Box::new(b))
        }
    })
}

/// A bare stream socket.
trait Stream: Read + Write {}
type BoxedStream = Box<dyn Stream>;
impl<T: Read + Write> Stream for T {}

fn floor_pingpong(sizes: &Sizes, family: Family) -> Result<Outcome, Error> {
    let (parent, child_end) = socket_pair(family)?;
    let total = echoes(sizes, 1);
    let child = fork_child(|| echo(child_end, total))?;
    round_trips(sizes, parent, child, 1)
}

fn floor_pingpong_tcp(sizes: &Sizes) -> Result<Outcome, Error> {
    floor_pingpong(sizes, Family::Tcp)
}

fn floor_pingpong_unix(sizes: &Sizes) -> Result<Outcome, Error> {
    floor_pingpong(sizes, Family::Unix)
}

fn floor_throughput(sizes: &Sizes, family: Family, size: usize) -> Result<Outcome, Error> {
    let size_u64 = u64::try_from(size)?;
    let count = (sizes.pipe_bytes / size_u64).max(1);
    let (mut parent, mut child_end) = socket_pair(family)?;
    let runs = sizes.total_runs();
    let child = fork_child(|| -> std::io::Result<()> {
        let mut buf = vec![0u8; size];
        for _ in 0..runs {
            for _ in 0..count {
                child_end.read_exact(&mut buf)?;
            }
            child_end.write_all(&[1])?;
        }
        Ok(())
    })?;
    drop(child_end);
    let message = vec![7u8; size];
    let samples = repeat(sizes, || {
        let start = Instant::now();
        for _ in 0..count {
            parent.write_all(&message)?;
        }
        parent.read_exact(&mut [0u8])?;
        Ok(float(count * size_u64) / secs_since(start))
    });
    drop(parent);
    let waited = wait_ok(child);
    let samples = samples?;
    waited?;
    Ok(Outcome::Measured(Measured::new(samples)))
}

fn floor_throughput_tcp_64k(sizes: &Sizes) -> Result<Outcome, Error> {
    floor_throughput(sizes, Family::Tcp, 64 << 10)
}

fn floor_throughput_tcp_1m(sizes: &Sizes) -> Result<Outcome, Error> {
    floor_throughput(sizes, Family::Tcp, 1 << 20)
}

fn floor_throughput_unix_64k(sizes: &Sizes) -> Result<Outcome, Error> {
    floor_throughput(sizes, Family::Unix, 64 << 10)
}

fn floor_throughput_unix_1m(sizes: &Sizes) -> Result<Outcome, Error> {
    floor_throughput(sizes, Family::Unix, 1 << 20)
}

/// Connections established per run of the handshake figures.
fn handshakes(sizes: &Sizes) -> u64 {
    (sizes.pingpong / 10).max(1)
}

/// The child's half of the handshake figures: connect (and authenticate) `count` times, closing
/// each connection before the next.
fn mproc_connector((address, count): (String, u64)) -> Result<(), String> {
    for _ in 0..count {
        drop(Client::connect(address.as_str(), Auth::Program).map_err(|e| e.to_string())?);
    }
    Ok(())
}

fn mproc_handshake(sizes: &Sizes, family: Family) -> Result<Outcome, Error> {
    let listener = listen(family)?;
    let per_run = handshakes(sizes);
    let total = per_run * u64::from(sizes.total_runs());
    let child = Process::new(mproc_connector, (listener.address().to_string(), total)).start()?;
    let samples = repeat(sizes, || {
        let start = Instant::now();
        for _ in 0..per_run {
            drop(listener.accept_timeout(PATIENCE)?);
        }
        Ok(secs_since(start) * 1e6 / float(per_run))
    });
    drop(listener); // a failed run must not leave the child connecting
    let joined = child.join();
    let samples = samples?;
    joined?.map_err(fail)?;
    Ok(Outcome::Measured(Measured::new(samples)))
}

fn mproc_handshake_tcp(sizes: &Sizes) -> Result<Outcome, Error> {
    mproc_handshake(sizes, Family::Tcp)
}

fn mproc_handshake_unix(sizes: &Sizes) -> Result<Outcome, Error> {
    mproc_handshake(sizes, Family::Unix)
}

/// A bare listener of `family` and a function connecting a bare socket to it.
fn bare_listener(family: Family) -> Result<(BareListener, Connect), Error> {
    Ok(match family {
        Family::Tcp => {
            let listener = TcpListener::bind("127.0.0.1:0")?;
            let address = listener.local_addr()?;
            let connect = move || -> std::io::Result<BoxedStream> {
                let stream = TcpStream::connect(address)?;
                stream.set_nodelay(true)?;
                Ok(Box::new(stream))
            };
            (BareListener::Tcp(listener), Box::new(connect))
        }
        Family::Unix => {
            let name = format!("mproc-bench-floor-{}", std::process::id());
            let address = UnixAddr::from_abstract_name(name.as_bytes())?;
            let listener = UnixListener::bind_addr(&address)?;
            let connect = move || -> std::io::Result<BoxedStream> {
                Ok(Box::new(UnixStream::connect_addr(&address)?))
            };
            (BareListener::Unix(listener), Box::new(connect))
        }
    })
}

/// Connects a bare socket to a [`BareListener`].
type Connect = Box<dyn Fn() -> std::io::Result<BoxedStream>>;

enum BareListener {
    Tcp(TcpListener),
    Unix(UnixListener),
}

impl BareListener {
    fn accept(&self) -> std::io::Result<BoxedStream> {
        Ok(match self {
            Self::Tcp(l) => {
                let (stream, _) = l.accept()?;
                stream.set_nodelay(true)?;
                Box::new(stream)
            }
            Self::Unix(l) => Box::new(l.accept()?.0),
        })
    }
}

fn floor_handshake(sizes: &Sizes, family: Family) -> Result<Outcome, Error> {
    let (listener, connect) = bare_listener(family)?;
    let per_run = handshakes(sizes);
    let total = per_run * u64::from(sizes.total_runs());
    let child = fork_child(|| -> std::io::Result<()> {
        for _ in 0..total {
            // Wait for the parent to accept and close, as a handshake keeps the two in step.
            let mut stream = connect()?;
            stream.read_exact(&mut [0u8]).ok();
        }
        Ok(())
    })?;
    let samples = repeat(sizes, || {
        let start = Instant::now();
        for _ in 0..per_run {
            drop(listener.accept()?);
        }
        Ok(secs_since(start) * 1e6 / float(per_run))
    });
    drop(listener);
    let waited = wait_ok(child);
    let samples = samples?;
    waited?;
    Ok(Outcome::Measured(Measured::new(samples)))
}

fn floor_handshake_tcp(sizes: &Sizes) -> Result<Outcome, Error> {
    floor_handshake(sizes, Family::Tcp)
}

fn floor_handshake_unix(sizes: &Sizes) -> Result<Outcome, Error> {
    floor_handshake(sizes, Family::Unix)
}
