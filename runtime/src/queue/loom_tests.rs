//! `loom` models of the ring's index protocol: producers and a consumer on a 64-byte ring on
//! the heap, every interleaving (within the preemption bound) explored. The ring's bytes are
//! `loom` cells, so a read of bytes not yet published (or a write over bytes not yet
//! consumed) is reported as a data race.
//!
//! Run with `RUSTFLAGS="--cfg loom" cargo test -p mproc --lib --release loom`.

#![allow(
    clippy::cast_possible_truncation,
    reason = "test rings are a few hundred bytes"
)]

use loom::cell::UnsafeCell;
use loom::sync::Arc;
use loom::thread;

use super::ring::{Body, Bytes, Cache, Ring};
use super::state::QueueState;
use crate::sync::loom_tests::{Model, model};

struct LoomBytes(Vec<UnsafeCell<u8>>);

// SAFETY: loom checks every access to the cells for races; that is the point of the model.
unsafe impl Sync for LoomBytes {}
// SAFETY: as above.
unsafe impl Send for LoomBytes {}

impl Bytes for LoomBytes {
    unsafe fn write(&self, at: u64, src: &[u8]) {
        for (i, b) in src.iter().enumerate() {
            // SAFETY: loom tracks the access; a racy one fails the model.
            self.0[at as usize + i].with_mut(|p| unsafe { *p = *b });
        }
    }

    unsafe fn read<R>(&self, at: u64, len: u64, f: impl FnOnce(&[u8]) -> R) -> R {
        let copy: Vec<u8> = (at..at + len)
            // SAFETY: as above.
            .map(|i| self.0[i as usize].with(|p| unsafe { *p }))
            .collect();
        f(&copy)
    }
}

const CAP: u64 = 64;

struct Shared {
    st: QueueState,
    bytes: LoomBytes,
}

fn shared(maxsize: u64) -> Arc<Shared> {
    Arc::new(Shared {
        st: QueueState::on_heap(CAP, maxsize),
        bytes: LoomBytes((0..CAP).map(|_| UnsafeCell::new(0)).collect()),
    })
}

fn ring<'a>(s: &'a Shared, cache: &'a Cache, me: u64) -> Ring<'a, LoomBytes, Model> {
    Ring::new(&s.st, &s.bytes, cache, CAP, me)
}

#[test]
fn loom_ring_one_producer_one_consumer_in_order_through_a_wrap() {
    model(|| {
        let s = shared(0);
        let p = s.clone();
        let producer = thread::spawn(move || {
            let cache = Cache::default();
            let r = ring(&p, &cache, 1);
            // Records of 24, 24 and 16 bytes in a 64-byte ring: the third waits for room or
            // wraps, depending on the interleaving.
            for item in [&[1u8; 12][..], &[2; 12], &[3; 4]] {
                r.put(Body::<()>::Plain(item), None).unwrap();
            }
        });
        let cache = Cache::default();
        let r = ring(&s, &cache, 2);
        for expected in [&[1u8; 12][..], &[2; 12], &[3; 4]] {
            let got = r.get(None, |item| item.bytes.to_vec()).unwrap();
            assert_eq!(got, expected);
        }
        producer.join().unwrap();
        assert_eq!(r.count(), 0);
    });
}

#[test]
fn loom_ring_two_producers_keep_their_own_order() {
    model(|| {
        let s = shared(0);
        let producers: Vec<_> = (1..=2u8)
            .map(|id| {
                let p = s.clone();
                thread::spawn(move || {
                    let cache = Cache::default();
                    let r = ring(&p, &cache, u64::from(id));
                    for n in 0..2u8 {
                        r.put(Body::<()>::Plain(&[id, n]), None).unwrap();
                    }
                })
            })
            .collect();
        let cache = Cache::default();
        let r = ring(&s, &cache, 3);
        let mut next = [0u8; 3];
        for _ in 0..4 {
            let got = r.get(None, |item| item.bytes.to_vec()).unwrap();
            let (id, n) = (usize::from(got[0]), got[1]);
            assert_eq!(n, next[id], "producer {id} out of order");
            next[id] += 1;
        }
        for p in producers {
            p.join().unwrap();
        }
    });
}

#[test]
fn loom_ring_maxsize_and_close_wake_the_waiting_side() {
    model(|| {
        let s = shared(1);
        let p = s.clone();
        let producer = thread::spawn(move || {
            let cache = Cache::default();
            let r = ring(&p, &cache, 1);
            r.put(Body::<()>::Plain(&[1]), None).unwrap();
            // Waits for the consumer to take the first (maxsize 1).
            r.put(Body::<()>::Plain(&[2]), None).unwrap();
            r.close();
        });
        let cache = Cache::default();
        let r = ring(&s, &cache, 2);
        assert_eq!(r.get(None, |i| i.bytes.to_vec()).unwrap(), [1]);
        assert_eq!(r.get(None, |i| i.bytes.to_vec()).unwrap(), [2]);
        assert_eq!(
            r.get(None, |i| i.bytes.to_vec()),
            Err(super::ring::GetFail::Closed)
        );
        producer.join().unwrap();
    });
}

#[test]
fn loom_ring_join_is_woken_by_the_last_task_done() {
    model(|| {
        let s = shared(0);
        {
            let cache = Cache::default();
            let r = ring(&s, &cache, 1);
            r.put(Body::<()>::Plain(&[1]), None).unwrap();
            r.put(Body::<()>::Plain(&[2]), None).unwrap();
        }
        let c = s.clone();
        let consumer = thread::spawn(move || {
            let cache = Cache::default();
            let r = ring(&c, &cache, 2);
            for _ in 0..2 {
                r.get(None, |_| ()).unwrap();
                assert!(r.task_done());
            }
            assert!(!r.task_done(), "one too many");
        });
        let cache = Cache::default();
        assert!(ring(&s, &cache, 1).join(None).is_ok());
        consumer.join().unwrap();
    });
}
