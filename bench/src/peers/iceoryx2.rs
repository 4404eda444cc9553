//! iceoryx2: zero-copy shared memory. Ping-pong is a request-response service; one-way bytes
//! and queue items are publish-subscribe services (1 MiB payloads written into loaned
//! samples), with overflow off so the publisher waits for room instead of dropping data.
//! These sides poll (`receive` in a loop, yielding the CPU between misses), as the crate's
//! examples receive; the Event rows use two event services, whose listeners block. The parent
//! forks the child before either creates its node.

use std::time::Instant;

use ::iceoryx2::prelude::*;
use ::iceoryx2::service::port_factory::publish_subscribe;

use super::{KIB64, MIB, check_item, pipe_count, stamp, sum_below, unique_name};
use crate::config::Sizes;
use crate::floor::PATIENCE;
use crate::outcome::{Error, Measured, Outcome, fail};
use crate::sys::proc::{fork_child, wait_ok};
use crate::workloads::Peer;
use crate::workloads::{float, repeat, secs_since};

/// The ping-pong message.
type Small = [u8; 16];
/// Samples a subscriber may hold unread: 1 MiB items get 4 (4 MiB, mproc's ring), small ones
/// 1024.
const BIG_BUFFER: usize = 4;
const SMALL_BUFFER: usize = 1024;

const PINGPONG_ABOUT: &str = "a request-response service of `[u8; 16]` to a forked \
    child: the client `send_copy`s a request and polls its pending response, the server polls \
    `receive` and answers with `send_copy` (both yield the CPU between polls)";
const EVENT_ABOUT: &str = "two event services (`event()`, a `Notifier` and a `Listener` on \
    each side): the parent `notify`s on the first and waits on the second \
    (`Listener::timed_wait`, blocking), the forked child waits on the first and notifies on the \
    second";
const BYTES_ABOUT: &str = "a publish-subscribe service of `[u8]` slices to a forked \
    child: the parent loans each message (`loan_slice_uninit`) and writes it in place \
    (`write_from_slice`), the child reads it in place and checks its length, number and last \
    byte; overflow off (the publisher waits for room, subscriber buffer 4), acknowledgement on \
    a second service";
const SMALL_ABOUT: &str = "a publish-subscribe service of `u64` (`send_copy`, \
    subscriber buffer 1024, overflow off) from the parent to one forked consumer, which polls, \
    checks count and sum and answers on a second service; items per second from the first \
    send to the answer (1 → 1, parent as producer)";
const BIG_ABOUT: &str = "the same publish-subscribe service of 1 MiB `[u8]` loans \
    (zero-copy: written in place by the parent, read in place by the consumer, which checks \
    each item's length, number and last byte)";

/// The crate's name: its sides' and its column's.
const NAME: &str = "iceoryx2";

pub(crate) const PINGPONG_PEER: Peer = Peer {
    name: NAME,
    about: PINGPONG_ABOUT,
    side: pingpong,
};

pub(crate) const EVENT_PEER: Peer = Peer {
    name: NAME,
    about: EVENT_ABOUT,
    side: event_pingpong,
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

/// Polls `poll` until it yields a value, yielding the CPU between misses; fails after
/// [`PATIENCE`].
fn wait_for<T>(mut poll: impl FnMut() -> Result<Option<T>, Error>) -> Result<T, Error> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(value) = poll()? {
            return Ok(value);
        }
        if Instant::now() > deadline {
            return Err(fail("iceoryx2: nothing arrived in time"));
        }
        std::thread::yield_now();
    }
}

/// Sends with `send` until it reaches a receiver (it returns how many it reached). A port only
/// connects to the other side's at its first send after that side appeared, so the first
/// message can reach nobody even though the receiver is already registered; it is sent again
/// rather than lost.
fn deliver(mut send: impl FnMut() -> Result<usize, Error>) -> Result<(), Error> {
    wait_for(|| Ok((send()? > 0).then_some(())))
}

/// A node of this process, with the crate's warnings (no config file: defaults) silenced.
fn node() -> Result<Node<ipc::Service>, Error> {
    set_log_level(LogLevel::Error);
    Ok(NodeBuilder::new().create::<ipc::Service>()?)
}

fn service_name(name: &str) -> Result<ServiceName, Error> {
    Ok(name.try_into()?)
}

/// The echo server: answers `total` requests with their own payload.
fn serve_echo(name: &str, total: u64) -> Result<(), Error> {
    let node = node()?;
    let service = node
        .service_builder(&service_name(name)?)
        .request_response::<Small, Small>()
        .open_or_create()?;
    let server = service.server_builder().create()?;
    for _ in 0..total {
        let request = wait_for(|| Ok(server.receive()?))?;
        let payload = *request.payload();
        request.send_copy(payload)?;
    }
    Ok(())
}

pub(crate) fn pingpong(sizes: &Sizes) -> Result<Outcome, Error> {
    let name = unique_name();
    let rounds = sizes.pingpong;
    let total = rounds * u64::from(sizes.total_runs());
    let child = fork_child(|| serve_echo(&name, total))?;
    let result = pingpong_client(sizes, &name, rounds);
    let waited = wait_ok(child);
    let samples = result?;
    waited?;
    Ok(Outcome::Measured(Measured::new(samples)))
}

fn pingpong_client(sizes: &Sizes, name: &str, rounds: u64) -> Result<Vec<f64>, Error> {
    let node = node()?;
    let service = node
        .service_builder(&service_name(name)?)
        .request_response::<Small, Small>()
        .open_or_create()?;
    let client = service.client_builder().create()?;
    wait_for(|| Ok((service.dynamic_config().number_of_servers() > 0).then_some(())))?;
    let message = [7u8; 16];
    repeat(sizes, || {
        let start = Instant::now();
        for _ in 0..rounds {
            let pending = wait_for(|| {
                let pending = client.send_copy(message)?;
                Ok((pending.number_of_server_connections() > 0).then_some(pending))
            })?;
            let response = wait_for(|| Ok(pending.receive()?))?;
            if *response.payload() != message {
                return Err(fail("the echo came back changed"));
            }
        }
        Ok(secs_since(start) * 1e6 / float(rounds))
    })
}

/// A publish-subscribe service `name` of `u64`, created or opened with overflow off.
fn pubsub_u64(
    node: &Node<ipc::Service>,
    name: &str,
    buffer: usize,
) -> Result<publish_subscribe::PortFactory<ipc::Service, u64, ()>, Error> {
    Ok(node
        .service_builder(&service_name(name)?)
        .publish_subscribe::<u64>()
        .enable_safe_overflow(false)
        .subscriber_max_buffer_size(buffer)
        .open_or_create()?)
}

/// A publish-subscribe service `name` of byte slices, created or opened with overflow off.
fn pubsub_bytes(
    node: &Node<ipc::Service>,
    name: &str,
    buffer: usize,
) -> Result<publish_subscribe::PortFactory<ipc::Service, [u8], ()>, Error> {
    Ok(node
        .service_builder(&service_name(name)?)
        .publish_subscribe::<[u8]>()
        .enable_safe_overflow(false)
        .subscriber_max_buffer_size(buffer)
        .open_or_create()?)
}

/// The names of a one-way figure's two services: data to the child, answers back.
struct Names {
    data: String,
    answer: String,
}

impl Names {
    fn new() -> Self {
        Self {
            data: unique_name(),
            answer: unique_name(),
        }
    }
}

/// Waits until the child's subscriber is on `service`, so that nothing is sent before it.
fn wait_for_subscriber<T: ?Sized + IceoryxSend + std::fmt::Debug>(
    service: &publish_subscribe::PortFactory<ipc::Service, T, ()>,
) -> Result<(), Error> {
    wait_for(|| Ok((service.dynamic_config().number_of_subscribers() > 0).then_some(())))
}

/// The child of a one-way bytes figure: per run, `count` items of `size` bytes read in place
/// and checked, then the count answered.
fn bytes_sink(names: &Names, size: usize, count: u64, runs: u32) -> Result<(), Error> {
    let node = node()?;
    let answers = pubsub_u64(&node, &names.answer, 1)?
        .publisher_builder()
        .create()?;
    let data = pubsub_bytes(&node, &names.data, BIG_BUFFER)?;
    let subscriber = data.subscriber_builder().create()?;
    for _ in 0..runs {
        for index in 0..count {
            let sample = wait_for(|| Ok(subscriber.receive()?))?;
            check_item(sample.payload(), size, index)?;
        }
        deliver(|| Ok(answers.send_copy(count)?))?;
    }
    Ok(())
}

/// One-way bytes: `count` loaned messages of `size` bytes per run. Bytes per second.
fn bytes(sizes: &Sizes, size: usize, count: u64) -> Result<Outcome, Error> {
    let names = Names::new();
    let runs = sizes.total_runs();
    let child = fork_child(|| bytes_sink(&names, size, count, runs))?;
    let result = bytes_source(sizes, &names, size, count);
    let waited = wait_ok(child);
    let samples = result?;
    waited?;
    Ok(Outcome::Measured(Measured::new(samples)))
}

fn bytes_source(sizes: &Sizes, names: &Names, size: usize, count: u64) -> Result<Vec<f64>, Error> {
    let node = node()?;
    let answers = pubsub_u64(&node, &names.answer, 1)?
        .subscriber_builder()
        .create()?;
    let data = pubsub_bytes(&node, &names.data, BIG_BUFFER)?;
    let publisher = data
        .publisher_builder()
        .initial_max_slice_len(size)
        .create()?;
    wait_for_subscriber(&data)?;
    let mut message = vec![7u8; size];
    repeat(sizes, || {
        let start = Instant::now();
        for index in 0..count {
            stamp(&mut message, index);
            deliver(|| {
                Ok(publisher
                    .loan_slice_uninit(size)?
                    .write_from_slice(&message)
                    .send()?)
            })?;
        }
        if *wait_for(|| Ok(answers.receive()?))?.payload() != count {
            return Err(fail("the child acknowledged a wrong count"));
        }
        Ok(float(count * u64::try_from(size)?) / secs_since(start))
    })
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

/// The consumer of small items: per run, `count` items summed, the sum answered.
fn small_consumer(names: &Names, count: u64, runs: u32) -> Result<(), Error> {
    let node = node()?;
    let answers = pubsub_u64(&node, &names.answer, 1)?
        .publisher_builder()
        .create()?;
    let items = pubsub_u64(&node, &names.data, SMALL_BUFFER)?
        .subscriber_builder()
        .create()?;
    for _ in 0..runs {
        let mut sum = 0u64;
        for _ in 0..count {
            sum = sum.wrapping_add(*wait_for(|| Ok(items.receive()?))?.payload());
        }
        deliver(|| Ok(answers.send_copy(sum)?))?;
    }
    Ok(())
}

/// Small items 1 → 1: the parent publishes `0..N`, the child sums them and answers the sum.
pub(crate) fn small(sizes: &Sizes) -> Result<Outcome, Error> {
    let names = Names::new();
    let (count, runs) = (sizes.queue_items, sizes.total_runs());
    let child = fork_child(|| small_consumer(&names, count, runs))?;
    let result = small_producer(sizes, &names, count);
    let waited = wait_ok(child);
    let samples = result?;
    waited?;
    Ok(Outcome::Measured(Measured::new(samples)))
}

fn small_producer(sizes: &Sizes, names: &Names, count: u64) -> Result<Vec<f64>, Error> {
    let node = node()?;
    let answers = pubsub_u64(&node, &names.answer, 1)?
        .subscriber_builder()
        .create()?;
    let data = pubsub_u64(&node, &names.data, SMALL_BUFFER)?;
    let publisher = data.publisher_builder().create()?;
    wait_for_subscriber(&data)?;
    repeat(sizes, || {
        let start = Instant::now();
        for item in 0..count {
            deliver(|| Ok(publisher.send_copy(item)?))?;
        }
        if *wait_for(|| Ok(answers.receive()?))?.payload() != sum_below(count) {
            return Err(fail("the consumer got a wrong sum"));
        }
        Ok(float(count) / secs_since(start))
    })
}

/// An event service `name`, created or opened.
fn event(
    node: &Node<ipc::Service>,
    name: &str,
) -> Result<::iceoryx2::service::port_factory::event::PortFactory<ipc::Service>, Error> {
    Ok(node
        .service_builder(&service_name(name)?)
        .event()
        .open_or_create()?)
}

/// Blocks until `listener` is notified (at most [`PATIENCE`]).
fn wait_notified(
    listener: &::iceoryx2::port::listener::Listener<ipc::Service>,
) -> Result<(), Error> {
    if listener.timed_wait(|_| {}, PATIENCE)? > 0 {
        Ok(())
    } else {
        Err(fail("iceoryx2: no notification in time"))
    }
}

/// The child of the event ping-pong: `total` times, wait for a ping, notify a pong.
fn event_pong(names: &Names, total: u64) -> Result<(), Error> {
    let node = node()?;
    let reply = event(&node, &names.answer)?.notifier_builder().create()?;
    let turn = event(&node, &names.data)?.listener_builder().create()?;
    for _ in 0..total {
        wait_notified(&turn)?;
        deliver(|| Ok(reply.notify()?))?;
    }
    Ok(())
}

/// Round trips of a notification through two event services, in µs.
pub(crate) fn event_pingpong(sizes: &Sizes) -> Result<Outcome, Error> {
    let names = Names::new();
    let rounds = sizes.pingpong;
    let total = rounds * u64::from(sizes.total_runs());
    let child = fork_child(|| event_pong(&names, total))?;
    let result = event_ping(sizes, &names, rounds);
    let waited = wait_ok(child);
    let samples = result?;
    waited?;
    Ok(Outcome::Measured(Measured::new(samples)))
}

fn event_ping(sizes: &Sizes, names: &Names, rounds: u64) -> Result<Vec<f64>, Error> {
    let node = node()?;
    let reply = event(&node, &names.answer)?.listener_builder().create()?;
    let turn = event(&node, &names.data)?.notifier_builder().create()?;
    repeat(sizes, || {
        let start = Instant::now();
        for _ in 0..rounds {
            deliver(|| Ok(turn.notify()?))?;
            wait_notified(&reply)?;
        }
        Ok(secs_since(start) * 1e6 / float(rounds))
    })
}
