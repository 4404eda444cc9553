//! The overflow of an unbounded queue: where a `put` goes when the ring is full, so that an
//! unbounded queue never waits for consumers (see "Overflow" in the parent module).

use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::time::{Duration, Instant};

use super::wait::{wait, wake};
use super::{Bytes, GetFail, Item, PutFail, Ring};
use crate::queue::state::{HEADER, RecordHeader, RecordKind, SIDE, SPILLED, record_size};
use crate::sync::park::Park;

/// The largest position an overflow record may end at: file offsets are `i64`, and a peer
/// that moves `ovf_tail` near the end of `u64` cannot make a sum overflow.
const MAX_POSITION: u64 = 1 << 62;

/// The largest payload of a record in the overflow (an item's bytes, when they do not fit in
/// the ring: see `Body::Large`). Reading one allocates its size, once the overflow proved it
/// holds that much, so the limit bounds even a real one (as `side::MAX_SPILLED` does).
pub(crate) const MAX_LARGE: u64 = 1 << 30;

/// How long a `put` into an unbounded queue waits for room in the ring (its own deadline
/// permitting) without the consumers taking anything, before it goes to the overflow. While
/// consumers take items it keeps waiting for room; consumers that stopped (or are not there
/// yet: a child that puts before its parent gets) are not waited for long. Copying through the ring is cheaper than
/// through the overflow's system calls, and once the overflow holds records every `put` goes
/// there until consumers have drained it, so entering it only when consumers really fall
/// behind keeps a steady stream in the ring (1 MiB items, 1 → 1, measured in quick mode:
/// 0.8 GB/s spilling at once, 3-4 GB/s with this wait, as without an overflow).
const SPILL_AFTER: Duration = Duration::from_millis(1);

/// Where the next item to take is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Source {
    /// In the ring, at `head`.
    Ring,
    /// In the overflow, at `ovf_head`; the overflow's tail was loaded as this.
    Overflow(u64),
}

/// Where a `put` writes its record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Place {
    /// In the ring, at this position.
    Ring(u64),
    /// In the overflow, at this position.
    Overflow(u64),
}

/// Whether a `Data` record's flags and length agree (a side message's number is 8 bytes; a
/// spilled item's record holds nothing else).
pub(super) fn well_formed(header: RecordHeader) -> bool {
    let len = u64::from(header.len);
    match (header.kind & SIDE != 0, header.kind & SPILLED != 0) {
        (false, false) => true,
        (true, false) => len >= 8,
        (true, true) => len == 8,
        (false, true) => false,
    }
}

impl<B: Bytes, P: Park> Ring<'_, B, P> {
    // ------------------------------------------------------------------ producers

    /// Finds room for a record of `size` bytes. A bounded queue (or one without an overflow)
    /// waits for room in the ring until `deadline`; an unbounded one appends to the overflow
    /// when the ring (or, while it holds items, the overflow) stays full and the consumers
    /// take nothing for [`SPILL_AFTER`] (or until `deadline`, if sooner).
    pub(super) fn place<E>(
        &self,
        size: u64,
        maxsize: u64,
        deadline: Option<Instant>,
    ) -> Result<Place, PutFail<E>> {
        if maxsize > 0 || !self.bytes.has_overflow() {
            return self.reserve(size, || deadline).map(Place::Ring);
        }
        if self.overflow_pending() && !self.wait_for_drain(deadline) {
            return self.overflow_reserve(size).map(Place::Overflow);
        }
        // Spill only when the consumers stopped: while they take items (their `head` moves),
        // keep waiting for room, as a bounded queue would. Otherwise a producer that outpaces
        // busy consumers would move the whole stream through the overflow's system calls.
        // A caller's own deadline (`try_put`, `put_timeout`) is honoured at once: an
        // unbounded queue never reports `Full`.
        // The clock and the consumers' line are read only once there is no room.
        loop {
            let mut caller_first = false;
            let mut head_before = None;
            let placed = self.reserve(size, || {
                head_before = Some(self.st.head.load(Relaxed));
                let patience = Instant::now() + SPILL_AFTER;
                match deadline {
                    Some(d) if d <= patience => {
                        caller_first = true;
                        Some(d)
                    }
                    _ => Some(patience),
                }
            });
            match placed {
                Err(PutFail::Full) => {
                    if caller_first || head_before == Some(self.st.head.load(Relaxed)) {
                        return self.overflow_reserve(size).map(Place::Overflow);
                    }
                }
                other => return other.map(Place::Ring),
            }
        }
    }

    /// Waits until the consumers have taken everything in the overflow (or the queue is
    /// closed); `false` once they take nothing for [`SPILL_AFTER`], or at `deadline` if that
    /// comes first: then the caller appends to the overflow. Once they took nothing for that
    /// long, later calls do not wait until they have taken something (a producer putting
    /// many items while nobody gets waits once, not once per item).
    ///
    /// Items in the overflow come before any new one, so while it holds some every `put`
    /// must go there too (see "Overflow"). Appending at once would keep a stream in the
    /// overflow's system calls for as long as the consumers stay just behind (measured with
    /// 1 MiB items 1 → 1: 28 % of the items went through the overflow); waiting for busy
    /// consumers to drain it, as `place` waits for room in the ring, brings the stream back to
    /// the ring. The producers' lock is held, so nobody appends meanwhile. Consumers wake
    /// `space_seq` after each commit, in the overflow too.
    fn wait_for_drain(&self, deadline: Option<Instant>) -> bool {
        let drained = || !self.overflow_pending() || self.is_closed();
        if self.cache.stalled_at.load(Relaxed) == self.st.ovf_head.load(Relaxed).wrapping_add(1) {
            return false;
        }
        loop {
            let head_before = self.st.ovf_head.load(Relaxed);
            let patience = Instant::now() + SPILL_AFTER;
            let (until, caller_first) = match deadline {
                Some(d) if d <= patience => (d, true),
                _ => (patience, false),
            };
            if wait::<P>(&self.st.space_seq, drained, Some(until)) {
                return true;
            }
            if caller_first {
                return false;
            }
            if self.st.ovf_head.load(Relaxed) == head_before {
                self.cache
                    .stalled_at
                    .store(head_before.wrapping_add(1), Relaxed);
                return false;
            }
        }
    }

    /// Room in the overflow for a record larger than the ring takes: unbounded queues only
    /// (a bounded one sends such items beside the ring, and waits for their turn).
    pub(super) fn place_large<E>(&self, size: u64, maxsize: u64) -> Result<Place, PutFail<E>> {
        if maxsize > 0 {
            return Err(PutFail::TooLarge);
        }
        self.overflow_reserve(size).map(Place::Overflow)
    }

    /// Whether the overflow holds records not yet taken (or positions that do not add up:
    /// then `overflow_reserve` reports them).
    fn overflow_pending(&self) -> bool {
        // `ovf_tail` is the producers' own (stored under their lock). A cached `ovf_head` equal
        // to it proves the overflow drained (`ovf_head` only grows, up to `ovf_tail`), without
        // reading the consumers' line on every put; otherwise it is loaded again. Positions
        // are never reused, so no ordering with the consumers' reads is needed (`Relaxed`).
        let tail = self.st.ovf_tail.load(Relaxed);
        if self.cache.ovf_head.load(Relaxed) == tail {
            return false;
        }
        let head = self.st.ovf_head.load(Relaxed);
        self.cache.ovf_head.store(head, Relaxed);
        tail != head
    }

    /// Room for a record of `size` bytes at the overflow's tail (the file grows as needed).
    fn overflow_reserve<E>(&self, size: u64) -> Result<u64, PutFail<E>> {
        let tail = self.st.ovf_tail.load(Relaxed);
        if !tail.is_multiple_of(8) {
            // As `reserve` does in the ring: publish an aligned tail (no item), which the
            // consumers discard, and the overflow works again.
            if let Some(aligned) = tail.checked_next_multiple_of(8) {
                self.publish_overflow(aligned, self.st.puts.load(Relaxed));
                wake::<P>(&self.st.data_seq);
            }
            return Err(PutFail::Corrupt);
        }
        let head = self.st.ovf_head.load(Acquire);
        let fits = tail
            .checked_add(size)
            .is_some_and(|end| end <= MAX_POSITION);
        if head > tail || !fits {
            return Err(PutFail::Corrupt);
        }
        Ok(tail)
    }

    /// Writes a record (header, then `parts` concatenated) at overflow position `at`.
    pub(super) fn write_overflow_record<E>(
        &self,
        at: u64,
        kind: u32,
        parts: &[&[u8]],
    ) -> Result<(), PutFail<E>> {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        let header = RecordHeader {
            len: u32::try_from(len).unwrap_or(u32::MAX),
            kind,
        }
        .to_bytes();
        let mut all = Vec::with_capacity(parts.len() + 1);
        all.push(&header[..]);
        all.extend_from_slice(parts);
        self.bytes
            .overflow_write(at, &all)
            .map_err(PutFail::Overflow)
    }

    /// Publishes everything written in the overflow up to `tail`, with `puts` items put in
    /// all (as `publish` does for the ring, with its own marker; the caller wakes the
    /// consumers, as there).
    pub(super) fn publish_overflow(&self, tail: u64, puts: u64) {
        self.st.pub_puts.store(puts, Release);
        self.st.pub_ovf.store(tail, Release);
        self.st.puts.store(puts, Release);
        self.st.ovf_tail.store(tail, Release);
        self.st.pub_ovf.store(0, Release);
    }

    /// After taking the producers' lock over from a dead producer: finishes its publication
    /// in the overflow, if it died in one.
    pub(super) fn repair_overflow_publication(&self) {
        let tail = self.st.pub_ovf.load(Acquire);
        if tail != 0 {
            self.st.puts.store(self.st.pub_puts.load(Acquire), Release);
            self.st.ovf_tail.store(tail, Release);
            self.st.pub_ovf.store(0, Release);
            wake::<P>(&self.st.data_seq);
        }
    }

    // ------------------------------------------------------------------ consumers

    /// Where the next item is, if one is published past `head` (the ring's) or in the
    /// overflow.
    pub(super) fn look(&self, head: u64) -> Option<Source> {
        // The overflow's tail first, then the ring's: a record in the overflow was published
        // after every record in the ring that comes before it, so with `Acquire` on both, the
        // ring's tail loaded second shows all of those (see "Overflow").
        let ovf_tail = self
            .bytes
            .has_overflow()
            .then(|| self.st.ovf_tail.load(Acquire));
        let tail = self.st.tail.load(Acquire);
        self.cache.tail.store(tail, Relaxed);
        if tail != head {
            return Some(Source::Ring);
        }
        // `ovf_head` is the consumers' own (we hold their lock).
        ovf_tail
            .filter(|&t| t != self.st.ovf_head.load(Relaxed))
            .map(Source::Overflow)
    }

    /// Takes the record at the overflow's head (published up to `tail`) and hands its item to
    /// `consume`; a record that does not check out empties the queue (`discard_all`).
    pub(super) fn take_overflow<R>(
        &self,
        tail: u64,
        consume: impl FnOnce(Item<'_>) -> R,
    ) -> Result<R, GetFail> {
        let head = self.st.ovf_head.load(Relaxed);
        let Some((header, payload)) = self.overflow_record(head, tail) else {
            return Err(self.discard_all());
        };
        // `overflow_record` checked `head + size <= tail`.
        let end = head + record_size(u64::from(header.len));
        // Checked before the item is handed out: it could not be counted as taken.
        let Some(gets) = self.st.gets.load(Relaxed).checked_add(1) else {
            return Err(self.discard_all());
        };
        let out = self.hand_out(header, &payload, consume);
        self.commit_overflow(end, gets);
        self.bytes.overflow_release(head, end);
        Ok(out)
    }

    /// Reads and checks the record at overflow position `head`: an 8-aligned `head` before
    /// `tail`, a well-formed `Data` record no longer than a `put` writes, ending by `tail`;
    /// `None` otherwise. Nothing larger than that record is allocated, and only once
    /// its header checked out (and the overflow proved it holds its bytes).
    fn overflow_record(&self, head: u64, tail: u64) -> Option<(RecordHeader, Vec<u8>)> {
        if !head.is_multiple_of(8) || head >= tail || tail > MAX_POSITION {
            return None;
        }
        let header = self.bytes.overflow_read(head, HEADER).ok()?;
        let header = RecordHeader::from_bytes(header.try_into().ok()?);
        let len = u64::from(header.len);
        // Records with a side message are never larger than the ring takes; items' bytes
        // alone may be (`Body::Large`).
        let max = if header.kind & SIDE == 0 {
            MAX_LARGE
        } else {
            self.max_payload()
        };
        let fits = len <= max && record_size(len) <= tail - head;
        if header.record_kind() != Some(RecordKind::Data) || !fits || !well_formed(header) {
            return None;
        }
        let payload = self.bytes.overflow_read(head + HEADER, len).ok()?;
        Some((header, payload))
    }

    /// Frees the overflow up to `head`, with `gets` items taken in all (as `commit` does for
    /// the ring, with its own marker; the caller wakes the producers, as there).
    pub(super) fn commit_overflow(&self, head: u64, gets: u64) {
        self.st.com_gets.store(gets, Release);
        self.st.com_ovf.store(head, Release);
        self.st.gets.store(gets, Release);
        self.st.ovf_head.store(head, Release);
        self.st.com_ovf.store(0, Release);
    }

    /// After taking the consumers' lock over from a dead consumer: finishes its commit in the
    /// overflow, if it died in one.
    pub(super) fn repair_overflow_commit(&self) {
        let head = self.st.com_ovf.load(Acquire);
        if head != 0 {
            self.st.gets.store(self.st.com_gets.load(Acquire), Release);
            self.st.ovf_head.store(head, Release);
            self.st.com_ovf.store(0, Release);
        }
    }
}
