//! Pipe: ping-pong of a small message, and one-way throughput of large messages.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Instant;

use super::{Figure, Peer, Workload, float, repeat, secs_since};
use crate::config::Sizes;
use crate::peers;
use mproc::{Connection, Pipe, Process};

use crate::outcome::{Error, Measured, Outcome, Unit, fail};
use crate::sys::proc::{fork_child, wait_ok};

/// The ping-pong message size.
const SMALL: usize = 16;

const PINGPONG: &str = "a 16-byte message goes to the child and comes back, one round trip \
                        per iteration. Python: `Pipe()` duplex, `send`/`recv` of a 16-byte \
                        `bytes`; floor: a `socketpair` with one `write` and one `read` each way";
const THROUGHPUT: &str = "the parent sends N messages one way, the child receives each whole \
                          and acknowledges the last; bytes per second. Python: `send_bytes` / \
                          `recv_bytes`; floor: `socketpair`, `write` and `read` of whole \
                          messages";

const PINGPONG_PEERS: &[Peer] = &[
    peers::ipc_channel::PINGPONG_PEER,
    peers::interprocess::PINGPONG_PEER,
    peers::iceoryx2::PINGPONG_PEER,
];
const THROUGHPUT_64K_PEERS: &[Peer] = &[
    peers::ipc_channel::THROUGHPUT_64K_PEER,
    peers::interprocess::THROUGHPUT_64K_PEER,
    peers::iceoryx2::THROUGHPUT_64K_PEER,
];
const THROUGHPUT_1M_PEERS: &[Peer] = &[
    peers::ipc_channel::THROUGHPUT_1M_PEER,
    peers::interprocess::THROUGHPUT_1M_PEER,
    peers::iceoryx2::THROUGHPUT_1M_PEER,
];

pub(crate) const WORKLOAD: Workload = Workload {
    name: "pipe",
    script: "mp_pipe.py",
    figures: &[
        Figure {
            id: "pipe.pingpong.pinned",
            title: "Pipe ping-pong round trip, 16 B, both on CPU 0",
            unit: Unit::Us,
            pinned: true,
            memory: false,
            about: PINGPONG,
            mproc: mproc_pingpong,
            floor: floor_pingpong,
            peers: PINGPONG_PEERS,
        },
        Figure {
            id: "pipe.pingpong.unpinned",
            title: "Pipe ping-pong round trip, 16 B, unpinned",
            unit: Unit::Us,
            pinned: false,
            memory: false,
            about: PINGPONG,
            mproc: mproc_pingpong,
            floor: floor_pingpong,
            peers: PINGPONG_PEERS,
        },
        Figure {
            id: "pipe.throughput.64k",
            title: "Pipe throughput, 64 KiB messages",
            unit: Unit::BytesPerSec,
            pinned: false,
            memory: false,
            about: THROUGHPUT,
            mproc: mproc_throughput_64k,
            floor: floor_throughput_64k,
            peers: THROUGHPUT_64K_PEERS,
        },
        Figure {
            id: "pipe.throughput.1m",
            title: "Pipe throughput, 1 MiB messages",
            unit: Unit::BytesPerSec,
            pinned: false,
            memory: false,
            about: THROUGHPUT,
            mproc: mproc_throughput_1m,
            floor: floor_throughput_1m,
            peers: THROUGHPUT_1M_PEERS,
        },
    ],
};

/// The child's half of the mproc ping-pong: echo `rounds` typed messages.
fn mproc_echo((conn, rounds): (Connection<[u8; SMALL]>, u64)) -> Result<(), String> {
    for _ in 0..rounds {
        let message = conn.recv().map_err(|e| e.to_string())?;
        conn.send(&message).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Ping-pong of a typed 16-byte message over an `mproc::Pipe`.
fn mproc_pingpong(sizes: &Sizes) -> Result<Outcome, Error> {
    let (parent, child_end) = Pipe::<[u8; SMALL]>::new()?;
    let rounds = sizes.pingpong;
    let total = rounds * u64::from(sizes.total_runs());
    let child = Process::new(mproc_echo, (child_end, total)).start()?;
    let message = [7u8; SMALL];
    let mut back = [0u8; SMALL];
    let samples = repeat(sizes, || {
        let start = Instant::now();
        for _ in 0..rounds {
            parent.send(&message)?;
            back = parent.recv()?;
        }
        Ok(secs_since(start) * 1e6 / float(rounds))
    });
    drop(parent); // a failed run must not leave the child waiting for more
    let joined = child.join();
    let samples = samples?;
    joined?.map_err(fail)?;
    if back != message {
        return Err(fail("the echo came back changed"));
    }
    Ok(Outcome::Measured(Measured::new(samples)))
}

/// The child's half of the mproc throughput figure (as [`sink`]).
fn mproc_sink((conn, count, runs): (Connection<u8>, u64, u32)) -> Result<(), String> {
    for _ in 0..runs {
        for _ in 0..count {
            conn.recv_bytes().map_err(|e| e.to_string())?;
        }
        conn.send(&1).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// One-way throughput of `size`-byte messages over an `mproc::Pipe` (`send_bytes` /
/// `recv_bytes`).
fn mproc_throughput(sizes: &Sizes, size: usize) -> Result<Outcome, Error> {
    let size_u64 = u64::try_from(size)?;
    let count = (sizes.pipe_bytes / size_u64).max(1);
    let (parent, child_end) = Pipe::<u8>::new()?;
    let child = Process::new(mproc_sink, (child_end, count, sizes.total_runs())).start()?;
    let message = vec![7u8; size];
    let samples = repeat(sizes, || {
        let start = Instant::now();
        for _ in 0..count {
            parent.send_bytes(&message)?;
        }
        parent.recv()?;
        Ok(float(count * size_u64) / secs_since(start))
    });
    drop(parent); // a failed run must not leave the child waiting for more
    let joined = child.join();
    let samples = samples?;
    joined?.map_err(fail)?;
    Ok(Outcome::Measured(Measured::new(samples)))
}

fn mproc_throughput_64k(sizes: &Sizes) -> Result<Outcome, Error> {
    mproc_throughput(sizes, 64 << 10)
}

fn mproc_throughput_1m(sizes: &Sizes) -> Result<Outcome, Error> {
    mproc_throughput(sizes, 1 << 20)
}

/// The child's half of the ping-pong: echo `rounds` messages.
fn echo(stream: &mut UnixStream, rounds: u64) -> std::io::Result<()> {
    let mut buf = [0u8; SMALL];
    for _ in 0..rounds {
        stream.read_exact(&mut buf)?;
        stream.write_all(&buf)?;
    }
    Ok(())
}

fn floor_pingpong(sizes: &Sizes) -> Result<Outcome, Error> {
    let (mut parent, mut child_end) = UnixStream::pair()?;
    let rounds = sizes.pingpong;
    let child = fork_child(|| echo(&mut child_end, rounds * u64::from(sizes.total_runs())))?;
    drop(child_end);
    let message = [7u8; SMALL];
    let mut back = [0u8; SMALL];
    let samples = repeat(sizes, || {
        let start = Instant::now();
        for _ in 0..rounds {
            parent.write_all(&message)?;
            parent.read_exact(&mut back)?;
        }
        Ok(secs_since(start) * 1e6 / float(rounds))
    });
    drop(parent); // a failed run must not leave the child waiting for more
    let waited = wait_ok(child);
    let samples = samples?;
    waited?;
    if back != message {
        return Err(fail("the echo came back changed"));
    }
    Ok(Outcome::Measured(Measured::new(samples)))
}

/// The child's half of the throughput figure: per run, receive `count` whole messages of
/// `size` bytes, then acknowledge with one byte.
fn sink(stream: &mut UnixStream, size: usize, count: u64, runs: u32) -> std::io::Result<()> {
    let mut buf = vec![0u8; size];
    for _ in 0..runs {
        for _ in 0..count {
            stream.read_exact(&mut buf)?;
        }
        stream.write_all(&[1])?;
    }
    Ok(())
}

fn floor_throughput(sizes: &Sizes, size: usize) -> Result<Outcome, Error> {
    let size_u64 = u64::try_from(size)?;
    let count = (sizes.pipe_bytes / size_u64).max(1);
    let (mut parent, mut child_end) = UnixStream::pair()?;
    let runs = sizes.total_runs();
    let child = fork_child(|| sink(&mut child_end, size, count, runs))?;
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
    drop(parent); // a failed run must not leave the child waiting for more
    let waited = wait_ok(child);
    let samples = samples?;
    waited?;
    Ok(Outcome::Measured(Measured::new(samples)))
}

fn floor_throughput_64k(sizes: &Sizes) -> Result<Outcome, Error> {
    floor_throughput(sizes, 64 << 10)
}

fn floor_throughput_1m(sizes: &Sizes) -> Result<Outcome, Error> {
    floor_throughput(sizes, 1 << 20)
}
