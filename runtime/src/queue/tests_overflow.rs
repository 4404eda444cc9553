//! The overflow of an unbounded queue, on the heap: order across the ring and the overflow,
//! the repairs after a death in either side's overflow operations, and an overflow scribbled
//! on by another process.

#![allow(
    clippy::cast_possible_truncation,
    reason = "test rings are a few hundred bytes"
)]

use std::collections::VecDeque;
use std::io;
use std::sync::Mutex;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use super::ring::{Body, Bytes, Cache, GetFail, PutFail, Ring};
use super::state::{QueueState, RecordHeader, RecordKind, record_size};
use super::tests::{HeapBytes, Park2};

/// The identity of a process that died holding a lock (as in `tests`).
const DEAD: u64 = 0x7FFF_0001;
const ME: u64 = 0x7FFF_0002;
const CAP: u64 = 256;

/// A ring on the heap and an overflow in a vector, which records the ranges released.
struct SpillBytes {
    ring: HeapBytes,
    overflow: Mutex<Vec<u8>>,
    released: Mutex<Vec<(u64, u64)>>,
}

impl Bytes for SpillBytes {
    unsafe fn write(&self, at: u64, src: &[u8]) {
        // SAFETY: the caller's guarantees, passed on.
        unsafe { self.ring.write(at, src) }
    }

    unsafe fn read<R>(&self, at: u64, len: u64, f: impl FnOnce(&[u8]) -> R) -> R {
        // SAFETY: the caller's guarantees, passed on.
        unsafe { self.ring.read(at, len, f) }
    }

    fn has_overflow(&self) -> bool {
        true
    }

    fn overflow_write(&self, at: u64, parts: &[&[u8]]) -> io::Result<()> {
        let bytes = parts.concat();
        let at = usize::try_from(at).map_err(io::Error::other)?;
        let end = at + bytes.len();
        if end > 1 << 20 {
            return Err(io::ErrorKind::OutOfMemory.into());
        }
        let mut file = self.overflow.lock().unwrap();
        if file.len() < end {
            file.resize(end, 0);
        }
        file[at..end].copy_from_slice(&bytes);
        Ok(())
    }

    fn overflow_read(&self, at: u64, len: u64) -> io::Result<Vec<u8>> {
        let file = self.overflow.lock().unwrap();
        let range = usize::try_from(at).ok().zip(usize::try_from(len).ok());
        range
            .and_then(|(at, len)| file.get(at..at.checked_add(len)?))
            .map(<[u8]>::to_vec)
            .ok_or_else(|| io::ErrorKind::UnexpectedEof.into())
    }

    fn overflow_release(&self, from: u64, to: u64) {
        self.released.lock().unwrap().push((from, to));
    }
}

struct Fixture {
    st: QueueState,
    bytes: SpillBytes,
}

impl Fixture {
    fn new(maxsize: u64) -> Self {
        Self {
            st: QueueState::on_heap(CAP, maxsize),
            bytes: SpillBytes {
                ring: HeapBytes::new(CAP as usize),
                overflow: Mutex::new(Vec::new()),
                released: Mutex::new(Vec::new()),
            },
        }
    }

    fn ring<'a>(&'a self, cache: &'a Cache) -> Ring<'a, SpillBytes, Park2> {
        Ring::new(&self.st, &self.bytes, cache, CAP, ME)
    }
}

fn put(ring: &Ring<'_, SpillBytes, Park2>, bytes: &[u8]) -> Result<(), PutFail<()>> {
    ring.put(Body::Plain(bytes), Some(Instant::now()))
}

fn get(ring: &Ring<'_, SpillBytes, Park2>) -> Result<Vec<u8>, GetFail> {
    ring.get(Some(Instant::now()), |item| item.bytes.to_vec())
}

/// Item `i`: `len` bytes, the first one `i`.
fn item(i: u32, len: usize) -> Vec<u8> {
    let mut bytes = vec![(i * 7) as u8; len.max(1)];
    bytes[0] = i as u8;
    bytes
}

#[test]
fn an_unbounded_put_never_waits_and_items_keep_their_order_across_ring_and_overflow() {
    let f = Fixture::new(0);
    let (pc, cc) = (Cache::default(), Cache::default());
    let (p, c) = (f.ring(&pc), f.ring(&cc));
    let mut expected = VecDeque::new();
    let mut next = 0u32;
    let mut in_overflow = 0;
    for round in 0..3000u32 {
        // Bursts of puts (the ring overflows) and of gets (it drains, the overflow too).
        let putting = (round / 40) % 3 != 2;
        if putting {
            let len = (round * 37 % 101) as usize;
            let before = f.st.ovf_tail.load(Relaxed);
            put(&p, &item(next, len)).unwrap();
            if f.st.ovf_tail.load(Relaxed) != before {
                in_overflow += 1;
            }
            expected.push_back(item(next, len));
            next += 1;
        } else if let Some(want) = expected.pop_front() {
            assert_eq!(get(&c).unwrap(), want, "round {round}");
        }
        assert_eq!(c.count(), expected.len() as u64);
    }
    while let Some(want) = expected.pop_front() {
        assert_eq!(get(&c).unwrap(), want);
    }
    assert_eq!(get(&c), Err(GetFail::Empty));
    assert!(
        in_overflow > 500,
        "{in_overflow} items went through the overflow"
    );
    let (head, tail) = (f.st.ovf_head.load(Relaxed), f.st.ovf_tail.load(Relaxed));
    assert_eq!(head, tail, "the overflow is drained");
    // Every byte consumers passed was offered back, in order, once.
    let released = f.bytes.released.lock().unwrap();
    assert_eq!(released.first().map(|r| r.0), Some(0));
    assert!(released.windows(2).all(|w| w[0].1 == w[1].0));
    assert_eq!(released.last().map(|r| r.1), Some(head));
}

#[test]
fn a_bounded_queue_waits_for_room_in_the_ring_as_before() {
    let f = Fixture::new(1000);
    let cache = Cache::default();
    let r = f.ring(&cache);
    while put(&r, &[1; 40]).is_ok() {}
    assert!(matches!(put(&r, &[1; 40]), Err(PutFail::Full)));
    assert_eq!(f.st.ovf_tail.load(Relaxed), 0, "nothing in the overflow");
}

/// Fills the ring, then puts `items` more into the overflow.
fn fill(f: &Fixture, items: u32) {
    let cache = Cache::default();
    let r = f.ring(&cache);
    let mut i = 0;
    while f.st.ovf_tail.load(Relaxed) == 0 {
        put(&r, &item(i, 40)).unwrap();
        i += 1;
    }
    for _ in 1..items {
        put(&r, &item(i, 40)).unwrap();
        i += 1;
    }
}

#[test]
fn a_put_while_consumers_drain_the_overflow_waits_for_them_and_goes_back_to_the_ring() {
    // Each round: the ring full and three items in the overflow; a consumer thread takes
    // everything while this thread puts one more item (no deadline of its own). The put
    // cannot go to the ring while the overflow holds items; it either waits until the
    // consumer drained the overflow and writes into the ring, or (if the consumer made no
    // progress for a millisecond, which a loaded machine may cause) appends to the overflow.
    // Order holds either way; at least one round must have come back to the ring.
    let mut back_in_ring = 0;
    for _ in 0..20 {
        let f = Fixture::new(0);
        fill(&f, 3);
        let total = f.st.puts.load(Relaxed);
        let ovf_tail = f.st.ovf_tail.load(Relaxed);
        let got = std::thread::scope(|s| {
            let consumer = s.spawn(|| {
                let cache = Cache::default();
                let c = f.ring(&cache);
                let patience = Duration::from_secs(30);
                (0..=total)
                    .map(|_| c.get(Some(Instant::now() + patience), |i| i.bytes.to_vec()))
                    .collect::<Result<Vec<_>, _>>()
            });
            let cache = Cache::default();
            let p = f.ring(&cache);
            p.put(Body::<()>::Plain(b"last"), None).unwrap();
            consumer.join().unwrap()
        })
        .unwrap();
        let firsts: Vec<u64> = got.iter().map(|g| u64::from(g[0])).collect();
        let order: Vec<u64> = (0..total).map(|i| i % 256).collect();
        assert_eq!(firsts[..total as usize], order[..], "every item, in order");
        assert_eq!(got.last().unwrap(), b"last");
        if f.st.ovf_tail.load(Relaxed) == ovf_tail {
            back_in_ring += 1;
        }
    }
    assert!(back_in_ring > 0, "no put came back to the ring");
}

#[test]
fn a_producer_killed_while_publishing_in_the_overflow_has_its_item_published() {
    let f = Fixture::new(0);
    fill(&f, 1);
    let (tail, puts) = (f.st.ovf_tail.load(Relaxed), f.st.puts.load(Relaxed));
    // As if the producer died between arming the marker and storing the counters.
    f.st.pub_ovf.store(tail, Relaxed);
    f.st.pub_puts.store(puts, Relaxed);
    f.st.ovf_tail.store(0, Relaxed);
    f.st.puts.store(puts - 1, Relaxed);
    f.st.write_lock.store(DEAD, Relaxed);
    put(&f.ring(&Cache::default()), b"next").unwrap();
    let cache = Cache::default();
    let c = f.ring(&cache);
    assert_eq!(c.count(), puts + 1);
    let mut got = Vec::new();
    while let Ok(bytes) = get(&c) {
        got.push(bytes);
    }
    assert_eq!(
        got.len() as u64,
        puts + 1,
        "the dead producer's item, then ours"
    );
    assert_eq!(got.last().unwrap(), b"next");
    assert_eq!(f.st.pub_ovf.load(Relaxed), 0, "disarmed");
}

#[test]
fn a_producer_killed_while_writing_in_the_overflow_leaves_no_record() {
    let f = Fixture::new(0);
    fill(&f, 1);
    let (tail, puts) = (f.st.ovf_tail.load(Relaxed), f.st.puts.load(Relaxed));
    let torn = RecordHeader {
        len: 40,
        kind: RecordKind::Data as u32,
    };
    f.bytes.overflow_write(tail, &[&torn.to_bytes()]).unwrap();
    f.st.write_lock.store(DEAD, Relaxed);
    put(&f.ring(&Cache::default()), b"next").unwrap();
    let cache = Cache::default();
    let c = f.ring(&cache);
    let got: Vec<_> = std::iter::from_fn(|| get(&c).ok()).collect();
    assert_eq!(got.len() as u64, puts + 1);
    assert_eq!(got.last().unwrap(), b"next", "written over the torn record");
}

#[test]
fn a_consumer_killed_while_committing_in_the_overflow_has_its_commit_finished() {
    let f = Fixture::new(0);
    fill(&f, 2);
    let cache = Cache::default();
    let c = f.ring(&cache);
    let total = f.st.puts.load(Relaxed);
    // Everything but the last item, the first overflow item included.
    for _ in 0..total - 1 {
        get(&c).unwrap();
    }
    let (head, gets) = (f.st.ovf_head.load(Relaxed), f.st.gets.load(Relaxed));
    f.st.com_ovf.store(head, Relaxed);
    f.st.com_gets.store(gets, Relaxed);
    f.st.ovf_head.store(head - record_size(40), Relaxed);
    f.st.gets.store(gets - 1, Relaxed);
    f.st.read_lock.store(DEAD, Relaxed);
    let cache = Cache::default();
    let c = f.ring(&cache);
    let last = get(&c).unwrap();
    assert_eq!(
        last[0],
        (total - 1) as u8,
        "the last item, not the one before again"
    );
    assert_eq!(c.count(), 0);
    assert_eq!(f.st.com_ovf.load(Relaxed), 0, "disarmed");
    assert_eq!(get(&c), Err(GetFail::Empty));
}

/// After a reported corruption, the queue works again (one more `Corrupt` at most): through
/// the ring, and through the overflow too if `overflow_too`.
fn works_again(f: &Fixture, overflow_too: bool) {
    let cache = Cache::default();
    let r = f.ring(&cache);
    let _ = get(&r);
    let n = if overflow_too { 20 } else { 3 };
    for i in 0..n {
        put(&r, &item(i, 40)).unwrap();
    }
    for i in 0..n {
        assert_eq!(get(&r).unwrap(), item(i, 40));
    }
    assert_eq!(get(&r), Err(GetFail::Empty));
}

/// Gets until an error; returns it.
fn drain(r: &Ring<'_, SpillBytes, Park2>) -> GetFail {
    for _ in 0..1000 {
        if let Err(e) = get(r) {
            return e;
        }
    }
    panic!("no end to the items");
}

#[test]
fn overflow_positions_that_do_not_add_up_are_reported_and_discarded() {
    type Scribble = fn(&QueueState);
    // What another process writes; whether the overflow works again after the discard (a
    // tail moved to the end of the positions, or past what this heap overflow takes, leaves
    // puts that need the overflow reporting `Corrupt` or an error: a denial of service, as a
    // ring tail near `u64::MAX` is).
    let scribbles: [(&str, Scribble, bool); 6] = [
        (
            "unaligned tail",
            |st| {
                st.ovf_tail.fetch_add(3, Relaxed);
            },
            true,
        ),
        (
            "head past the tail",
            |st| st.ovf_head.store(1 << 20, Relaxed),
            true,
        ),
        (
            "unaligned head",
            |st| {
                st.ovf_head.fetch_add(4, Relaxed);
            },
            true,
        ),
        (
            "head one record back",
            |st| {
                st.ovf_head.fetch_add(8, Relaxed);
            },
            true,
        ),
        (
            "tail far ahead",
            |st| st.ovf_tail.store(1 << 40, Relaxed),
            false,
        ),
        (
            "tail near u64::MAX",
            |st| st.ovf_tail.store(!7, Relaxed),
            false,
        ),
    ];
    for (what, scribble, recovers) in scribbles {
        let f = Fixture::new(0);
        fill(&f, 3);
        scribble(&f.st);
        let cache = Cache::default();
        let r = f.ring(&cache);
        // A put that would go to the overflow reports it, or goes after the rest.
        let put_then = put(&r, b"late");
        assert!(
            matches!(
                put_then,
                Ok(()) | Err(PutFail::Corrupt | PutFail::Overflow(_))
            ),
            "{what}: {put_then:?}"
        );
        assert_eq!(drain(&r), GetFail::Corrupt, "{what}");
        assert_eq!(r.count(), 0, "{what}: every item counts as taken");
        works_again(&f, recovers);
    }
}

#[test]
fn garbage_records_in_the_overflow_are_reported_and_discarded() {
    let garbage = [
        (
            "length near u32::MAX",
            RecordHeader {
                len: u32::MAX,
                kind: 1,
            },
        ),
        ("length past the tail", RecordHeader { len: 120, kind: 1 }),
        (
            "longer than the ring takes",
            RecordHeader { len: 121, kind: 1 },
        ),
        (
            "a wrap record",
            RecordHeader {
                len: 32,
                kind: RecordKind::Wrap as u32,
            },
        ),
        ("an unknown kind", RecordHeader { len: 8, kind: 7 }),
        (
            "spilled without a side message",
            RecordHeader {
                len: 8,
                kind: 1 | 1 << 9,
            },
        ),
        (
            "a side message without its number",
            RecordHeader {
                len: 4,
                kind: 1 | 1 << 8,
            },
        ),
    ];
    for (what, header) in garbage {
        let f = Fixture::new(0);
        fill(&f, 2);
        let head = f.st.ovf_head.load(Relaxed);
        f.bytes.overflow_write(head, &[&header.to_bytes()]).unwrap();
        let cache = Cache::default();
        let r = f.ring(&cache);
        assert_eq!(drain(&r), GetFail::Corrupt, "{what}");
        assert_eq!(r.count(), 0, "{what}");
        assert_eq!(
            f.st.ovf_head.load(Relaxed),
            f.st.ovf_tail.load(Relaxed),
            "{what}: the overflow was discarded"
        );
        works_again(&f, true);
    }
}

/// `publish_overflow` disarms `pub_ovf` (see `tests_markers` for why a marker left armed is
/// caught only by a later death that armed `pub_puts` alone).
#[test]
fn a_producer_dead_before_arming_pub_ovf_published_nothing() {
    let f = Fixture::new(0);
    fill(&f, 2);
    let puts = f.st.puts.load(Relaxed);
    let torn = RecordHeader {
        len: 40,
        kind: RecordKind::Data as u32,
    };
    let tail = f.st.ovf_tail.load(Relaxed);
    f.bytes.overflow_write(tail, &[&torn.to_bytes()]).unwrap();
    f.st.pub_puts.store(puts + 1, Relaxed);
    f.st.write_lock.store(DEAD, Relaxed);
    put(&f.ring(&Cache::default()), b"next").unwrap();
    let cache = Cache::default();
    let c = f.ring(&cache);
    assert_eq!(c.count(), puts + 1, "the torn item was never published");
    let got: Vec<_> = std::iter::from_fn(|| get(&c).ok()).collect();
    assert_eq!(got.len() as u64, puts + 1);
    assert_eq!(got.last().unwrap(), b"next");
    assert_eq!(c.count(), 0);
}

/// `commit_overflow` disarms `com_ovf`.
#[test]
fn a_consumer_dead_before_arming_com_ovf_took_nothing() {
    let f = Fixture::new(0);
    fill(&f, 3);
    let cache = Cache::default();
    let c = f.ring(&cache);
    let total = f.st.puts.load(Relaxed);
    // Everything but the last two items, the first overflow item included.
    for _ in 0..total - 2 {
        get(&c).unwrap();
    }
    f.st.com_gets.store(f.st.gets.load(Relaxed) + 1, Relaxed);
    f.st.read_lock.store(DEAD, Relaxed);
    let cache = Cache::default();
    let c = f.ring(&cache);
    assert_eq!(get(&c).unwrap()[0], (total - 2) as u8);
    assert_eq!(c.count(), 1, "the last item is still there");
    assert_eq!(get(&c).unwrap()[0], (total - 1) as u8);
    assert_eq!((get(&c), c.count()), (Err(GetFail::Empty), 0));
}

/// The repair after a producer that died publishing in the overflow disarms `pub_ovf`.
#[test]
fn a_finished_overflow_publication_leaves_no_marker_for_the_next_death() {
    let f = Fixture::new(0);
    fill(&f, 2);
    let (tail, puts) = (f.st.ovf_tail.load(Relaxed), f.st.puts.load(Relaxed));
    // Rewind the last publication to "marker armed, counters not stored", its producer dead.
    f.st.pub_ovf.store(tail, Relaxed);
    f.st.pub_puts.store(puts, Relaxed);
    f.st.ovf_tail.store(tail - record_size(40), Relaxed);
    f.st.puts.store(puts - 1, Relaxed);
    f.st.write_lock.store(DEAD, Relaxed);
    let cache = Cache::default();
    let r = f.ring(&cache);
    r.close();
    // This put finishes the publication, then finds the queue closed: it publishes nothing.
    assert!(matches!(put(&r, b"x"), Err(PutFail::Closed)));
    assert_eq!(r.count(), puts);
    // The next producer dies having armed only `pub_puts`.
    f.bytes
        .overflow_write(tail, &[&RecordHeader { len: 40, kind: 1 }.to_bytes()])
        .unwrap();
    f.st.pub_puts.store(puts + 1, Relaxed);
    f.st.write_lock.store(DEAD, Relaxed);
    assert!(matches!(put(&r, b"y"), Err(PutFail::Closed)));
    assert_eq!(r.count(), puts, "nothing more was published");
    let got: Vec<_> = std::iter::from_fn(|| get(&r).ok()).collect();
    assert_eq!(got.len() as u64, puts);
}

/// The repair after a consumer that died committing in the overflow disarms `com_ovf`.
#[test]
fn a_finished_overflow_commit_leaves_no_marker_for_the_next_death() {
    let f = Fixture::new(0);
    fill(&f, 2);
    let cache = Cache::default();
    let c = f.ring(&cache);
    while get(&c).is_ok() {}
    // Rewind the last commit to "marker armed, counters not stored", its consumer dead.
    let (head, gets) = (f.st.ovf_head.load(Relaxed), f.st.gets.load(Relaxed));
    f.st.com_ovf.store(head, Relaxed);
    f.st.com_gets.store(gets, Relaxed);
    f.st.ovf_head.store(head - record_size(40), Relaxed);
    f.st.gets.store(gets - 1, Relaxed);
    f.st.read_lock.store(DEAD, Relaxed);
    // This get finishes the commit, then finds the queue empty: it commits nothing.
    assert_eq!(get(&f.ring(&Cache::default())), Err(GetFail::Empty));
    put(&c, b"a").unwrap();
    put(&c, b"b").unwrap();
    // The next consumer dies having armed only `com_gets`.
    f.st.com_gets.store(f.st.gets.load(Relaxed) + 1, Relaxed);
    f.st.read_lock.store(DEAD, Relaxed);
    let cache = Cache::default();
    let c = f.ring(&cache);
    assert_eq!(get(&c).unwrap(), b"a");
    assert_eq!(c.count(), 1, "b is still there");
    assert_eq!(get(&c).unwrap(), b"b");
    assert_eq!((get(&c), c.count()), (Err(GetFail::Empty), 0));
}
