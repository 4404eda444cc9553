//! interprocess: a local socket (`local_socket::Stream`, a Unix stream socket with a name in
//! the abstract namespace on Linux) between the parent and a forked child; the parent
//! listens, the child connects.

use std::io::{Read, Write};
use std::time::Instant;

use ::interprocess::local_socket::{GenericNamespaced, ListenerOptions, Stream, prelude::*};

use super::{KIB64, MIB, check_item, pipe_count, stamp, unique_name};
use crate::config::Sizes;
use crate::outcome::{Error, Measured, Outcome, fail};
use crate::sys::proc::{Pid, fork_child, wait_ok};
use crate::workloads::Peer;
use crate::workloads::{float, repeat, secs_since};

const PINGPONG_ABOUT: &str = "a `local_socket::Stream` (abstract-namespace name, \
    `ListenerOptions::create_sync` in the parent, `Stream::connect` in a forked child), \
    `write_all` and `read_exact` of 16 bytes each way per round trip";
const BYTES_ABOUT: &str = "a `local_socket::Stream` (abstract-namespace name) to a forked \
    child: the parent `write_all`s each message, the child `read_exact`s it whole and checks its \
    length, number and last byte, and acknowledges the last with one byte";

/// The crate's name: its sides' and its column's.
const NAME: &str = "interprocess";

pub(crate) const PINGPONG_PEER: Peer = Peer {
    name: NAME,
    about: PINGPONG_ABOUT,
    side: pingpong,
};

pub(crate) const THROUGHPUT_64K_PEER: Peer = Peer {
    name: NAME,
    about: BYTES_ABOUT,
    side: throughput_64k,
};

pub(crate) const THROUGHPUT_1M_PEER: Peer = Peer {
    name: NAME,
    about: BYTES_ABOUT,
    side: throughput_1m,
};

/// Forks a child that connects to a fresh local socket and runs `serve` on its stream;
/// returns the child and the parent's stream.
fn fork_connected(serve: impl FnOnce(Stream) -> Result<(), Error>) -> Result<(Pid, Stream), Error> {
    let printed = unique_name();
    let listener = ListenerOptions::new()
        .name(printed.as_str().to_ns_name::<GenericNamespaced>()?)
        .create_sync()?;
    let child = fork_child(|| {
        let stream = Stream::connect(printed.as_str().to_ns_name::<GenericNamespaced>()?)?;
        serve(stream)
    })?;
    Ok((child, listener.accept()?))
}

/// Echoes 16-byte messages until the parent hangs up.
fn echo(mut stream: Stream) -> Result<(), Error> {
    let mut buf = [0u8; 16];
    while stream.read_exact(&mut buf).is_ok() {
        stream.write_all(&buf)?;
    }
    Ok(())
}

pub(crate) fn pingpong(sizes: &Sizes) -> Result<Outcome, Error> {
    let (child, mut stream) = fork_connected(echo)?;
    let rounds = sizes.pingpong;
    let message = [7u8; 16];
    let mut back = [0u8; 16];
    let samples = repeat(sizes, || {
        let start = Instant::now();
        for _ in 0..rounds {
            stream.write_all(&message)?;
            stream.read_exact(&mut back)?;
            if back != message {
                return Err(fail("the echo came back changed"));
            }
        }
        Ok(secs_since(start) * 1e6 / float(rounds))
    });
    drop(stream); // ends the child's loop, also after a failed run
    let waited = wait_ok(child);
    let samples = samples?;
    waited?;
    Ok(Outcome::Measured(Measured::new(samples)))
}

/// The sink child: per run, `count` whole messages of `size` bytes, checked, then one byte.
fn sink(mut stream: Stream, size: usize, count: u64, runs: u32) -> Result<(), Error> {
    let mut buf = vec![0u8; size];
    for _ in 0..runs {
        for index in 0..count {
            stream.read_exact(&mut buf)?;
            check_item(&buf, size, index)?;
        }
        stream.write_all(&[1])?;
    }
    Ok(())
}

/// One-way bytes: `count` messages of `size` bytes per run. Bytes per second.
fn bytes(sizes: &Sizes, size: usize, count: u64) -> Result<Outcome, Error> {
    let runs = sizes.total_runs();
    let (child, mut stream) = fork_connected(|stream| sink(stream, size, count, runs))?;
    let mut message = vec![7u8; size];
    let samples = repeat(sizes, || {
        let start = Instant::now();
        for index in 0..count {
            stamp(&mut message, index);
            stream.write_all(&message)?;
        }
        stream.read_exact(&mut [0u8])?;
        Ok(float(count * u64::try_from(size)?) / secs_since(start))
    });
    drop(stream);
    let waited = wait_ok(child);
    let samples = samples?;
    waited?;
    Ok(Outcome::Measured(Measured::new(samples)))
}

pub(crate) fn throughput_64k(sizes: &Sizes) -> Result<Outcome, Error> {
    bytes(sizes, KIB64, pipe_count(sizes, KIB64)?)
}

pub(crate) fn throughput_1m(sizes: &Sizes) -> Result<Outcome, Error> {
    bytes(sizes, MIB, pipe_count(sizes, MIB)?)
}
