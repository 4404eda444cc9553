//! ipc-channel: typed channels (`IpcSender`/`IpcReceiver`) and byte channels
//! (`IpcBytesSender`/`IpcBytesReceiver`) to a forked child, connected the way the crate
//! documents for a child process: the parent opens an `IpcOneShotServer`, the child connects
//! to its name and sends the ends the parent needs.

use std::time::Instant;

use ::ipc_channel::ipc::{self, IpcBytesSender, IpcOneShotServer, IpcReceiver, IpcSender};
use serde::{Serialize, de::DeserializeOwned};

use super::{KIB64, MIB, check_item, pipe_count, stamp, sum_below};
use crate::config::Sizes;
use crate::outcome::{Error, Measured, Outcome, fail};
use crate::sys::proc::{Pid, fork_child, wait_ok};
use crate::workloads::Peer;
use crate::workloads::{float, repeat, secs_since};

/// The ping-pong message.
type Small = [u8; 16];

const PINGPONG_ABOUT: &str = "`ipc::channel::<[u8; 16]>()` both ways to a forked child \
    (bootstrapped through an `IpcOneShotServer`), one `send` and one `recv` each way per round \
    trip";
const BYTES_ABOUT: &str = "an `ipc::bytes_channel()` to a forked child (bootstrapped \
    through an `IpcOneShotServer`): the parent `send`s each message, the child `recv`s it whole \
    and checks its length, number and last byte, then acknowledges the last on an \
    `IpcSender<u64>`";
const SMALL_ABOUT: &str = "the parent sends N `u64`s on an `ipc::channel::<u64>()` to one \
    forked consumer, which checks their count and sum and answers on an `IpcSender<u64>`; \
    items per second from the first send to the answer (1 → 1, parent as producer)";
const BIG_ABOUT: &str = "the parent sends N items of 1 MiB on an \
    `ipc::bytes_channel()` (the crate's channel for raw bytes) to one forked consumer, which \
    checks each one's length, number and last byte and acknowledges the last";

/// The crate's name: its sides' and its column's.
const NAME: &str = "ipc-channel";

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

pub(crate) const SMALL_PEER: Peer = Peer {
    name: NAME,
    about: SMALL_ABOUT,
    side: small,
};

pub(crate) const BIG_PEER: Peer = Peer {
    name: NAME,
    about: BIG_ABOUT,
    side: big,
};

/// Forks a child that connects to a one-shot server and hands over `make()`'s first half,
/// then runs `serve` on the second; returns the child and what it handed over.
fn fork_connected<T, U>(
    make: fn() -> Result<(T, U), Error>,
    serve: impl FnOnce(U) -> Result<(), Error>,
) -> Result<(Pid, T), Error>
where
    T: Serialize + DeserializeOwned,
{
    let (server, name) = IpcOneShotServer::<T>::new()?;
    let child = fork_child(|| {
        let (theirs, ours) = make()?;
        IpcSender::<T>::connect(name)?.send(theirs)?;
        serve(ours)
    })?;
    let (_, handed) = server.accept()?;
    Ok((child, handed))
}

/// Two channels between the parent and a child: the parent's sender to the child and its
/// receiver from it, then the child's receiver and sender (`A` goes to the child, `B` comes
/// back).
#[allow(
    clippy::type_complexity,
    reason = "two channel pairs, named where used"
)]
fn channel_pairs<A, B>() -> Result<
    (
        (IpcSender<A>, IpcReceiver<B>),
        (IpcReceiver<A>, IpcSender<B>),
    ),
    Error,
>
where
    A: Serialize + DeserializeOwned,
    B: Serialize + DeserializeOwned,
{
    let (to_child, from_parent) = ipc::channel()?;
    let (to_parent, from_child) = ipc::channel()?;
    Ok(((to_child, from_child), (from_parent, to_parent)))
}

/// Echoes messages until the parent hangs up.
fn echo((from_parent, to_parent): (IpcReceiver<Small>, IpcSender<Small>)) -> Result<(), Error> {
    while let Ok(message) = from_parent.recv() {
        to_parent.send(message)?;
    }
    Ok(())
}

pub(crate) fn pingpong(sizes: &Sizes) -> Result<Outcome, Error> {
    let (child, (to_child, from_child)) = fork_connected(channel_pairs::<Small, Small>, echo)?;
    let rounds = sizes.pingpong;
    let message = [7u8; 16];
    let samples = repeat(sizes, || {
        let start = Instant::now();
        for _ in 0..rounds {
            to_child.send(message)?;
            if from_child.recv()? != message {
                return Err(fail("the echo came back changed"));
            }
        }
        Ok(secs_since(start) * 1e6 / float(rounds))
    });
    drop(to_child); // ends the child's loop, also after a failed run
    let waited = wait_ok(child);
    let samples = samples?;
    waited?;
    Ok(Outcome::Measured(Measured::new(samples)))
}

/// The sink child's channels: a byte channel in, an acknowledgement channel out.
#[allow(
    clippy::type_complexity,
    reason = "two channel pairs, named where used"
)]
fn sink_channels() -> Result<
    (
        (IpcBytesSender, IpcReceiver<u64>),
        (ipc::IpcBytesReceiver, IpcSender<u64>),
    ),
    Error,
> {
    let (to_child, from_parent) = ipc::bytes_channel()?;
    let (ack, acks) = ipc::channel()?;
    Ok(((to_child, acks), (from_parent, ack)))
}

/// One-way bytes: `count` messages of `size` bytes per run, checked by the child, which
/// acknowledges each run's last message. Bytes per second.
pub(crate) fn bytes(sizes: &Sizes, size: usize, count: u64) -> Result<Outcome, Error> {
    let runs = sizes.total_runs();
    let (child, (to_child, acks)) = fork_connected(sink_channels, |(from_parent, ack)| {
        for _ in 0..runs {
            for index in 0..count {
                check_item(&from_parent.recv()?, size, index)?;
            }
            ack.send(count)?;
        }
        Ok(())
    })?;
    let mut message = vec![7u8; size];
    let samples = repeat(sizes, || {
        let start = Instant::now();
        for index in 0..count {
            stamp(&mut message, index);
            to_child.send(&message)?;
        }
        if acks.recv()? != count {
            return Err(fail("the child acknowledged a wrong count"));
        }
        Ok(float(count * u64::try_from(size)?) / secs_since(start))
    });
    drop(to_child);
    let waited = wait_ok(child);
    let samples = samples?;
    waited?;
    Ok(Outcome::Measured(Measured::new(samples)))
}

/// Small items 1 → 1: the parent sends `0..N`, the child sums them and answers the sum.
pub(crate) fn small(sizes: &Sizes) -> Result<Outcome, Error> {
    let (runs, count) = (sizes.total_runs(), sizes.queue_items);
    let (child, (to_child, answers)) =
        fork_connected(channel_pairs::<u64, u64>, |(items, answer)| {
            for _ in 0..runs {
                let mut sum = 0u64;
                for _ in 0..count {
                    sum = sum.wrapping_add(items.recv()?);
                }
                answer.send(sum)?;
            }
            Ok(())
        })?;
    let samples = repeat(sizes, || {
        let start = Instant::now();
        for item in 0..count {
            to_child.send(item)?;
        }
        if answers.recv()? != sum_below(count) {
            return Err(fail("the consumer got a wrong sum"));
        }
        Ok(float(count) / secs_since(start))
    });
    drop(to_child);
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

pub(crate) fn big(sizes: &Sizes) -> Result<Outcome, Error> {
    bytes(sizes, MIB, sizes.queue_big_items)
}
