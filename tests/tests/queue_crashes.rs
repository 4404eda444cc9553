//! Queues survive SIGKILL: a producer killed right after `put` returned (the item is
//! delivered), killed in the middle of a stream of puts (no torn item, nothing acknowledged
//! lost, the next producer is not blocked), and a consumer killed in the middle of gets (the
//! others go on, at most the item it was taking goes with it).
//!
//! The mid-stream kills land wherever the victim happens to be: copying into the ring,
//! waiting for room while holding the producers' lock, sending a large item's memfd,
//! publishing, decoding. Each test repeats the kill at different points and checks invariants
//! that must hold wherever it landed. (The repair of each exact state is tested on the heap, in
//! the runtime's `queue::tests`.)

#![allow(
    clippy::needless_pass_by_value,
    reason = "process targets take their arguments by value: they arrive deserialized"
)]
#![allow(
    clippy::cast_possible_truncation,
    reason = "test patterns are numbers taken modulo 256"
)]

use std::time::{Duration, Instant};

use integration_tests::{METHODS, TIMEOUT};
use mproc::codec::Fd;
use mproc::prelude::*;

/// A checkable item: its sequence number, bytes derived from it, and sometimes a descriptor.
type Item = (u64, Vec<u8>, Option<Fd>);

/// Item `seq`: every fifth larger than half the ring (travels in a memfd), every seventh with
/// a descriptor, the others 20 KB.
fn item(seq: u64) -> Item {
    let len = if seq % 5 == 4 { 150_000 } else { 20_000 };
    let mut bytes = vec![(seq * 13) as u8; len];
    bytes[..8].copy_from_slice(&seq.to_le_bytes());
    let fd = (seq % 7 == 6).then(|| {
        Fd::from(std::os::fd::OwnedFd::from(
            std::fs::File::open("/dev/null").unwrap(),
        ))
    });
    (seq, bytes, fd)
}

fn check(got: &Item, seq: u64) {
    let (expected_seq, expected_bytes, expected_fd) = item(seq);
    assert_eq!(got.0, expected_seq, "items in order, none skipped");
    assert!(got.1 == expected_bytes, "item {seq} intact");
    assert_eq!(
        got.2.is_some(),
        expected_fd.is_some(),
        "item {seq}'s descriptor"
    );
}

/// A ring of 256 KiB: a dozen 20 KB items fill it, 150 KB ones go beside it.
fn queue() -> Queue<Item> {
    Queue::builder().ring_bytes(256 << 10).build().unwrap()
}

fn kill(child: &Child<impl serde::de::DeserializeOwned>) {
    child.kill().unwrap();
    let status = child.handle().wait_timeout(TIMEOUT).unwrap();
    assert_eq!(status.signal(), Some(9));
}

fn put_then_wait((q, put, never): (Queue<Item>, Event, Event)) {
    for seq in 0..3 {
        q.put(&item(seq * 2 + 4)).unwrap(); // 4 (small), 6 (with a descriptor), 8 (memfd)
    }
    put.set();
    let _ = never.wait_timeout(TIMEOUT);
}

#[test]
fn an_item_whose_put_returned_survives_its_producer_being_killed() {
    for method in METHODS {
        let q = queue();
        let (put, never) = (Event::new().unwrap(), Event::new().unwrap());
        let child = Process::new(put_then_wait, (q.clone(), put.clone(), never))
            .start_method(method)
            .start()
            .unwrap();
        assert!(put.wait_timeout(TIMEOUT).is_ok());
        kill(&child);
        for seq in [4, 6, 8] {
            check(&q.get_timeout(TIMEOUT).unwrap(), seq);
        }
        assert!(q.is_empty());
    }
}

/// Puts items 0, 1, 2... counting in `done` each put that returned, until killed.
fn produce_forever((q, done): (Queue<Item>, Value<u64>)) {
    for seq in 0.. {
        q.put(&item(seq)).unwrap();
        done.fetch_add(1);
    }
}

/// Takes items until `done` reaches `target`.
fn consume_until(q: &Queue<Item>, next: &mut u64, done: &Value<u64>, target: u64) {
    let deadline = Instant::now() + TIMEOUT;
    while done.get() < target {
        assert!(Instant::now() < deadline, "the producer stalled");
        match q.get_timeout(Duration::from_millis(100)) {
            Ok(got) => {
                check(&got, *next);
                *next += 1;
            }
            Err(QueueError::Empty) => {}
            Err(e) => panic!("{e}"),
        }
    }
}

#[test]
fn a_producer_killed_mid_stream_tears_nothing_and_blocks_nobody() {
    for method in METHODS {
        for round in 0..6u64 {
            let q = queue();
            let done = Value::new(0u64).unwrap();
            let child = Process::new(produce_forever, (q.clone(), done.clone()))
                .start_method(method)
                .start()
                .unwrap();
            let mut next = 0;
            if round % 2 == 0 {
                // Kill while this process consumes: the producer is anywhere in `put`.
                consume_until(&q, &mut next, &done, 3 + round * 5);
            } else {
                // Kill once the ring is nearly full: the producer is likely waiting for room,
                // holding the producers' lock (256 KiB hold at most 13 items of 20 KB).
                let deadline = Instant::now() + TIMEOUT;
                while done.get() < 8 + round {
                    assert!(Instant::now() < deadline, "the producer stalled");
                    std::thread::yield_now();
                }
            }
            kill(&child);
            let acknowledged = done.get();
            // Everything acknowledged is there, intact and in order; the put that was in
            // progress is there whole, or not at all.
            while let Ok(got) = q.try_get() {
                check(&got, next);
                next += 1;
            }
            assert!(
                (acknowledged..=acknowledged + 1).contains(&next),
                "{method:?} round {round}: {next} delivered, {acknowledged} acknowledged"
            );
            // The next producer is not blocked by the dead one's lock. (If the dead one was
            // publishing, this put finishes its publication first: its item, `next`, comes
            // before this one, which is the same.)
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

#[test]
fn a_consumer_killed_mid_stream_blocks_nobody() {
    const ITEMS: u64 = 60;
    for method in METHODS {
        for round in 0..3u64 {
            let q = queue();
            let taken = Value::new(0u64).unwrap();
            let consumer = Process::new(consume_forever, (q.clone(), taken.clone()))
                .start_method(method)
                .start()
                .unwrap();
            let producer = {
                let q = q.clone();
                std::thread::spawn(move || {
                    for seq in 0..ITEMS {
                        q.put_timeout(&item(seq), TIMEOUT).unwrap();
                    }
                })
            };
            let target = 5 + round * 11;
            let deadline = Instant::now() + TIMEOUT;
            while taken.get() < target {
                assert!(Instant::now() < deadline, "the consumer stalled");
                std::thread::yield_now();
            }
            kill(&consumer);
            let returned = taken.get();
            // The rest comes here: from the first item the dead consumer did not return, or
            // the one after (the item it was taking may have gone with it).
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
            integration_tests::threads::join(producer).unwrap();
            assert!(q.is_empty());
        }
    }
}

/// Takes one item, says so, and waits to be killed (before its `task_done`).
fn take_one_and_wait((q, took, never): (JoinableQueue<u32>, Event, Event)) {
    q.get_timeout(TIMEOUT).unwrap();
    took.set();
    let _ = never.wait_timeout(TIMEOUT);
}

#[test]
fn join_reports_a_consumer_killed_before_task_done() {
    for method in METHODS {
        let q = JoinableQueue::<u32>::new().unwrap();
        q.put(&1).unwrap();
        q.put(&2).unwrap();
        let (took, never) = (Event::new().unwrap(), Event::new().unwrap());
        let child = Process::new(take_one_and_wait, (q.clone(), took.clone(), never))
            .start_method(method)
            .start()
            .unwrap();
        assert!(took.wait_timeout(TIMEOUT).is_ok());
        let pid = child.pid();
        kill(&child);
        // The other item is taken and done here.
        assert_eq!(q.get_timeout(TIMEOUT).unwrap(), 2);
        q.task_done().unwrap();
        match q.join_timeout(TIMEOUT) {
            Err(QueueError::ConsumerDied {
                pid: dead,
                items: 1,
            }) if dead == pid => {}
            other => panic!("{method:?}: {other:?}"),
        }
        // Reported once: its item now counts as done.
        q.join_timeout(TIMEOUT).unwrap();
        assert_eq!(q.unfinished(), 0);
    }
}
