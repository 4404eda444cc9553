//! The ring on the heap: records, wrapping, limits, and the repairs after a death, simulated by
//! leaving the shared state as a killed process would and naming it as the lock owner.

#![allow(
    clippy::cast_possible_truncation,
    reason = "test rings are a few hundred bytes"
)]

use std::cell::UnsafeCell;
use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::time::{Duration, Instant};

use super::ring::{Body, Bytes, Cache, GetFail, JoinFail, PutFail, Ring, SideRef};
use super::state::{QueueState, RecordHeader, RecordKind, SIDE, record_size};
use crate::sync::atomic::{AtomicU32, AtomicU64};
use crate::sync::park::{Os, Park, Waited};

/// The identity of a process that died holding a lock.
const DEAD: u64 = 0x7FFF_0001;
/// This test's identity.
const ME: u64 = 0x7FFF_0002;

/// Real futexes, and every identity alive but [`DEAD`].
pub(super) struct Park2;

impl Park for Park2 {
    fn wait(word: &AtomicU32, expected: u32, deadline: Option<Instant>) -> Waited {
        Os::wait(word, expected, deadline)
    }
    fn wake(word: &AtomicU32, n: u32) {
        Os::wake(word, n);
    }
    fn wait_low(word: &AtomicU64, expected: u32, deadline: Option<Instant>) -> Waited {
        Os::wait_low(word, expected, deadline)
    }
    fn wake_low(word: &AtomicU64, n: u32) {
        Os::wake_low(word, n);
    }
    fn alive(id: u64) -> bool {
        id != DEAD
    }
    fn spin() {
        std::hint::spin_loop();
    }
}

/// Ring bytes on the heap.
pub(super) struct HeapBytes(Box<[UnsafeCell<u8>]>);

// SAFETY: the ring protocol gives each byte range to one thread at a time (that is what these
// tests check); the cells are only accessed through `Bytes`.
unsafe impl Sync for HeapBytes {}

impl HeapBytes {
    pub(super) fn new(len: usize) -> Self {
        Self((0..len).map(|_| UnsafeCell::new(0)).collect())
    }
}

impl Bytes for HeapBytes {
    unsafe fn write(&self, at: u64, src: &[u8]) {
        for (i, b) in src.iter().enumerate() {
            // SAFETY: in bounds (indexing checks), and ours under the protocol.
            unsafe { *self.0[at as usize + i].get() = *b };
        }
    }

    unsafe fn read<R>(&self, at: u64, len: u64, f: impl FnOnce(&[u8]) -> R) -> R {
        let copy: Vec<u8> = (at..at + len)
            // SAFETY: in bounds (indexing checks), and ours under the protocol.
            .map(|i| unsafe { *self.0[i as usize].get() })
            .collect();
        f(&copy)
    }
}

pub(super) struct Fixture {
    pub(super) st: QueueState,
    pub(super) bytes: HeapBytes,
    cap: u64,
}

impl Fixture {
    pub(super) fn new(cap: u64, maxsize: u64) -> Self {
        Self {
            st: QueueState::on_heap(cap, maxsize),
            bytes: HeapBytes::new(cap as usize),
            cap,
        }
    }

    /// A process's view, with a cache of its own.
    pub(super) fn ring<'a>(&'a self, cache: &'a Cache) -> Ring<'a, HeapBytes, Park2> {
        Ring::new(&self.st, &self.bytes, cache, self.cap, ME)
    }
}

pub(super) fn put(ring: &Ring<'_, HeapBytes, Park2>, bytes: &[u8]) -> Result<(), PutFail<()>> {
    ring.put(Body::Plain(bytes), Some(Instant::now()))
}

pub(super) fn get(ring: &Ring<'_, HeapBytes, Park2>) -> Result<Vec<u8>, GetFail> {
    ring.get(Some(Instant::now()), |item| item.bytes.to_vec())
}

/// Waits (bounded) until a sleeper has armed `word`.
fn wait_armed(word: &AtomicU32) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while word.load(SeqCst) & 1 == 0 {
        assert!(Instant::now() < deadline, "nobody went to sleep");
        std::thread::yield_now();
    }
}

#[test]
fn items_come_out_in_order_across_many_wraps() {
    let f = Fixture::new(256, 0);
    let (pc, cc) = (Cache::default(), Cache::default());
    let (p, c) = (f.ring(&pc), f.ring(&cc));
    let mut expected = std::collections::VecDeque::new();
    let mut next = 0u32;
    for round in 0..2000u32 {
        // Sizes 0..=100 bytes: records of 8..=112, so wraps land everywhere.
        let len = (round * 37 % 101) as usize;
        let item: Vec<u8> = (0..len).map(|i| (next as usize + i) as u8).collect();
        match put(&p, &item) {
            Ok(()) => {
                expected.push_back(item);
                next += 1;
            }
            Err(PutFail::Full) => {
                assert_eq!(get(&c).unwrap(), expected.pop_front().unwrap());
            }
            Err(other) => panic!("{other:?}"),
        }
        assert_eq!(c.count(), expected.len() as u64);
    }
    while let Some(item) = expected.pop_front() {
        assert_eq!(get(&c).unwrap(), item);
    }
    assert_eq!(get(&c), Err(GetFail::Empty));
    assert!(next > 1000, "the ring wrapped many times");
}

#[test]
fn limits_give_full_and_too_large() {
    let f = Fixture::new(128, 2);
    let cache = Cache::default();
    let r = f.ring(&cache);
    assert_eq!(r.max_payload(), 56);
    assert!(matches!(put(&r, &[0; 57]), Err(PutFail::TooLarge)));
    put(&r, &[1]).unwrap();
    put(&r, &[2]).unwrap();
    assert!(matches!(put(&r, &[3]), Err(PutFail::Full)), "maxsize 2");
    assert_eq!(get(&r).unwrap(), [1]);
    put(&r, &[3; 56]).unwrap();
    assert_eq!(get(&r).unwrap(), [2]);
    // 64 bytes free, but the next record would cross the end: 32 bytes of wrap + 64 needed.
    assert!(matches!(put(&r, &[4; 56]), Err(PutFail::Full)));
    assert_eq!(get(&r).unwrap(), [3; 56]);
    put(&r, &[4; 56]).unwrap();
}

#[test]
fn close_refuses_puts_drains_then_reports_closed() {
    let f = Fixture::new(256, 0);
    let cache = Cache::default();
    let r = f.ring(&cache);
    put(&r, b"last").unwrap();
    r.close();
    assert!(matches!(put(&r, b"more"), Err(PutFail::Closed)));
    assert_eq!(get(&r).unwrap(), b"last");
    assert_eq!(get(&r), Err(GetFail::Closed));
    assert_eq!(
        r.get(None, |_| ()),
        Err(GetFail::Closed),
        "no wait when closed"
    );
}

#[test]
fn close_wakes_a_sleeping_consumer() {
    let f = Fixture::new(256, 0);
    std::thread::scope(|s| {
        let waiter = s.spawn(|| {
            let cache = Cache::default();
            let deadline = Instant::now() + Duration::from_secs(30);
            f.ring(&cache).get(Some(deadline), |_| ())
        });
        // Close only once the consumer is asleep (it armed the word).
        wait_armed(&f.st.data_seq);
        f.ring(&Cache::default()).close();
        assert_eq!(waiter.join().unwrap(), Err(GetFail::Closed));
    });
}

#[test]
fn a_thread_producer_and_consumer_move_every_item_once() {
    let f = Fixture::new(1024, 0);
    let n = 20_000u64;
    std::thread::scope(|s| {
        s.spawn(|| {
            let cache = Cache::default();
            let r = f.ring(&cache);
            let deadline = Instant::now() + Duration::from_mins(1);
            for i in 0..n {
                let len = (i % 50) as usize;
                let mut item = i.to_le_bytes().to_vec();
                item.resize(8 + len, 0xAB);
                r.put(Body::<()>::Plain(&item), Some(deadline)).unwrap();
            }
        });
        let cache = Cache::default();
        let r = f.ring(&cache);
        let deadline = Instant::now() + Duration::from_mins(1);
        for i in 0..n {
            let got = r.get(Some(deadline), |item| item.bytes.to_vec()).unwrap();
            assert_eq!(got[..8], i.to_le_bytes());
            assert_eq!(got.len(), 8 + (i % 50) as usize);
            assert!(got[8..].iter().all(|&b| b == 0xAB));
        }
    });
}

#[test]
fn a_producer_killed_while_publishing_has_its_item_published() {
    let f = Fixture::new(256, 0);
    let cache = Cache::default();
    let r = f.ring(&cache);
    put(&r, b"first").unwrap();
    // As if the producer died between arming the marker and storing the counters.
    let (tail, puts) = (f.st.tail.load(Relaxed), f.st.puts.load(Relaxed));
    f.st.pub_tail.store(tail, Relaxed);
    f.st.pub_puts.store(puts, Relaxed);
    f.st.tail.store(0, Relaxed);
    f.st.puts.store(0, Relaxed);
    f.st.write_lock.store(DEAD, Relaxed);
    put(&f.ring(&Cache::default()), b"second").unwrap();
    let c = Cache::default();
    let c = f.ring(&c);
    assert_eq!(c.count(), 2);
    assert_eq!(get(&c).unwrap(), b"first");
    assert_eq!(get(&c).unwrap(), b"second");
}

#[test]
fn a_producer_killed_while_writing_leaves_no_record() {
    let f = Fixture::new(256, 0);
    let cache = Cache::default();
    let r = f.ring(&cache);
    put(&r, b"kept").unwrap();
    // A half-written record past the tail, and the lock held by the dead producer.
    let tail = f.st.tail.load(Relaxed);
    let torn = RecordHeader {
        len: 40,
        kind: RecordKind::Data as u32,
    };
    // SAFETY: in bounds of the 256-byte ring, past the tail: nobody reads it.
    unsafe { f.bytes.write(tail, &torn.to_bytes()) };
    f.st.write_lock.store(DEAD, Relaxed);
    put(&f.ring(&Cache::default()), b"next").unwrap();
    assert_eq!(get(&r).unwrap(), b"kept");
    assert_eq!(get(&r).unwrap(), b"next");
    assert_eq!(get(&r), Err(GetFail::Empty));
}

#[test]
fn a_consumer_killed_before_committing_leaves_the_item() {
    let f = Fixture::new(256, 0);
    let cache = Cache::default();
    let r = f.ring(&cache);
    put(&r, b"one").unwrap();
    f.st.read_lock.store(DEAD, Relaxed);
    assert_eq!(get(&f.ring(&Cache::default())).unwrap(), b"one");
}

#[test]
fn a_consumer_killed_while_committing_has_its_commit_finished() {
    let f = Fixture::new(256, 0);
    let cache = Cache::default();
    let r = f.ring(&cache);
    put(&r, b"one").unwrap();
    put(&r, b"two").unwrap();
    assert_eq!(get(&r).unwrap(), b"one");
    // Rewind to "marker armed, counters not stored yet".
    let (head, gets) = (f.st.head.load(Relaxed), f.st.gets.load(Relaxed));
    f.st.com_head.store(head, Relaxed);
    f.st.com_gets.store(gets, Relaxed);
    f.st.head.store(0, Relaxed);
    f.st.gets.store(0, Relaxed);
    f.st.read_lock.store(DEAD, Relaxed);
    let c = Cache::default();
    let c = f.ring(&c);
    assert_eq!(get(&c).unwrap(), b"two", "`one` is not delivered twice");
    assert_eq!(c.count(), 0);
}

#[test]
fn a_garbage_record_empties_the_queue_with_a_typed_error() {
    let f = Fixture::new(256, 0);
    let cache = Cache::default();
    let r = f.ring(&cache);
    put(&r, b"a").unwrap();
    put(&r, b"b").unwrap();
    // SAFETY: the head record's header, in bounds; this test is its only user.
    unsafe { f.bytes.write(0, &[0xFF; 8]) };
    assert_eq!(get(&r), Err(GetFail::Corrupt));
    assert_eq!(r.count(), 0);
    assert_eq!(r.unfinished(), 0, "joiners are not left waiting");
    put(&r, b"c").unwrap();
    assert_eq!(get(&r).unwrap(), b"c");
    // A length running past the tail.
    put(&r, b"d").unwrap();
    let head = f.st.head.load(Relaxed);
    let long = RecordHeader {
        len: 200,
        kind: RecordKind::Data as u32,
    };
    // SAFETY: as above.
    unsafe { f.bytes.write(head % 256, &long.to_bytes()) };
    assert_eq!(get(&r), Err(GetFail::Corrupt));
    // A side record too short for its sequence number.
    let short = RecordHeader {
        len: 4,
        kind: RecordKind::Data as u32 | SIDE,
    };
    put(&r, b"e").unwrap();
    let head = f.st.head.load(Relaxed);
    // SAFETY: as above.
    unsafe { f.bytes.write(head % 256, &short.to_bytes()) };
    assert_eq!(get(&r), Err(GetFail::Corrupt));
    put(&r, b"f").unwrap();
    assert_eq!(get(&r).unwrap(), b"f");
}

#[test]
fn side_items_carry_their_number_and_a_retake_is_flagged() {
    let f = Fixture::new(256, 0);
    let cache = Cache::default();
    let r = f.ring(&cache);
    let mut sent = Vec::new();
    let mut hook = |seq| {
        sent.push(seq);
        Ok::<(), ()>(())
    };
    r.put(Body::WithSide(b"x", &mut hook), Some(Instant::now()))
        .unwrap();
    r.put(Body::Spilled(&mut hook), Some(Instant::now()))
        .unwrap();
    assert_eq!(sent, [0, 1]);
    let side_of = |ring: &Ring<'_, HeapBytes, Park2>| {
        ring.get(Some(Instant::now()), |item| {
            (item.bytes.to_vec(), item.side)
        })
        .unwrap()
    };
    // A consumer that "dies" after reading the first record (its lock is taken over, nothing
    // committed): the next sees the item flagged.
    let first = r.get(Some(Instant::now()), |item| item.side).unwrap();
    assert_eq!(first.map(|s| s.maybe_taken), Some(false));
    // Undo that commit, as if it had died before it.
    f.st.head.store(0, Relaxed);
    f.st.gets.store(0, Relaxed);
    let (bytes, side) = side_of(&r);
    assert_eq!(bytes, b"x");
    let expected = SideRef {
        seq: 0,
        spilled: false,
        maybe_taken: true,
    };
    assert_eq!(side, Some(expected));
    let (bytes, side) = side_of(&r);
    assert!(bytes.is_empty());
    let expected = SideRef {
        seq: 1,
        spilled: true,
        maybe_taken: false,
    };
    assert_eq!(side, Some(expected));
    // A failing hook puts nothing.
    let mut failing = |_| Err(());
    assert!(matches!(
        r.put(Body::WithSide(b"y", &mut failing), Some(Instant::now())),
        Err(PutFail::Side(()))
    ));
    assert_eq!(get(&r), Err(GetFail::Empty));
}

#[test]
fn task_done_counts_and_join_waits_for_it() {
    let f = Fixture::new(256, 0);
    let cache = Cache::default();
    let r = f.ring(&cache);
    assert!(!r.task_done(), "nothing put yet");
    put(&r, b"a").unwrap();
    put(&r, b"b").unwrap();
    assert!(r.join(Some(Instant::now())).is_err());
    assert!(r.task_done());
    assert_eq!(r.unfinished(), 1);
    std::thread::scope(|s| {
        let joiner = s.spawn(|| {
            let cache = Cache::default();
            let deadline = Instant::now() + Duration::from_secs(30);
            f.ring(&cache).join(Some(deadline)).is_ok()
        });
        wait_armed(&f.st.join_seq);
        assert!(r.task_done());
        assert!(joiner.join().unwrap(), "woken, not timed out");
    });
    assert!(!r.task_done(), "one too many");
    assert!(r.join(None).is_ok());
}

#[test]
fn record_sizes_are_aligned() {
    assert_eq!(record_size(0), 8);
    assert_eq!(record_size(1), 16);
    assert_eq!(record_size(8), 16);
    assert_eq!(record_size(9), 24);
}

#[test]
fn join_reports_a_dead_consumer_once_and_counts_its_items_done() {
    let f = Fixture::new(256, 0);
    let cache = Cache::default();
    let r = f.ring(&cache);
    for item in [b"a", b"b", b"c"] {
        put(&r, item).unwrap();
    }
    // A process that took two items and marked one done, then died.
    let slot = &f.st.consumers[3];
    slot.owner.store(DEAD, SeqCst);
    slot.taken.store(2, SeqCst);
    slot.done.store(1, SeqCst);
    f.st.gets.store(2, SeqCst);
    f.st.done.store(1, SeqCst);
    f.st.head.store(32, SeqCst);
    // This process takes and finishes the third.
    assert_eq!(get(&r).unwrap(), b"c");
    assert!(r.task_done());
    let deadline = Instant::now() + Duration::from_secs(30);
    let got = r.join(Some(deadline));
    assert_eq!(
        got,
        Err(JoinFail::Died {
            pid: 0x7FFF_0001,
            items: 1
        })
    );
    assert_eq!(r.join(Some(deadline)), Ok(()), "reported once");
    assert_eq!(slot.owner.load(SeqCst), 0, "its slot is free again");
    // A dead process with nothing left undone is no news.
    slot.owner.store(DEAD, SeqCst);
    slot.taken.store(5, SeqCst);
    slot.done.store(5, SeqCst);
    put(&r, b"d").unwrap();
    assert_eq!(r.join(Some(Instant::now())), Err(JoinFail::Timeout));
    let mut ids = f.st.consumers.iter().map(|s| s.owner.load(SeqCst));
    assert!(ids.any(|id| id == ME), "this process counts in a slot");
}
