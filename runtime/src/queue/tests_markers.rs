//! Tests that pin down single stores of the ring's protocol (issue 23, survivors 1 and 4):
//! each one fails if the store it names is deleted (each was checked by deleting it by hand).
//!
//! - The last `task_done` wakes a joiner that sleeps without a deadline: its wait reports
//!   being woken, not timed out (a joiner also polls for dead consumers, so without the wake it
//!   would still return, late, after a timeout: only the wait's outcome tells the two apart).
//! - Every publication and commit disarms its marker when it is done (in `publish`, `commit`,
//!   their overflow forms, and the repairs after a death). A marker left armed is harmless
//!   until a process dies having armed only the *first* store of its next publication
//!   (`pub_puts`, `com_gets`): the next process then finds the stale marker armed and
//!   "finishes" a publication that never happened, with the new count and the old position.

#![allow(
    clippy::cast_possible_truncation,
    reason = "test rings are a few hundred bytes"
)]

use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::sync::atomic::{AtomicU8, AtomicUsize};
use std::time::{Duration, Instant};

use super::ring::{Bytes, Cache, GetFail, Ring};
use super::state::{RecordHeader, RecordKind};
use super::tests::{Fixture, get, put};
use crate::sync::atomic::{AtomicU32, AtomicU64};
use crate::sync::park::{Os, Park, Waited};

/// The identity of a process that died holding a lock (`tests::Park2` judges it dead).
const DEAD: u64 = 0x7FFF_0001;
const ME: u64 = 0x7FFF_0003;

/// What the last wait on a joinable queue's futex word reported: 0 none, 1 woken, 2 timed out.
static LAST_JOIN_WAIT: AtomicU8 = AtomicU8::new(0);
/// How many waits on that word there were.
static JOIN_WAITS: AtomicUsize = AtomicUsize::new(0);

/// Real futexes, every identity alive, and a record of each wait's outcome (only the joiner
/// of `the_last_task_done_wakes_a_joiner_without_deadline` parks with it).
struct Recording;

impl Park for Recording {
    fn wait(word: &AtomicU32, expected: u32, deadline: Option<Instant>) -> Waited {
        let waited = Os::wait(word, expected, deadline);
        JOIN_WAITS.fetch_add(1, SeqCst);
        LAST_JOIN_WAIT.store(if waited == Waited::Woken { 1 } else { 2 }, SeqCst);
        waited
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
    fn alive(_: u64) -> bool {
        true
    }
    fn spin() {
        std::hint::spin_loop();
    }
}

#[test]
fn the_last_task_done_wakes_a_joiner_without_deadline() {
    // A joiner also wakes every `JOIN_POLL` (50 ms) to look for dead consumers; should this
    // thread be descheduled that long right as the joiner polls, the wake finds nobody
    // armed. So the scenario gets three tries; without the wake, every try fails.
    let woken = (0..3).any(|_| last_task_done_wakes_the_joiner());
    assert!(
        woken,
        "the joiner's last wait was ended by a wake, not by its poll timing out"
    );
}

/// One joiner sleeping without a deadline, then the last `task_done`: whether the joiner's
/// last wait reported a wake.
fn last_task_done_wakes_the_joiner() -> bool {
    let f = Fixture::new(256, 0);
    let cache = Cache::default();
    let r = f.ring(&cache);
    put(&r, b"a").unwrap();
    put(&r, b"b").unwrap();
    assert!(r.task_done());
    JOIN_WAITS.store(0, SeqCst);
    LAST_JOIN_WAIT.store(0, SeqCst);
    std::thread::scope(|s| {
        let joiner = s.spawn(|| {
            let cache = Cache::default();
            let ring: Ring<'_, _, Recording> = Ring::new(&f.st, &f.bytes, &cache, 256, ME);
            ring.join(None).is_ok()
        });
        // Bounded: the joiner arms the word before it sleeps.
        let deadline = Instant::now() + Duration::from_secs(30);
        while f.st.join_seq.load(SeqCst) & 1 == 0 {
            assert!(Instant::now() < deadline, "the joiner never went to sleep");
            std::thread::yield_now();
        }
        assert!(r.task_done(), "the last item");
        assert!(joiner.join().unwrap());
    });
    assert!(JOIN_WAITS.load(SeqCst) >= 1, "the joiner slept");
    LAST_JOIN_WAIT.load(SeqCst) == 1
}

/// A producer died having written a record at the tail and armed only `pub_puts`.
fn die_arming_only_pub_puts(f: &Fixture) {
    let tail = f.st.tail.load(Relaxed);
    let torn = RecordHeader {
        len: 8,
        kind: RecordKind::Data as u32,
    };
    // SAFETY: in bounds of the 256-byte ring (the tests keep it far from full), past the
    // tail: nobody reads it.
    unsafe { f.bytes.write(tail & 255, &torn.to_bytes()) };
    f.st.pub_puts.store(f.st.puts.load(Relaxed) + 1, Relaxed);
    f.st.write_lock.store(DEAD, Relaxed);
}

/// A consumer died having armed only `com_gets`.
fn die_arming_only_com_gets(f: &Fixture) {
    f.st.com_gets.store(f.st.gets.load(Relaxed) + 1, Relaxed);
    f.st.read_lock.store(DEAD, Relaxed);
}

/// `publish` disarms `pub_tail`.
#[test]
fn a_producer_dead_before_arming_pub_tail_published_nothing() {
    let f = Fixture::new(256, 0);
    let cache = Cache::default();
    let r = f.ring(&cache);
    put(&r, b"a").unwrap();
    die_arming_only_pub_puts(&f);
    put(&f.ring(&Cache::default()), b"c").unwrap();
    assert_eq!(
        r.count(),
        2,
        "a and c; the dead producer's item was never published"
    );
    assert_eq!(get(&r).unwrap(), b"a");
    assert_eq!(get(&r).unwrap(), b"c");
    assert_eq!((get(&r), r.count()), (Err(GetFail::Empty), 0));
}

/// The repair after a producer that died publishing disarms `pub_tail`.
#[test]
fn a_finished_publication_leaves_no_marker_for_the_next_death() {
    let f = Fixture::new(256, 2);
    let cache = Cache::default();
    let r = f.ring(&cache);
    put(&r, b"a").unwrap();
    put(&r, b"b").unwrap();
    // Rewind `b` to "marker armed, counters not stored", its producer dead.
    let (tail, puts) = (f.st.tail.load(Relaxed), f.st.puts.load(Relaxed));
    f.st.pub_tail.store(tail, Relaxed);
    f.st.pub_puts.store(puts, Relaxed);
    f.st.tail.store(16, Relaxed);
    f.st.puts.store(1, Relaxed);
    f.st.write_lock.store(DEAD, Relaxed);
    // This put finishes `b`'s publication, then finds the queue full: it publishes nothing.
    assert!(put(&f.ring(&Cache::default()), b"x").is_err());
    assert_eq!(r.count(), 2);
    assert_eq!(get(&r).unwrap(), b"a");
    die_arming_only_pub_puts(&f);
    put(&f.ring(&Cache::default()), b"c").unwrap();
    assert_eq!(r.count(), 2, "b and c");
    assert_eq!(get(&r).unwrap(), b"b");
    assert_eq!(get(&r).unwrap(), b"c");
    assert_eq!((get(&r), r.count()), (Err(GetFail::Empty), 0));
}

/// `commit` disarms `com_head`.
#[test]
fn a_consumer_dead_before_arming_com_head_took_nothing() {
    let f = Fixture::new(256, 0);
    let cache = Cache::default();
    let r = f.ring(&cache);
    for item in [b"a", b"b", b"c"] {
        put(&r, item).unwrap();
    }
    assert_eq!(get(&r).unwrap(), b"a");
    die_arming_only_com_gets(&f);
    let cache = Cache::default();
    let c = f.ring(&cache);
    assert_eq!(c.count(), 2, "b and c are still there");
    assert_eq!(get(&c).unwrap(), b"b");
    assert_eq!(c.count(), 1);
    assert_eq!(get(&c).unwrap(), b"c");
    assert_eq!((get(&c), c.count()), (Err(GetFail::Empty), 0));
}

/// The repair after a consumer that died committing disarms `com_head`.
#[test]
fn a_finished_commit_leaves_no_marker_for_the_next_death() {
    let f = Fixture::new(256, 0);
    let cache = Cache::default();
    let r = f.ring(&cache);
    put(&r, b"a").unwrap();
    assert_eq!(get(&r).unwrap(), b"a");
    // Rewind `a`'s commit to "marker armed, counters not stored", its consumer dead.
    let (head, gets) = (f.st.head.load(Relaxed), f.st.gets.load(Relaxed));
    f.st.com_head.store(head, Relaxed);
    f.st.com_gets.store(gets, Relaxed);
    f.st.head.store(0, Relaxed);
    f.st.gets.store(0, Relaxed);
    f.st.read_lock.store(DEAD, Relaxed);
    // This get finishes the commit, then finds the queue empty: it commits nothing.
    assert_eq!(get(&f.ring(&Cache::default())), Err(GetFail::Empty));
    put(&r, b"b").unwrap();
    put(&r, b"c").unwrap();
    die_arming_only_com_gets(&f);
    let cache = Cache::default();
    let c = f.ring(&cache);
    assert_eq!(get(&c).unwrap(), b"b");
    assert_eq!(c.count(), 1, "c is still there");
    assert_eq!(get(&c).unwrap(), b"c");
    assert_eq!((get(&c), c.count()), (Err(GetFail::Empty), 0));
}
