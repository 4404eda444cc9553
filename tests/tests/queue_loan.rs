//! Loans on a `Queue<ByteBuf>`: `put_with` writes an item straight into the ring, `get_with`
//! reads one in place. Loaned items are ordinary `ByteBuf` items (either side may use `put` or
//! `get`), items too large for the ring still travel, a producer killed in the middle of its
//! `fill` puts nothing and blocks no one, and bytes read in place stay intact when the process
//! that wrote them is killed.

#![allow(
    clippy::needless_pass_by_value,
    reason = "process targets take their arguments by value: they arrive deserialized"
)]
#![allow(
    clippy::cast_possible_truncation,
    reason = "test patterns are numbers taken modulo 256"
)]

use integration_tests::{METHODS, TIMEOUT};
use mproc::codec::ByteBuf;
use mproc::prelude::*;

/// Item `seq`'s `len` bytes: its number in the first eight (when they fit), then a pattern.
fn pattern(seq: u64, len: usize, buf: &mut [u8]) {
    assert_eq!(buf.len(), len, "fill gets exactly the bytes asked for");
    for (i, b) in buf.iter_mut().enumerate() {
        *b = (seq as usize * 31 + i * 7) as u8;
    }
    if len >= 8 {
        buf[..8].copy_from_slice(&seq.to_le_bytes());
    }
}

fn expected(seq: u64, len: usize) -> Vec<u8> {
    let mut buf = vec![0; len];
    pattern(seq, len, &mut buf);
    buf
}

/// Sizes around the prefix's steps, a MiB, and more than half the 4 MiB ring (filled beside
/// it and put as `put` would).
const LENS: [usize; 7] = [0, 1, 127, 128, 16_384, 1 << 20, 3 << 20];

#[test]
fn loaned_items_are_byte_bufs_both_ways() {
    let q = Queue::<ByteBuf>::new().unwrap();
    for (seq, len) in (0..).zip(LENS) {
        q.put_with_timeout(len, |buf| pattern(seq, len, buf), TIMEOUT)
            .unwrap();
        assert_eq!(
            q.get_timeout(TIMEOUT).unwrap().0,
            expected(seq, len),
            "{len}"
        );
        q.put(&ByteBuf(expected(seq, len))).unwrap();
        let read = q.get_with_timeout(|bytes| bytes == expected(seq, len), TIMEOUT);
        assert!(read.unwrap(), "{len}: read in place as put");
        q.put_with_timeout(len, |buf| pattern(seq, len, buf), TIMEOUT)
            .unwrap();
        let read = q.get_with_timeout(<[u8]>::to_vec, TIMEOUT).unwrap();
        assert_eq!(read, expected(seq, len), "{len}: loaned both ways");
    }
    assert!(matches!(q.try_get(), Err(QueueError::Empty)));
}

#[test]
fn loans_keep_order_and_wait_bounded() {
    let q = Queue::<ByteBuf>::builder()
        .ring_bytes(64 << 10)
        .maxsize(4)
        .build()
        .unwrap();
    for seq in 0..4 {
        q.put_with(1000, |buf| pattern(seq, 1000, buf)).unwrap();
    }
    let full = q.put_with_timeout(1000, |_| {}, std::time::Duration::ZERO);
    assert!(matches!(full, Err(QueueError::Full)), "{full:?}");
    for seq in 0..4 {
        let got = q.get_with_timeout(|b| b == expected(seq, 1000), TIMEOUT);
        assert!(got.unwrap(), "item {seq} in order");
    }
    let empty = q.get_with_timeout(|_| (), std::time::Duration::ZERO);
    assert!(matches!(empty, Err(QueueError::Empty)), "{empty:?}");
}

#[test]
fn a_fill_that_panics_puts_nothing_and_leaves_the_queue_working() {
    let q = Queue::<ByteBuf>::new().unwrap();
    let panicked = std::panic::catch_unwind(|| {
        let _ = q.put_with(100, |_| panic!("fill failed"));
    });
    assert!(panicked.is_err());
    assert!(q.is_empty());
    q.put_with(3, |buf| buf.copy_from_slice(b"abc")).unwrap();
    assert_eq!(q.get_timeout(TIMEOUT).unwrap().0, b"abc");
}

/// Puts `count` loaned items of `len` bytes, numbered from 0.
fn produce((q, count, len): (Queue<ByteBuf>, u64, usize)) {
    for seq in 0..count {
        q.put_with_timeout(len, |buf| pattern(seq, len, buf), TIMEOUT)
            .unwrap();
    }
}

#[test]
fn loaned_items_cross_processes_under_every_method() {
    for method in METHODS {
        let q = Queue::<ByteBuf>::new().unwrap();
        let len = 256 << 10;
        let child = Process::new(produce, (q.clone(), 40, len))
            .start_method(method)
            .start()
            .unwrap();
        for seq in 0..40 {
            let intact = q.get_with_timeout(|b| b == expected(seq, len), TIMEOUT);
            assert!(intact.unwrap(), "{method}: item {seq}");
        }
        child.join_timeout(TIMEOUT).unwrap();
    }
}

/// Puts items 0 and 1, then starts item 2 and, inside its `fill`, says so and waits until
/// killed.
fn die_filling((q, filling, never): (Queue<ByteBuf>, Event, Event)) {
    for seq in 0..2 {
        q.put_with(4096, |buf| pattern(seq, 4096, buf)).unwrap();
    }
    let _ = q.put_with(4096, |buf| {
        buf.fill(0xee);
        filling.set();
        let _ = never.wait_timeout(TIMEOUT);
    });
}

fn kill(child: &Child<()>) {
    child.kill().unwrap();
    let status = child.handle().wait_timeout(TIMEOUT).unwrap();
    assert_eq!(status.signal(), Some(9));
}

#[test]
fn a_producer_killed_inside_its_fill_puts_nothing_and_blocks_no_one() {
    for method in METHODS {
        let q = Queue::<ByteBuf>::new().unwrap();
        let (filling, never) = (Event::new().unwrap(), Event::new().unwrap());
        let child = Process::new(die_filling, (q.clone(), filling.clone(), never))
            .start_method(method)
            .start()
            .unwrap();
        assert!(filling.wait_timeout(TIMEOUT).is_ok(), "{method}");
        kill(&child);
        // The producers' lock it held is taken over; its half-written item never appears.
        q.put_with_timeout(5, |buf| buf.copy_from_slice(b"after"), TIMEOUT)
            .unwrap();
        for seq in 0..2 {
            let intact = q.get_with_timeout(|b| b == expected(seq, 4096), TIMEOUT);
            assert!(intact.unwrap(), "{method}: item {seq}");
        }
        assert_eq!(q.get_timeout(TIMEOUT).unwrap().0, b"after", "{method}");
        assert!(q.is_empty(), "{method}");
    }
}

/// Puts one loaned MiB, says so, and waits until killed.
fn put_then_wait((q, put, never): (Queue<ByteBuf>, Event, Event)) {
    q.put_with(1 << 20, |buf| pattern(7, 1 << 20, buf)).unwrap();
    put.set();
    let _ = never.wait_timeout(TIMEOUT);
}

#[test]
fn bytes_read_in_place_stay_intact_when_their_writer_is_killed() {
    for method in METHODS {
        let q = Queue::<ByteBuf>::new().unwrap();
        let (put, never) = (Event::new().unwrap(), Event::new().unwrap());
        let child = Process::new(put_then_wait, (q.clone(), put.clone(), never))
            .start_method(method)
            .start()
            .unwrap();
        assert!(put.wait_timeout(TIMEOUT).is_ok(), "{method}");
        let read = q.get_with_timeout(
            |bytes| {
                kill(&child);
                bytes == expected(7, 1 << 20)
            },
            TIMEOUT,
        );
        assert!(read.unwrap(), "{method}: the bytes outlive their writer");
    }
}
