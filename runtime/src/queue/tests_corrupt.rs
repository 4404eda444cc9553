//! The ring with its shared state scribbled on by another process (here: stores into the heap
//! state): every corruption gives a typed error, never a panic (these tests run with overflow
//! checks), never a write outside the ring (the heap bytes check every index), and never a
//! `put` that returns `Ok` for an item that cannot be taken.

use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

use super::ring::{Bytes, Cache, GetFail, PutFail};
use super::state::{RecordHeader, RecordKind, SIDE, SPILLED};
use super::tests::{Fixture, get, put};

const CAP: u64 = 256;

/// After the corruption is reported, the queue works again once consumers have discarded it
/// (`get` reports `Corrupt` at most once more).
fn works_again(f: &Fixture) {
    let cache = Cache::default();
    let r = f.ring(&cache);
    let _ = get(&r);
    put(&r, b"again").unwrap();
    assert_eq!(get(&r).unwrap(), b"again");
}

#[test]
fn an_unaligned_tail_is_reported_not_written_past_the_end() {
    for tail in [CAP - 4, 4, 3 * CAP + 12] {
        let f = Fixture::new(CAP, 0);
        f.st.tail.store(tail, Relaxed);
        f.st.head.store(tail, Relaxed);
        let cache = Cache::default();
        let r = f.ring(&cache);
        // A 16-byte record from `CAP - 4` would need 4 bytes of wrap: a header does not fit.
        assert!(
            matches!(put(&r, &[7; 8]), Err(PutFail::Corrupt)),
            "tail {tail}"
        );
        assert_eq!(f.st.puts.load(Relaxed), 0, "nothing published");
        assert_eq!(get(&r), Err(GetFail::Corrupt), "tail {tail}");
        works_again(&f);
    }
}

#[test]
fn a_tail_near_the_end_of_u64_is_reported() {
    // A 48-byte record (and its wrap, if any) would end past `u64::MAX`.
    for tail in [u64::MAX - 7, u64::MAX - 15, u64::MAX - 39] {
        let f = Fixture::new(CAP, 0);
        let tail = tail & !7;
        f.st.tail.store(tail, Relaxed);
        f.st.head.store(tail, Relaxed);
        let cache = Cache::default();
        let r = f.ring(&cache);
        let got = put(&r, &[1; 40]);
        assert!(
            matches!(got, Err(PutFail::Corrupt)),
            "tail {tail:#x}: {got:?}"
        );
    }
}

#[test]
fn a_head_past_the_tail_is_reported_to_both_sides() {
    let f = Fixture::new(CAP, 0);
    let cache = Cache::default();
    let r = f.ring(&cache);
    for _ in 0..5 {
        put(&r, &[1; 40]).unwrap();
    }
    // The producer's cached head leaves 16 bytes: the next put must load the real one.
    f.st.head.store(512, Relaxed);
    let got = put(&r, &[2; 40]);
    assert!(matches!(got, Err(PutFail::Corrupt)), "{got:?}");
    assert_eq!(get(&r), Err(GetFail::Corrupt));
    works_again(&f);
}

#[test]
fn a_head_far_behind_the_tail_is_reported_to_both_sides() {
    let f = Fixture::new(CAP, 0);
    let cache = Cache::default();
    let r = f.ring(&cache);
    put(&r, b"a").unwrap();
    f.st.tail.store(10 * CAP, Relaxed);
    let got = put(&r, b"b");
    assert!(matches!(got, Err(PutFail::Corrupt)), "{got:?}");
    assert_eq!(get(&r), Err(GetFail::Corrupt));
    works_again(&f);
}

#[test]
fn an_unaligned_head_is_reported() {
    let f = Fixture::new(CAP, 0);
    let cache = Cache::default();
    let r = f.ring(&cache);
    put(&r, b"a").unwrap();
    put(&r, b"b").unwrap();
    f.st.head.store(CAP - 4, Relaxed);
    f.st.tail.store(CAP + 8, Relaxed);
    assert_eq!(get(&r), Err(GetFail::Corrupt));
    assert_eq!(get(&r), Err(GetFail::Empty));
}

#[test]
fn a_head_near_the_end_of_u64_is_reported() {
    // `tail - head` is small modulo 2^64, but `head` plus a record overflows.
    let f = Fixture::new(CAP, 0);
    let cache = Cache::default();
    let r = f.ring(&cache);
    put(&r, b"a").unwrap();
    put(&r, b"b").unwrap();
    f.st.head.store(u64::MAX - 7, Relaxed);
    f.st.tail.store(24, Relaxed);
    // A well-formed empty record where that head points (index 248).
    let header = RecordHeader {
        len: 0,
        kind: RecordKind::Data as u32,
    };
    // SAFETY: bytes 248..256 of the ring; this test is its only user.
    unsafe { f.bytes.write(CAP - 8, &header.to_bytes()) };
    assert_eq!(get(&r), Err(GetFail::Corrupt));
}

#[test]
fn counters_near_their_maximum_are_reported() {
    // Items put at the maximum: the next put cannot count its item.
    let f = Fixture::new(CAP, 0);
    let cache = Cache::default();
    let r = f.ring(&cache);
    f.st.puts.store(u64::MAX, Relaxed);
    f.st.gets.store(u64::MAX, Relaxed);
    f.st.done.store(u64::MAX, Relaxed);
    let got = put(&r, b"a");
    assert!(matches!(got, Err(PutFail::Corrupt)), "{got:?}");
    assert!(!r.task_done());
    // Items taken at the maximum: the next get cannot count its item.
    let f = Fixture::new(CAP, 0);
    let cache = Cache::default();
    let r = f.ring(&cache);
    put(&r, b"a").unwrap();
    f.st.gets.store(u64::MAX, Relaxed);
    assert_eq!(get(&r), Err(GetFail::Corrupt));
    assert_eq!(get(&r), Err(GetFail::Empty));
    // Futex words at their maximum wrap.
    let f = Fixture::new(CAP, 0);
    let cache = Cache::default();
    let r = f.ring(&cache);
    for word in [&f.st.data_seq, &f.st.space_seq, &f.st.join_seq] {
        word.store(u32::MAX, Relaxed);
    }
    put(&r, b"a").unwrap();
    assert_eq!(get(&r).unwrap(), b"a");
    assert!(r.task_done());
    assert!(r.join(Some(Instant::now())).is_ok());
}

#[test]
fn a_record_length_near_u32_max_is_reported() {
    let f = Fixture::new(CAP, 0);
    let cache = Cache::default();
    let r = f.ring(&cache);
    put(&r, b"a").unwrap();
    let header = RecordHeader {
        len: u32::MAX,
        kind: RecordKind::Data as u32,
    };
    // SAFETY: the head record's header, in bounds; this test is its only user.
    unsafe { f.bytes.write(0, &header.to_bytes()) };
    assert_eq!(get(&r), Err(GetFail::Corrupt));
}

#[test]
fn a_wrap_record_with_item_flags_is_reported() {
    for flags in [SIDE, SPILLED, SIDE | SPILLED] {
        let f = Fixture::new(CAP, 0);
        let cache = Cache::default();
        let r = f.ring(&cache);
        put(&r, b"a").unwrap();
        let header = RecordHeader {
            len: 8,
            kind: RecordKind::Wrap as u32 | flags,
        };
        // SAFETY: as above.
        unsafe { f.bytes.write(0, &header.to_bytes()) };
        assert_eq!(get(&r), Err(GetFail::Corrupt), "flags {flags:#x}");
    }
}

#[test]
fn a_record_that_exactly_reaches_the_end_needs_no_wrap() {
    // Tail at 128 of 256, ring empty: a 128-byte record ends exactly at the end of the ring.
    let f = Fixture::new(CAP, 0);
    let cache = Cache::default();
    let r = f.ring(&cache);
    put(&r, &[1; 120]).unwrap();
    assert_eq!(get(&r).unwrap(), [1; 120]);
    // 64 + 64 bytes after the tail, then nothing more: exactly enough room for 120 bytes.
    put(&r, &[2; 56]).unwrap();
    assert_eq!(f.st.tail.load(Relaxed), 192);
    put(&r, &[3; 56]).unwrap();
    assert_eq!(f.st.tail.load(Relaxed), 256, "no wrap record before it");
    assert_eq!(get(&r).unwrap(), [2; 56]);
    assert_eq!(get(&r).unwrap(), [3; 56]);
    // Head and tail at 256 (index 0); fill 128 then a record of 128 exactly to the end.
    put(&r, &[4; 120]).unwrap();
    put(&r, &[5; 120]).unwrap();
    assert_eq!(f.st.tail.load(Relaxed), 512, "both fit exactly");
    assert!(matches!(put(&r, &[]), Err(PutFail::Full)));
    assert_eq!(get(&r).unwrap(), [4; 120]);
    // 128 free from index 0: a record of exactly 128 fits without waiting.
    put(&r, &[6; 120]).unwrap();
    assert_eq!(get(&r).unwrap(), [5; 120]);
    assert_eq!(get(&r).unwrap(), [6; 120]);
}
