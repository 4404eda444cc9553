//! Queues between real processes: the put/get matrix, counts, `close`, joinable queues, order
//! and exactly-once delivery under load, large items, handles inside items, and typed errors.

#![allow(
    clippy::needless_pass_by_value,
    reason = "process targets take their arguments by value: they arrive deserialized"
)]
#![allow(
    clippy::cast_possible_truncation,
    reason = "test patterns are numbers taken modulo 256"
)]

use std::collections::BTreeMap;
use std::time::Duration;

use integration_tests::sync_support::wait_parked;
use integration_tests::{METHODS, TIMEOUT, procs};
use mproc::codec::Fd;
use mproc::pipe::{Receiver, Sender};
use mproc::prelude::*;
use mproc::queue::{QueueReader, QueueWriter};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

const SHORT: Duration = Duration::from_millis(20);

fn put_one(q: Queue<u32>, item: u32) -> Result<(), String> {
    q.put(&item).map_err(|e| e.to_string())
}

fn get_one(q: Queue<u32>) -> Result<u32, String> {
    q.get().map_err(|e| e.to_string())
}

#[test]
fn the_put_get_matrix() {
    for method in METHODS {
        let q = Queue::<u32>::bounded(2).unwrap();
        assert!(matches!(q.try_get(), Err(QueueError::Empty)));
        assert!(matches!(q.get_timeout(SHORT), Err(QueueError::Empty)));
        q.put_timeout(&1, TIMEOUT).unwrap();
        q.try_put(&2).unwrap();
        assert!(matches!(q.try_put(&3), Err(QueueError::Full)));
        assert!(matches!(q.put_timeout(&3, SHORT), Err(QueueError::Full)));
        assert_eq!((q.qsize(), q.is_full(), q.is_empty()), (2, true, false));

        // A blocked put in another process completes when this one makes room.
        let putter = Process::new(|q: Queue<u32>| put_one(q, 3), q.clone())
            .start_method(method)
            .start()
            .unwrap();
        wait_parked(putter.pid());
        assert_eq!(q.get_timeout(TIMEOUT).unwrap(), 1);
        procs::join(&putter).unwrap().unwrap();
        assert_eq!(q.try_get().unwrap(), 2);
        assert_eq!(q.get_timeout(TIMEOUT).unwrap(), 3);

        // A blocked get in another process completes when this one puts.
        let getter = Process::new(get_one, q.clone())
            .start_method(method)
            .start()
            .unwrap();
        wait_parked(getter.pid());
        q.put_timeout(&4, TIMEOUT).unwrap();
        assert_eq!(procs::join(&getter).unwrap(), Ok(4));
        assert_eq!((q.qsize(), q.is_empty(), q.is_full()), (0, true, false));
    }
}

#[test]
fn counts_and_limits() {
    let q = Queue::<String>::new().unwrap();
    assert_eq!(q.maxsize(), None);
    for i in 0..1000 {
        q.put_timeout(&i.to_string(), TIMEOUT).unwrap();
    }
    assert_eq!(q.qsize(), 1000);
    assert!(!q.is_full(), "no maxsize: never full");
    assert_eq!(q.get_timeout(TIMEOUT).unwrap(), "0");
    assert_eq!(q.qsize(), 999);
    let b = Queue::<u8>::bounded(3).unwrap();
    assert_eq!(b.maxsize(), Some(3));
    // A ring too small for the items fills before maxsize.
    let small = Queue::<Vec<u8>>::builder()
        .maxsize(100)
        .ring_bytes(4096)
        .build()
        .unwrap();
    let mut n = 0;
    while small.try_put(&vec![7; 1000]).is_ok() {
        n += 1;
    }
    assert!((2..=4).contains(&n), "{n} items of 1000 bytes in 4 KiB");
    assert_eq!(small.qsize(), n);
}

fn drain(q: Queue<u32>) -> Vec<u32> {
    q.iter().map(Result::unwrap).collect()
}

fn close_it(q: Queue<u32>) {
    q.close();
}

#[test]
fn close_ends_the_queue_for_everyone() {
    for method in METHODS {
        let q = Queue::<u32>::new().unwrap();
        // A consumer waiting on an empty queue is released by close, after the items.
        let consumer = Process::new(drain, q.clone())
            .start_method(method)
            .start()
            .unwrap();
        for i in 0..5 {
            q.put_timeout(&i, TIMEOUT).unwrap();
        }
        let closer = Process::new(close_it, q.clone())
            .start_method(method)
            .start()
            .unwrap();
        procs::join(&closer).unwrap();
        assert!(q.is_closed());
        assert!(matches!(q.put(&9), Err(QueueError::Closed)));
        assert!(matches!(q.try_put(&9), Err(QueueError::Closed)));
        assert_eq!(procs::join(&consumer).unwrap(), [0, 1, 2, 3, 4]);
        assert!(matches!(q.get_timeout(TIMEOUT), Err(QueueError::Closed)));
        assert!(matches!(q.try_get(), Err(QueueError::Closed)));
        assert!(q.iter().next().is_none());
    }
    // A producer waiting for room is released by close.
    let q = Queue::<u32>::bounded(1).unwrap();
    q.put_timeout(&1, TIMEOUT).unwrap();
    let putter = Process::new(|q: Queue<u32>| put_one(q, 2), q.clone())
        .start()
        .unwrap();
    wait_parked(putter.pid());
    q.close();
    assert_eq!(
        procs::join(&putter).unwrap(),
        Err("the queue is closed".into())
    );
    assert_eq!(q.get_timeout(TIMEOUT).unwrap(), 1, "what was put stays");
}

fn work((q, out): (JoinableQueue<u32>, Queue<u32>)) {
    for item in &q {
        out.put_timeout(&(item.unwrap() * 2), TIMEOUT).unwrap();
        q.task_done().unwrap();
    }
}

#[test]
fn join_waits_for_every_task_done() {
    for method in METHODS {
        let q = JoinableQueue::<u32>::new().unwrap();
        assert!(matches!(q.task_done(), Err(QueueError::TaskDoneTooMany)));
        q.join_timeout(SHORT).unwrap(); // nothing put: nothing to wait for
        let out = Queue::new().unwrap();
        let workers: Vec<_> = (0..2)
            .map(|_| {
                Process::new(work, (q.clone(), out.clone()))
                    .start_method(method)
                    .daemon(true)
                    .start()
                    .unwrap()
            })
            .collect();
        for i in 0..100 {
            q.put_timeout(&i, TIMEOUT).unwrap();
        }
        q.join_timeout(TIMEOUT).unwrap();
        assert_eq!(q.unfinished(), 0);
        assert_eq!(
            out.qsize(),
            100,
            "every item was handled before join returned"
        );
        let mut doubled: Vec<u32> = (0..100)
            .map(|_| out.get_timeout(TIMEOUT).unwrap())
            .collect();
        doubled.sort_unstable();
        assert_eq!(doubled, (0..100).map(|i| i * 2).collect::<Vec<_>>());
        q.close();
        for w in &workers {
            procs::join(w).unwrap();
        }
        assert!(matches!(q.task_done(), Err(QueueError::TaskDoneTooMany)));
    }
    // join_timeout reports unfinished work.
    let q = JoinableQueue::<u8>::new().unwrap();
    q.put_timeout(&1, TIMEOUT).unwrap();
    assert!(matches!(q.join_timeout(SHORT), Err(QueueError::Timeout)));
    q.get_timeout(TIMEOUT).unwrap();
    q.task_done().unwrap();
    q.join_timeout(TIMEOUT).unwrap();
}

const PRODUCERS: u64 = 3;
const CONSUMERS: usize = 2;
const TOTAL: u64 = 1_000_000;

fn produce((q, id): (QueueWriter<(u8, u64)>, u8)) {
    for n in 0..TOTAL / PRODUCERS {
        q.put_timeout(&(id, n), TIMEOUT).unwrap();
    }
}

/// What one consumer saw: per producer, how many items and their sum; and whether each
/// producer's items came in order.
fn consume(q: QueueReader<(u8, u64)>) -> (BTreeMap<u8, (u64, u64)>, bool) {
    let mut seen = BTreeMap::new();
    let mut last: BTreeMap<u8, u64> = BTreeMap::new();
    let mut in_order = true;
    for item in &q {
        let (id, n) = item.unwrap();
        if last.get(&id).is_some_and(|&prev| prev >= n) {
            in_order = false;
        }
        last.insert(id, n);
        let entry = seen.entry(id).or_insert((0, 0));
        entry.0 += 1;
        entry.1 += n;
    }
    (seen, in_order)
}

#[test]
fn a_million_items_from_three_producers_reach_two_consumers_exactly_once_in_order() {
    for method in METHODS {
        let q = Queue::<(u8, u64)>::new().unwrap();
        let consumers: Vec<_> = (0..CONSUMERS)
            .map(|_| {
                Process::new(consume, q.reader())
                    .start_method(method)
                    .start()
                    .unwrap()
            })
            .collect();
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|id| {
                Process::new(produce, (q.writer(), id as u8))
                    .start_method(method)
                    .start()
                    .unwrap()
            })
            .collect();
        for p in &producers {
            procs::join(p).unwrap();
        }
        q.close();
        let per = TOTAL / PRODUCERS;
        let mut total = BTreeMap::<u8, (u64, u64)>::new();
        for c in &consumers {
            let (seen, in_order) = procs::join(c).unwrap();
            assert!(in_order, "{method:?}: a producer's items out of order");
            for (id, (count, sum)) in seen {
                let t = total.entry(id).or_default();
                t.0 += count;
                t.1 += sum;
            }
        }
        for id in 0..PRODUCERS as u8 {
            assert_eq!(
                total.get(&id),
                Some(&(per, per * (per - 1) / 2)),
                "{method:?}: producer {id}'s items, each exactly once"
            );
        }
    }
}

fn put_pattern((q, sizes): (Queue<Vec<u8>>, Vec<usize>)) {
    for (i, len) in sizes.into_iter().enumerate() {
        q.put_timeout(&pattern(i, len), TIMEOUT).unwrap();
    }
}

fn pattern(seed: usize, len: usize) -> Vec<u8> {
    (0..len)
        .map(|j| (seed * 31 + j * 7 + j / 251) as u8)
        .collect()
}

#[test]
fn large_items_arrive_intact_through_the_ring_and_beside_it() {
    let q = Queue::<Vec<u8>>::builder()
        .ring_bytes(64 << 10)
        .build()
        .unwrap();
    // Around half the ring (32 KiB: larger items travel beside it), then 1 and 16 MiB.
    let sizes = vec![
        0,
        1,
        32_000,
        32 * 1024 - 30,
        32 * 1024 - 10,
        32 * 1024,
        40_000,
        1 << 20,
        16 << 20,
        5,
    ];
    for method in METHODS {
        let producer = Process::new(put_pattern, (q.clone(), sizes.clone()))
            .start_method(method)
            .start()
            .unwrap();
        for (i, &len) in sizes.iter().enumerate() {
            let got = q.get_timeout(TIMEOUT).unwrap();
            assert_eq!(got.len(), len, "{method:?}: item {i}");
            assert!(got == pattern(i, len), "{method:?}: item {i} intact");
        }
        procs::join(&producer).unwrap();
    }
    // The default ring: a 1 MiB item goes through it, a 16 MiB one beside it.
    let q = Queue::<Vec<u8>>::new().unwrap();
    q.put_timeout(&pattern(1, 1 << 20), TIMEOUT).unwrap();
    q.put_timeout(&pattern(2, 16 << 20), TIMEOUT).unwrap();
    assert!(q.get_timeout(TIMEOUT).unwrap() == pattern(1, 1 << 20));
    assert!(q.get_timeout(TIMEOUT).unwrap() == pattern(2, 16 << 20));
}

/// A running child takes handles out of a queue: a lock it must respect, a pipe end to answer
/// on, and another queue.
fn use_handles(q: Queue<(Lock, Sender<u32>, Queue<u32>)>) -> u32 {
    let (lock, reply, inner) = q.get_timeout(TIMEOUT).unwrap();
    let busy = matches!(lock.try_acquire(), Err(LockError::WouldBlock));
    let n = inner.get_timeout(TIMEOUT).unwrap();
    reply.send(&(n + u32::from(busy))).unwrap();
    n
}

#[test]
fn handles_travel_inside_items() {
    for method in METHODS {
        let q = Queue::new().unwrap();
        let child = Process::new(use_handles, q.clone())
            .start_method(method)
            .start()
            .unwrap();
        let lock = Lock::new().unwrap();
        lock.acquire_timeout(TIMEOUT).unwrap();
        let (rx, tx): (Receiver<u32>, Sender<u32>) = Pipe::simplex().unwrap();
        let inner = Queue::new().unwrap();
        inner.put_timeout(&41, TIMEOUT).unwrap();
        q.put_timeout(&(lock.clone(), tx, inner.clone()), TIMEOUT)
            .unwrap();
        assert_eq!(rx.recv_timeout(TIMEOUT).unwrap(), 42, "{method:?}");
        assert_eq!(procs::join(&child).unwrap(), 41);
        // The child's copy of the sending end is gone with it, and no copy lingers in the
        // queue: the reader sees the end of the stream.
        assert!(matches!(rx.recv_timeout(TIMEOUT), Err(PipeError::Eof)));
        lock.release().unwrap();
    }
    // Many items with descriptors waiting at once: small ones in the ring, and ones larger
    // than half the ring (in a memfd beside it).
    let q = Queue::<(Fd, Vec<u8>)>::builder()
        .ring_bytes(64 << 10)
        .build()
        .unwrap();
    let sizes: Vec<usize> = (0..200)
        .map(|i| i % 50)
        .chain((0..30).map(|i| 40_000 + i * 999))
        .collect();
    for (i, &len) in sizes.iter().enumerate() {
        let file: std::os::fd::OwnedFd = std::fs::File::open("/dev/null").unwrap().into();
        let item = (Fd::from(file), vec![i as u8; len]);
        q.put_timeout(&item, TIMEOUT).unwrap();
    }
    for (i, &len) in sizes.iter().enumerate() {
        let (_fd, bytes) = q.get_timeout(TIMEOUT).unwrap();
        assert_eq!(bytes, vec![i as u8; len]);
    }
    assert!(q.is_empty());
}

/// Serializes only numbers below 100.
#[derive(Debug, PartialEq)]
struct Picky(u32);

impl Serialize for Picky {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0 >= 100 {
            return Err(serde::ser::Error::custom("too big for Picky"));
        }
        s.serialize_u32(self.0)
    }
}

impl<'de> Deserialize<'de> for Picky {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = u32::deserialize(d)?;
        if n == 13 {
            return Err(serde::de::Error::custom("13 is refused on the way out"));
        }
        Ok(Picky(n))
    }
}

/// Forges a queue handle from other descriptors.
#[derive(Debug)]
enum Probe {
    Forged(Fd, Fd, Fd),
    Other(Queue<String>),
    Received,
}

impl Serialize for Probe {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Probe::Forged(a, b, c) => (a, b, c).serialize(s),
            Probe::Other(q) => q.serialize(s),
            Probe::Received => unreachable!("never sent"),
        }
    }
}

impl<'de> Deserialize<'de> for Probe {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Queue::<u64>::deserialize(d).map(|_| Probe::Received)
    }
}

fn devnull() -> Fd {
    Fd::from(std::os::fd::OwnedFd::from(
        std::fs::File::open("/dev/null").unwrap(),
    ))
}

#[test]
fn errors_are_typed_and_lose_nothing() {
    let q = Queue::<Picky>::new().unwrap();
    q.put_timeout(&Picky(1), TIMEOUT).unwrap();
    let err = q.put_timeout(&Picky(500), TIMEOUT).unwrap_err();
    assert!(matches!(err, QueueError::Encode(_)), "{err}");
    assert!(format!("{err:?}").contains("too big for Picky"));
    q.put_timeout(&Picky(13), TIMEOUT).unwrap();
    q.put_timeout(&Picky(2), TIMEOUT).unwrap();
    assert_eq!(q.qsize(), 3, "the failed put put nothing");
    assert_eq!(q.get_timeout(TIMEOUT).unwrap(), Picky(1));
    assert!(matches!(q.get_timeout(TIMEOUT), Err(QueueError::Decode(_))));
    assert_eq!(
        q.get_timeout(TIMEOUT).unwrap(),
        Picky(2),
        "the queue goes on after a bad item"
    );

    let (rx, tx) = Pipe::<Probe>::simplex().unwrap();
    tx.send(&Probe::Forged(devnull(), devnull(), devnull()))
        .unwrap();
    let err = rx.recv_timeout(TIMEOUT).unwrap_err();
    assert!(matches!(err, PipeError::Decode(_)), "{err}");
    tx.send(&Probe::Other(Queue::new().unwrap())).unwrap();
    let err = rx.recv_timeout(TIMEOUT).unwrap_err();
    assert!(
        format!("{err:?}").contains("u64"),
        "a Queue<String> is not a Queue<u64>: {err:?}"
    );
}

#[test]
fn simple_queue_and_halves() {
    let q = SimpleQueue::<String>::new().unwrap();
    assert!(q.is_empty());
    q.put(&"a".into()).unwrap();
    assert!(!q.is_empty());
    // `SimpleQueue::get` has no timed form: in a thread joined within the bound.
    let taker = q.clone();
    let (got, closed) = integration_tests::threads::bounded(move || {
        let got = taker.get();
        taker.close();
        (got, taker.get())
    });
    assert_eq!(got.unwrap(), "a");
    assert!(matches!(closed, Err(QueueError::Closed)));

    let full = Queue::<u8>::new().unwrap();
    let (w, r) = (full.writer(), full.reader());
    w.put_timeout(&1, TIMEOUT).unwrap();
    assert_eq!((r.qsize(), r.is_empty()), (1, false));
    assert_eq!(r.get_timeout(TIMEOUT).unwrap(), 1);
    assert_eq!(r.queue(), &full);
    assert_eq!(full.clone(), full);
    assert_ne!(full, Queue::new().unwrap());
    assert!(format!("{full:?}").contains("qsize: 0"));
}
