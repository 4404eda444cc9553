//! Property tests of the ring on state a peer corrupted (issue #15): any counters, locks and
//! record headers. The ring's bytes are on the heap and bounds-checked, so a read or write
//! outside the ring (undefined behaviour in shared memory) fails the test; so does a panic.

#![allow(clippy::cast_possible_truncation, reason = "test rings are a few KiB")]

use std::cell::UnsafeCell;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

use proptest::collection::vec;
use proptest::prelude::*;

use super::ring::{Body, Bytes, Cache, Ring};
use super::state::QueueState;
use crate::__fuzz::{self, F_RING_MISALIGNED, F_RING_OVERFLOW, Known};
use crate::sync::park::Os;

/// Ring bytes on the heap; every access is bounds-checked (a bad index panics).
struct HeapBytes(Box<[UnsafeCell<u8>]>);

// SAFETY: one thread uses each ring in these tests.
unsafe impl Sync for HeapBytes {}

impl Bytes for HeapBytes {
    unsafe fn write(&self, at: u64, src: &[u8]) {
        let at = usize::try_from(at).expect("ring offset");
        let cells = &self.0[at..at + src.len()];
        for (cell, b) in cells.iter().zip(src) {
            // SAFETY: one thread; in bounds (checked by the slicing above).
            unsafe { *cell.get() = *b };
        }
    }

    unsafe fn read<R>(&self, at: u64, len: u64, f: impl FnOnce(&[u8]) -> R) -> R {
        let at = usize::try_from(at).expect("ring offset");
        let len = usize::try_from(len).expect("ring length");
        let copy: Vec<u8> = self.0[at..at + len]
            .iter()
            // SAFETY: one thread; in bounds (checked by the slicing above).
            .map(|c| unsafe { *c.get() })
            .collect();
        f(&copy)
    }
}

/// What a peer may have left in the state: the counters and locks.
#[derive(Debug, Clone)]
struct Corrupt {
    words: [u64; 14],
    closed: bool,
    ring: Vec<u8>,
    ops: Vec<(u8, u8)>,
}

/// A counter: near a plausible position (so records get decoded), or anything at all
/// (`wide`; values near `u64::MAX` are finding 2).
fn counter(wide: bool) -> BoxedStrategy<u64> {
    if wide {
        prop_oneof![0u64..4096, any::<u64>(), (u64::MAX - 4096)..=u64::MAX].boxed()
    } else {
        prop_oneof![0u64..4096, 0u64..(1 << 40)].boxed()
    }
}

/// Counters as a peer may leave them; positions (`head`, `tail`, `com_head`, `pub_tail`)
/// 8-aligned as mproc writes them unless `misaligned` (finding 4).
fn corrupt(cap: usize, wide: bool, misaligned: bool) -> impl Strategy<Value = Corrupt> {
    (
        proptest::array::uniform14(counter(wide)).prop_map(move |mut words| {
            if !misaligned {
                for i in [0, 1, 5, 7] {
                    words[i] &= !7;
                }
            }
            words
        }),
        any::<bool>(),
        vec(any::<u8>(), 0..=cap),
        vec(any::<(u8, u8)>(), 0..24),
    )
        .prop_map(|(words, closed, ring, ops)| Corrupt {
            words,
            closed,
            ring,
            ops,
        })
}

/// Runs `c.ops` on a ring of `cap` bytes in state `c`; nothing waits.
fn run(cap: u64, c: &Corrupt) {
    let st = QueueState::on_heap(cap, 0);
    let [
        head,
        tail,
        gets,
        puts,
        done,
        com_head,
        com_gets,
        pub_tail,
        pub_puts,
        side_taking,
        side_seq,
        maxsize,
        write_lock,
        read_lock,
    ] = c.words;
    let fields = [
        (&st.head, head),
        (&st.tail, tail),
        (&st.gets, gets),
        (&st.puts, puts),
        (&st.done, done),
        (&st.com_head, com_head),
        (&st.com_gets, com_gets),
        (&st.pub_tail, pub_tail),
        (&st.pub_puts, pub_puts),
        (&st.side_taking, side_taking),
        (&st.side_seq, side_seq),
        (&st.maxsize, maxsize % 8),
        // A lock word of a dead owner (or none): the ring repairs before it works.
        (&st.write_lock, write_lock % 2 * 0x7FFF_0001),
        (&st.read_lock, read_lock % 2 * 0x7FFF_0001),
    ];
    for (field, value) in fields {
        field.store(value, Relaxed);
    }
    st.closed.store(u32::from(c.closed), Relaxed);
    let bytes = HeapBytes((0..cap).map(|_| UnsafeCell::new(0)).collect());
    // SAFETY: `c.ring` is at most `cap` bytes; nothing else uses the ring.
    unsafe { bytes.write(0, &c.ring[..c.ring.len().min(cap as usize)]) };
    let cache = Cache::default();
    let ring = Ring::<_, Os>::new(&st, &bytes, &cache, cap, crate::sys::owner::self_id());
    let item = [0xA5u8; 200];
    for &(op, arg) in &c.ops {
        let now = Some(Instant::now());
        match op % 5 {
            0 | 1 => {
                if let Ok(len) = ring.get(now, |item| item.bytes.len()) {
                    assert!(
                        len as u64 <= cap / 2,
                        "an item of {len} bytes in a {cap}-byte ring"
                    );
                }
            }
            2 => {
                let n = usize::from(arg) % item.len();
                let _ = ring.put::<()>(Body::Plain(&item[..n]), now);
            }
            3 => {
                let mut hook = |_: u64| Ok::<(), ()>(());
                let _ = ring.put(
                    Body::WithSide(&item[..usize::from(arg % 16)], &mut hook),
                    now,
                );
            }
            _ => {
                let _ = (ring.task_done(), ring.unfinished(), ring.count());
            }
        }
    }
}

proptest! {
    #![proptest_config(__fuzz::proptest_config(256))]

    /// Finding 4 of issue #15: a position that is not 8-aligned (mproc never writes one, a
    /// peer can) leaves less than a header's room before the ring's end, and `reserve`
    /// computes `pad - HEADER` below zero: a panic in debug builds; in release, a `Wrap`
    /// header written up to 7 bytes past the ring's end.
    #[test]
    fn a_ring_with_misaligned_positions_stays_in_bounds(c in corrupt(256, false, true)) {
        run(256, &c);
    }

    /// Counters anywhere below 2^40 (no overflow possible: that is finding 2, below), the
    /// positions 8-aligned as mproc writes them, any record headers: typed results, nothing
    /// outside the ring.
    #[test]
    fn a_corrupted_ring_stays_in_bounds(c in corrupt(256, false, false)) {
        run(256, &c);
    }

    /// A real `Queue<u32>` whose segment a peer wrote (see `__fuzz::queue_ring`).
    #[test]
    fn a_real_queue_with_a_corrupted_segment(data in vec(any::<u8>(), 0..1200)) {
        __fuzz::queue_ring(&data, Known::of(&[F_RING_OVERFLOW, F_RING_MISALIGNED]));
    }

    /// Finding 2 of issue #15: counters near `u64::MAX` must not overflow the ring's
    /// arithmetic (a panic in debug builds, wrong positions in release).
    #[test]
    fn corrupted_counters_near_the_limit_do_not_overflow(c in corrupt(256, true, false)) {
        run(256, &c);
    }
}
