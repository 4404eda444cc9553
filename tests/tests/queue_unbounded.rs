//! An unbounded queue (no `maxsize`) is unbounded: a `put` never waits for consumers, however
//! much the ring is outgrown, so a child that puts more than the ring holds and is joined
//! before anyone gets does not deadlock (Python's pitfall, #15 finding 10). What the ring
//! cannot take goes to the queue's overflow; order, crash safety, memory and the checks on
//! what a peer wrote hold there as in the ring.

#![allow(
    clippy::needless_pass_by_value,
    reason = "process targets take their arguments by value: they arrive deserialized"
)]
#![allow(
    clippy::cast_possible_truncation,
    reason = "test patterns are numbers taken modulo 256"
)]

use std::fs::File;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::time::{Duration, Instant};

use integration_tests::{METHODS, TIMEOUT, procs};
use mproc::codec::Fd;
use mproc::prelude::*;

/// Puts `count` items of `len` bytes (at least 8), item `i` starting with `i`.
fn put_numbered((q, count, len): (Queue<Vec<u8>>, u64, usize)) -> Result<(), String> {
    for i in 0..count {
        q.put(&numbered(i, len)).map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn numbered(i: u64, len: usize) -> Vec<u8> {
    let mut bytes = vec![i as u8; len.max(8)];
    bytes[..8].copy_from_slice(&i.to_le_bytes());
    bytes
}

/// A child puts `count` items of `len` bytes into `q` and is joined (within the bound) before
/// anything is taken; then every item comes out, in order.
fn put_all_then_join(q: &Queue<Vec<u8>>, count: u64, len: usize) {
    for method in METHODS {
        let child = Process::new(put_numbered, (q.clone(), count, len))
            .start_method(method)
            .start()
            .unwrap();
        procs::join(&child).unwrap().unwrap();
        assert_eq!(q.qsize() as u64, count, "{method:?}");
        for i in 0..count {
            let got = q.try_get().unwrap();
            assert!(
                got == numbered(i, len),
                "{method:?}: item {i} of {len} bytes"
            );
        }
        assert!(matches!(q.try_get(), Err(QueueError::Empty)));
    }
}

/// Python's pitfall, which mproc must not have: 60 MiB in 1 MiB items (the ring holds 4 MiB).
#[test]
fn a_child_puts_60_mib_and_is_joined_before_anyone_gets() {
    put_all_then_join(&Queue::new().unwrap(), 60, 1 << 20);
}

/// The same with a million 16-byte items (16 MiB of payload, 32 MiB of records).
#[test]
fn a_child_puts_a_million_small_items_and_is_joined_before_anyone_gets() {
    put_all_then_join(&Queue::new().unwrap(), 1_000_000, 16);
}

/// Items larger than half the ring (which travel beside it) are not limited in number either:
/// more than a side socket's buffer holds (a few thousand), joined before anyone gets.
#[test]
fn a_child_puts_thousands_of_items_larger_than_the_ring_and_is_joined_before_anyone_gets() {
    let q = Queue::builder().ring_bytes(4096).build().unwrap();
    put_all_then_join(&q, 8000, 3000);
}

/// Item `seq`: its number, 0 to 3 KB (sizes that fit the 4 KiB test ring and sizes that do
/// not), and a descriptor every 13th.
type Item = (u64, Vec<u8>, Option<Fd>);

fn item(seq: u64) -> Item {
    let len = (seq * 419 % 3001) as usize;
    let fd = (seq % 13 == 12)
        .then(|| Fd::from(std::os::fd::OwnedFd::from(File::open("/dev/null").unwrap())));
    (seq, vec![(seq * 7) as u8; len], fd)
}

fn check(got: &Item, seq: u64) {
    let (want_seq, want_bytes, want_fd) = item(seq);
    assert_eq!(got.0, want_seq, "items in order, none skipped");
    assert!(got.1 == want_bytes, "item {seq} intact");
    assert_eq!(
        got.2.is_some(),
        want_fd.is_some(),
        "item {seq}'s descriptor"
    );
}

/// In one process: bursts of puts (the ring overflows) and of gets (the overflow drains, and
/// puts go back to the ring), the items checked in order throughout.
#[test]
fn order_is_kept_across_ring_overflow_ring() {
    let q = Queue::<Item>::builder().ring_bytes(4096).build().unwrap();
    let (mut put, mut got) = (0, 0);
    for burst in 0..60u64 {
        for _ in 0..(burst * 17 % 41) {
            q.try_put(&item(put)).unwrap();
            put += 1;
        }
        for _ in 0..(burst * 23 % 37).min(put - got) {
            check(&q.try_get().unwrap(), got);
            got += 1;
        }
    }
    while got < put {
        check(&q.try_get().unwrap(), got);
        got += 1;
    }
    assert!(matches!(q.try_get(), Err(QueueError::Empty)));
    assert!(put > 500);
}

fn put_items((q, count): (Queue<Item>, u64)) {
    for seq in 0..count {
        q.put(&item(seq)).unwrap();
    }
}

/// A child producer and this process consuming at the same time: the producer runs ahead
/// (into the overflow) and the consumer catches up (back to the ring), at whatever points the
/// scheduler picks; order holds throughout.
#[test]
fn order_is_kept_between_processes() {
    const ITEMS: u64 = 5000;
    for method in METHODS {
        let q = Queue::<Item>::builder().ring_bytes(4096).build().unwrap();
        let child = Process::new(put_items, (q.clone(), ITEMS))
            .start_method(method)
            .start()
            .unwrap();
        for seq in 0..ITEMS {
            check(&q.get_timeout(TIMEOUT).unwrap(), seq);
        }
        procs::join(&child).unwrap();
        assert!(q.is_empty());
    }
}

fn kill(child: &Child<impl serde::de::DeserializeOwned>) {
    child.kill().unwrap();
    let status = child.handle().wait_timeout(TIMEOUT).unwrap();
    assert_eq!(status.signal(), Some(9));
}

/// Puts items 0, 1, 2... counting in `done` each put that returned, until killed.
fn produce_forever((q, done): (Queue<Item>, Value<u64>)) {
    for seq in 0.. {
        q.put(&item(seq)).unwrap();
        done.fetch_add(1);
    }
}

/// A producer killed while it puts into the overflow (nobody consumes, and the 4 KiB ring
/// holds a handful of items): everything acknowledged is there, in order, the put in
/// progress whole or not at all, and the next producer is not blocked.
#[test]
fn a_producer_killed_while_putting_into_the_overflow_loses_nothing_acknowledged() {
    for method in METHODS {
        for round in 0..4u64 {
            let q = Queue::<Item>::builder().ring_bytes(4096).build().unwrap();
            let done = Value::new(0u64).unwrap();
            let child = Process::new(produce_forever, (q.clone(), done.clone()))
                .start_method(method)
                .start()
                .unwrap();
            let deadline = Instant::now() + TIMEOUT;
            while done.get() < 50 + round * 97 {
                assert!(Instant::now() < deadline, "the producer stalled");
                std::thread::yield_now();
            }
            kill(&child);
            let acknowledged = done.get();
            let mut next = 0;
            while let Ok(got) = q.try_get() {
                check(&got, next);
                next += 1;
            }
            assert!(
                (acknowledged..=acknowledged + 1).contains(&next),
                "{method:?} round {round}: {next} delivered, {acknowledged} acknowledged"
            );
            q.put_timeout(&item(next), TIMEOUT).unwrap();
            check(&q.get_timeout(TIMEOUT).unwrap(), next);
            if let Ok(again) = q.try_get() {
                assert_eq!(
                    acknowledged, next,
                    "only an unacknowledged put completes late"
                );
                check(&again, next);
            }
            assert!(q.is_empty());
        }
    }
}

/// Takes items, checking each, counting in `taken` each get that returned, until killed.
fn consume_forever((q, taken): (Queue<Item>, Value<u64>)) {
    for seq in 0.. {
        let got = q.get().unwrap();
        check(&got, seq);
        taken.fetch_add(1);
    }
}

/// A consumer killed while it reads the overflow (the ring holds a handful of the items put
/// beforehand): the next consumer gets the rest, from the first item the dead one did not
/// return or the one after.
#[test]
fn a_consumer_killed_while_reading_the_overflow_blocks_nobody() {
    const ITEMS: u64 = 600;
    for method in METHODS {
        for round in 0..3u64 {
            let q = Queue::<Item>::builder().ring_bytes(4096).build().unwrap();
            for seq in 0..ITEMS {
                q.try_put(&item(seq)).unwrap();
            }
            let taken = Value::new(0u64).unwrap();
            let consumer = Process::new(consume_forever, (q.clone(), taken.clone()))
                .start_method(method)
                .start()
                .unwrap();
            let deadline = Instant::now() + TIMEOUT;
            while taken.get() < 40 + round * 150 {
                assert!(Instant::now() < deadline, "the consumer stalled");
                std::thread::yield_now();
            }
            kill(&consumer);
            let returned = taken.get();
            let first = q.get_timeout(TIMEOUT).unwrap();
            assert!(
                first.0 == returned || first.0 == returned + 1,
                "{method:?}: first item {} after {returned} returned",
                first.0
            );
            check(&first, first.0);
            for seq in first.0 + 1..ITEMS {
                check(&q.get_timeout(TIMEOUT).unwrap(), seq);
            }
            assert!(matches!(q.try_get(), Err(QueueError::Empty)));
            // Usable: through the ring and the overflow again.
            for seq in 0..100 {
                q.try_put(&item(seq)).unwrap();
            }
            for seq in 0..100 {
                check(&q.try_get().unwrap(), seq);
            }
        }
    }
}

/// A bounded queue still waits: for a slot when `maxsize` items are in, and for room when
/// its ring is full (it has no overflow to go to).
#[test]
fn a_bounded_queue_still_waits_when_full() {
    let q = Queue::<u64>::bounded(3).unwrap();
    for i in 0..3 {
        q.try_put(&i).unwrap();
    }
    let short = Duration::from_millis(20);
    assert!(matches!(q.put_timeout(&3, short), Err(QueueError::Full)));
    assert!(q.is_full());
    let q = Queue::<Vec<u8>>::builder()
        .ring_bytes(4096)
        .maxsize(1000)
        .build()
        .unwrap();
    let mut n = 0;
    while q.try_put(&vec![1; 100]).is_ok() {
        n += 1;
        assert!(n < 100, "a 4 KiB ring takes about 36 such items");
    }
    assert!(matches!(
        q.put_timeout(&vec![1; 100], short),
        Err(QueueError::Full)
    ));
    assert!(!q.is_full(), "maxsize is not reached: the ring is");
    assert_eq!(q.qsize(), n);
}

/// The overflow memfd of this process whose first record holds `marker`.
fn overflow_with(marker: &[u8]) -> File {
    for entry in std::fs::read_dir("/proc/self/fd").unwrap() {
        let path = entry.unwrap().path();
        let Ok(target) = std::fs::read_link(&path) else {
            continue; // the directory's own descriptor, closed by now
        };
        if !target
            .to_string_lossy()
            .starts_with("/memfd:mproc-queue-overflow")
        {
            continue;
        }
        let Ok(file) = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
        else {
            continue;
        };
        let mut head = [0; 64];
        let n = file.read_at(&mut head, 0).unwrap_or(0);
        if head[..n].windows(marker.len()).any(|w| w == marker) {
            return file;
        }
    }
    panic!("no overflow holds the marker");
}

/// A marker no other queue of this test binary holds.
fn marker() -> Vec<u8> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let mut m = b"mark".to_vec();
    m.extend_from_slice(&nanos.to_le_bytes());
    m
}

/// The overflow's memory comes back as consumers pass it: after a drain, at most a page.
#[test]
fn the_overflow_gives_its_memory_back_once_drained() {
    let q = Queue::<Vec<u8>>::builder()
        .ring_bytes(64 << 10)
        .build()
        .unwrap();
    let mark = marker();
    // 16 KiB items, each starting with the marker: records in the ring, then in the overflow.
    let mut bytes = vec![0xA5; 16 << 10];
    bytes[..mark.len()].copy_from_slice(&mark);
    for _ in 0..1200 {
        q.try_put(&bytes).unwrap();
    }
    let overflow = overflow_with(&mark);
    let resident = || overflow.metadata().unwrap().blocks() * 512;
    assert!(
        resident() >= 16 << 20,
        "{} bytes in the overflow",
        resident()
    );
    for _ in 0..1200 {
        q.try_get().unwrap();
    }
    assert!(matches!(q.try_get(), Err(QueueError::Empty)));
    assert!(
        resident() <= 4096,
        "{} bytes left in the overflow",
        resident()
    );
}
