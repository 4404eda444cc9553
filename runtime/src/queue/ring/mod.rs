//! The ring algorithm: records in, records out, the waiting protocol, and the repairs after a
//! process died in the middle of an operation. Generic over the bytes ([`Bytes`]) and the
//! parking ([`Park`]), so the same code runs on a shared-memory segment and, under `loom`, on
//! the heap.
//!
//! # Protocol
//!
//! Producers take the producers' lock for a whole `put`; consumers take the consumers' lock for
//! a whole `get`. So one producer and one consumer never contend, and records are written and
//! read by one process at a time on each side.
//!
//! - **put**: reserve space after `tail` (waiting while the ring is too full, or while the
//!   queue holds `maxsize` items), send the item's side message if it has one, write the record
//!   (after a `Wrap` record if it would cross the end of the ring), then *publish*: arm
//!   `pub_puts`/`pub_tail`, store `puts` and `tail`, disarm.
//! - **get**: wait until `tail` moves past `head`, read the record in place, then *commit*:
//!   arm `com_gets`/`com_head`, store `gets` and `head`, disarm.
//!
//! Items that carry descriptors, or are larger than half the ring (except those an unbounded
//! queue puts whole in its overflow: see "Overflow"), have a message on the queue's side socket (see `queue::side`), numbered from `side_seq`; the record holds the
//! number. The message is sent before the record is published, so a consumer that reads the
//! record finds the message waiting.
//!
//! # Crashes
//!
//! A process killed in an operation holds its side's lock; the next process on that side takes
//! the lock over (see `sync::raw_lock`) and repairs:
//! - a record is visible only once `tail` is stored after it, so a producer killed while
//!   writing leaves nothing torn: the next producer writes over the unpublished bytes (a side
//!   message it had sent is left behind, and skipped by number);
//! - a producer killed while publishing had armed its marker only after the record was
//!   complete: the next producer finishes the publication (the stores are idempotent), so the
//!   item and the counts stay exact;
//! - a consumer killed before its commit leaves the item in place for the next consumer (the
//!   item was never returned), unless it had taken the item's side message already: then the
//!   item went with it (`side_taking` tells the next consumer to check);
//! - a consumer killed while committing has its commit finished.
//!
//! A dead process's stores are all visible to the survivors (the kernel's exit path is a full
//! barrier), so the markers need no stronger ordering than the stores they guard.
//!
//! # Corrupted state
//!
//! Any process holding the queue can write anything into its segment, so every value read
//! from it is checked before it is used as a position or a count, and arithmetic on such
//! values never overflows (a panic in debug builds, a wrong position in release):
//! - a producer needs an 8-aligned `tail` (so a wrap record always has room for its header)
//!   with room for its record before `u64::MAX`, a `head` in `tail - cap..=tail` when it has
//!   to load it (a cached `head` that leaves room only ever understates the room), and a
//!   `puts` below `u64::MAX`. Otherwise `put` reports `PutFail::Corrupt` before it writes or
//!   sends anything: no item is acknowledged that consumers could not take;
//! - a consumer needs an 8-aligned `head` in `tail - cap..tail`, a known record kind whose
//!   record lies in `head..tail` and in the ring, and a `gets` below `u64::MAX`; otherwise it
//!   discards the whole ring (`GetFail::Corrupt`), after which the queue works again (a
//!   producer that finds `tail` unaligned publishes it aligned, with no item, for consumers
//!   to discard).
//!
//! The ring's bytes are only ever touched inside `0..cap`, whatever the shared state says.
//!
//! # Overflow
//!
//! An unbounded queue (no `maxsize`) never waits for room: a `put` that finds the ring full
//! appends its record to the queue's overflow (see `queue::overflow`), between `ovf_head` and
//! `ovf_tail`, and publishes it there (arm `pub_puts`/`pub_ovf`, store `puts` and `ovf_tail`,
//! disarm); consumers commit there the same way (`com_gets`/`com_ovf`), and crashes are
//! repaired the same way. Order is kept by two rules:
//! - while the overflow holds records, every `put` appends there, so a record in the ring was
//!   put before every record in the overflow (a `put` that finds it holding records first
//!   waits, while consumers keep taking them, for it to drain, so that a stream goes back to
//!   the ring);
//! - so consumers take from the ring first, and from the overflow only when the ring is empty;
//!   they load `ovf_tail` before `tail` (both `Acquire`): a record they see in the overflow was
//!   published after the ring records before it, which the second load then shows.
//!
//! Positions in the overflow only grow; consumers return the memory of the pages they passed
//! as they pass them (a consumer killed in between leaves those pages until the queue is
//! gone). A record in the overflow is checked as one in the ring is, and also against the
//! file: one that is not all there, or that no memory backs, empties the queue.
//!
//! # Who took what
//!
//! See `joinable`: each process counts what it took and marked done, so `join` can report a
//! consumer that died before marking its items done.
//!
//! # Waiting
//!
//! A side that must wait spins briefly (when another CPU can make progress meanwhile), then
//! registers in the other side's sleepers count and sleeps on a sequence word. The other side,
//! after making progress, checks the count (after a `SeqCst` fence that orders its progress
//! before the check) and only then bumps the word and wakes. The sleeper re-checks after
//! registering (behind a fence too), so a wake cannot be lost: either the waker sees the
//! registration, or the sleeper sees the progress. `put` and `get` check after releasing
//! their side's lock: on x86 the release is a locked instruction, which serves as the fence
//! (see `SideLock::release_and_wake`).
//!
//! # Memory ordering
//!
//! `tail` is stored with `Release` after the record's bytes and loaded with `Acquire` before
//! reading them; `head` the same way for the space it frees. Each process caches the last
//! `tail` (for consumers) and `head` (for producers) it loaded: both only grow, so a cached
//! value is a safe bound, and it was loaded under the side's lock, which orders it for the
//! process's other threads. With the cache, a consumer that is behind reads the producers'
//! cache line once per batch of items instead of once per item.

use std::marker::PhantomData;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release, SeqCst};

use std::time::Instant;

use super::state::{HEADER, QueueState, RecordHeader, RecordKind, SIDE, SPILLED, record_size};
use super::trace;
use crate::sync::park::Park;
use crate::sync::raw_lock::{self, Acquired};

mod joinable;
mod overflow;
mod record;
mod types;
mod wait;

pub(crate) use joinable::JoinFail;

pub(crate) use overflow::MAX_LARGE;
use overflow::{Place, Source, well_formed};
use record::filled;
pub(crate) use types::{Body, Bytes, GetFail, Item, PutFail, SideRef};
use wait::{SideLock, wait, wake, wake_all};

/// What a process remembers of a ring between operations (see "Memory ordering").
#[derive(Debug, Default)]
pub(crate) struct Cache {
    tail: std::sync::atomic::AtomicU64,
    head: std::sync::atomic::AtomicU64,
    /// The last `ovf_head` a producer loaded (see `overflow_pending`).
    ovf_head: std::sync::atomic::AtomicU64,
    /// `ovf_head + 1` when a producer of this process last waited in vain for the consumers
    /// to drain the overflow; 0 if it never did (see `wait_for_drain`).
    stalled_at: std::sync::atomic::AtomicU64,
    /// Whose slot `slot` is (a forked child inherits the cache, not the slot).
    slot_owner: std::sync::atomic::AtomicU64,
    /// The index of this process's slot in `consumers`, or `NO_SLOT`.
    slot: std::sync::atomic::AtomicU64,
}

/// One process's view of a queue's ring.
pub(crate) struct Ring<'a, B, P> {
    st: &'a QueueState,
    bytes: &'a B,
    cache: &'a Cache,
    cap: u64,
    /// This process's lock identity.
    me: u64,
    _park: PhantomData<fn() -> P>,
}

impl<'a, B: Bytes, P: Park> Ring<'a, B, P> {
    /// A view of the ring in `st` and `bytes`, of `cap` bytes (a power of two, at least 64:
    /// checked by the caller against the bytes, not read from the shared state, which another
    /// process could change), for the process with lock identity `me`.
    pub(crate) fn new(
        st: &'a QueueState,
        bytes: &'a B,
        cache: &'a Cache,
        cap: u64,
        me: u64,
    ) -> Self {
        debug_assert!(cap.is_power_of_two() && cap >= 64);
        Self {
            st,
            bytes,
            cache,
            cap,
            me,
            _park: PhantomData,
        }
    }

    /// Items in the queue (approximate while others work on it, as Python's `qsize`).
    pub(crate) fn count(&self) -> u64 {
        self.st
            .puts
            .load(Relaxed)
            .saturating_sub(self.st.gets.load(Relaxed))
    }

    /// The `maxsize` limit (0: none).
    pub(crate) fn maxsize(&self) -> u64 {
        self.st.maxsize.load(Relaxed)
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.st.closed.load(SeqCst) != 0
    }

    /// Closes the queue for everyone and wakes every sleeper.
    pub(crate) fn close(&self) {
        if self.st.closed.swap(1, SeqCst) == 0 {
            trace::closed(self.count());
        }
        wake_all::<P>(&self.st.data_seq);
        wake_all::<P>(&self.st.space_seq);
    }

    /// The largest payload a record holds (`put` refuses larger ones; the caller spills
    /// them), side sequence number included.
    pub(crate) fn max_payload(&self) -> u64 {
        self.cap / 2 - HEADER
    }

    // ------------------------------------------------------------------ producers

    /// Puts one item.
    pub(crate) fn put<E>(
        &self,
        body: Body<'_, E>,
        deadline: Option<Instant>,
    ) -> Result<(), PutFail<E>> {
        let large = matches!(body, Body::Large(_));
        let (mut fill, mut fill_len) = (None, 0);
        let (bytes, hook, flags): (&[u8], _, u32) = match body {
            Body::Plain(bytes) | Body::Large(bytes) => (bytes, None, 0),
            Body::WithSide(bytes, hook) => (bytes, Some(hook), SIDE),
            Body::Spilled(hook) => (&[], Some(hook), SIDE | SPILLED),
            Body::Fill(len, f) => {
                (fill, fill_len) = (Some(f), len);
                (&[], None, 0)
            }
        };
        let prefix = if hook.is_some() { 8 } else { 0 };
        let len = bytes.len() as u64 + prefix + fill_len;
        let max = if large { MAX_LARGE } else { self.max_payload() };
        if len > max || (large && !self.bytes.has_overflow()) {
            return Err(PutFail::TooLarge);
        }
        let size = record_size(len);
        let lock = self.lock_producers(deadline).ok_or(PutFail::Full)?;
        if self.is_closed() {
            return Err(PutFail::Closed);
        }
        // Checked before anything is written or sent: a count that cannot grow would publish
        // an item that no consumer could count (see "Corrupted state").
        let puts = self
            .st
            .puts
            .load(Relaxed)
            .checked_add(1)
            .ok_or(PutFail::Corrupt)?;
        let maxsize = self.maxsize();
        if maxsize > 0 {
            let has_slot = || self.count() < maxsize || self.is_closed();
            if !wait::<P>(&self.st.space_seq, has_slot, deadline) {
                return Err(PutFail::Full);
            }
            if self.is_closed() {
                return Err(PutFail::Closed);
            }
        }
        let place = if large {
            self.place_large(size, maxsize)?
        } else {
            self.place(size, maxsize, deadline)?
        };
        let seq = match hook {
            Some(hook) => {
                let seq = self.st.side_seq.fetch_add(1, Relaxed);
                hook(seq).map_err(PutFail::Side)?;
                Some(seq.to_le_bytes())
            }
            None => None,
        };
        let seq: &[u8] = seq.as_ref().map_or(&[], |s| s.as_slice());
        let kind = RecordKind::Data as u32 | flags;
        // `reserve` and `overflow_reserve` checked that `at + size` does not overflow.
        match (place, fill) {
            (Place::Ring(at), None) => {
                self.write_record(at, kind, &[seq, bytes]);
                self.publish(at + size, puts);
            }
            (Place::Ring(at), Some(fill)) => {
                self.fill_record(at, kind, fill_len, fill);
                self.publish(at + size, puts);
            }
            (Place::Overflow(at), fill) => {
                let filled = fill.map(|f| filled(fill_len, f));
                let bytes = filled.as_deref().unwrap_or(bytes);
                self.write_overflow_record(at, kind, &[seq, bytes])?;
                self.publish_overflow(at + size, puts);
            }
        }
        lock.release_and_wake(&self.st.data_seq);
        Ok(())
    }

    /// Takes the producers' lock, repairing after a producer that died holding it.
    fn lock_producers(&self, deadline: Option<Instant>) -> Option<SideLock<'a, P>> {
        match raw_lock::lock::<P>(&self.st.write_lock, self.me, deadline) {
            Err(_) => None,
            Ok(Acquired::Clean) => Some(SideLock::new(&self.st.write_lock, self.me)),
            Ok(Acquired::OwnerDied(dead)) => {
                let lock = SideLock::new(&self.st.write_lock, self.me);
                let tail = self.st.pub_tail.load(Acquire);
                trace::repaired("producer", raw_lock::pid_of(dead), tail != 0);
                if tail != 0 {
                    // It died publishing: finish its publication.
                    self.st.puts.store(self.st.pub_puts.load(Acquire), Release);
                    self.st.tail.store(tail, Release);
                    self.st.pub_tail.store(0, Release);
                    wake::<P>(&self.st.data_seq);
                }
                self.repair_overflow_publication();
                Some(lock)
            }
        }
    }

    /// Free bytes for a producer: at least `cap - (tail - head)` with `head` as cached, and
    /// exactly that once `reload`ed; `None` if the reloaded `head` is not in
    /// `tail - cap..=tail` (corrupted: `head` never passes `tail`, nor falls a ring behind).
    fn free(&self, tail: u64, reload: bool) -> Option<u64> {
        let head = if reload {
            let head = self.st.head.load(Acquire);
            self.cache.head.store(head, Relaxed);
            head
        } else {
            self.cache.head.load(Relaxed)
        };
        match tail.checked_sub(head) {
            Some(used) if used <= self.cap => Some(self.cap - used),
            // A cached `head` may be stale (or the initial 0): only a reloaded one is proof.
            _ if !reload => Some(0),
            _ => None,
        }
    }

    /// Finds room for a record of `size` bytes; returns where it starts. Writes a `Wrap`
    /// record first if it would cross the end of the ring (published with the record).
    ///
    /// `deadline` is asked for only when there is no room now, so a `put` that finds room
    /// reads no clock.
    fn reserve<E>(
        &self,
        size: u64,
        deadline: impl FnOnce() -> Option<Instant>,
    ) -> Result<u64, PutFail<E>> {
        let tail = self.st.tail.load(Relaxed);
        // Records are 8-aligned and `cap` is a multiple of 8, so a wrap record (`pad` bytes)
        // always has room for its header: unless `tail` is not aligned. Then publish an
        // aligned `tail` (no item): consumers discard what is before it, and the ring works
        // again.
        if !tail.is_multiple_of(8) {
            if let Some(aligned) = tail.checked_next_multiple_of(8) {
                self.publish(aligned, self.st.puts.load(Relaxed));
                wake::<P>(&self.st.data_seq);
            }
            return Err(PutFail::Corrupt);
        }
        let index = tail & (self.cap - 1);
        // `index < cap` and `size <= cap / 2`: no overflow below.
        let pad = if index + size > self.cap {
            self.cap - index
        } else {
            0
        };
        let need = pad + size;
        if tail.checked_add(need).is_none() {
            return Err(PutFail::Corrupt);
        }
        // A cached `head` that leaves room is enough (`head` only grows); otherwise the
        // reloaded one decides, and proves a corruption if it is out of range.
        if self.free(tail, false).is_none_or(|free| free < need) {
            let fits = || self.free(tail, true).is_none_or(|free| free >= need) || self.is_closed();
            if !wait::<P>(&self.st.space_seq, fits, deadline()) {
                return Err(PutFail::Full);
            }
            match self.free(tail, true) {
                None => return Err(PutFail::Corrupt),
                Some(free) if free < need => return Err(PutFail::Closed), // woken by `close`
                Some(_) => {}
            }
        }
        if pad > 0 {
            // A wrap record whose length covers the rest of the ring.
            let len = u32::try_from(pad - HEADER).unwrap_or(0);
            let header = RecordHeader {
                len,
                kind: RecordKind::Wrap as u32,
            };
            // SAFETY: `tail..tail + pad` is free space of ours (checked above) and lies inside
            // the ring (it ends at its end).
            unsafe { self.bytes.write(index, &header.to_bytes()) };
        }
        Ok(tail + pad)
    }

    /// Publishes everything written up to `tail`, with `puts` items put in all. The caller
    /// then wakes the consumers (`data_seq`), after releasing its lock in `put`.
    fn publish(&self, tail: u64, puts: u64) {
        self.st.pub_puts.store(puts, Release);
        self.st.pub_tail.store(tail, Release);
        self.st.puts.store(puts, Release);
        self.st.tail.store(tail, Release);
        self.st.pub_tail.store(0, Release);
    }

    // ------------------------------------------------------------------ consumers

    /// Takes one item and hands it to `consume` while it is still in the ring.
    pub(crate) fn get<R>(
        &self,
        deadline: Option<Instant>,
        consume: impl FnOnce(Item<'_>) -> R,
    ) -> Result<R, GetFail> {
        let lock = self.lock_consumers(deadline).ok_or(GetFail::Empty)?;
        loop {
            let head = self.st.head.load(Relaxed);
            let out = match self.wait_data(head, deadline) {
                None if self.is_closed() => return Err(GetFail::Closed),
                None => return Err(GetFail::Empty),
                Some(Source::Overflow(ovf_tail)) => self.take_overflow(ovf_tail, consume)?,
                Some(Source::Ring) => {
                    let header = self.header_at(head)?;
                    // `header_at` checked `head + size <= tail`: no overflow.
                    let end = head + record_size(u64::from(header.len));
                    let gets = self.st.gets.load(Relaxed);
                    if header.record_kind() == Some(RecordKind::Wrap) {
                        self.commit(end, gets);
                        wake::<P>(&self.st.space_seq);
                        continue;
                    }
                    // Checked before the item is handed out: it could not be counted as taken.
                    let Some(gets) = gets.checked_add(1) else {
                        return Err(self.discard_all());
                    };
                    let out = self.read_item(head, header, consume)?;
                    self.commit(end, gets);
                    out
                }
            };
            if let Some(slot) = self.my_slot() {
                // Only this process writes its `taken`, under the consumers' lock: no
                // read-modify-write needed (wrapping: the value may have been scribbled on).
                let taken = slot.taken.load(Relaxed).wrapping_add(1);
                slot.taken.store(taken, Release);
            }
            lock.release_and_wake(&self.st.space_seq);
            return Ok(out);
        }
    }

    /// Takes the consumers' lock, repairing after a consumer that died holding it.
    fn lock_consumers(&self, deadline: Option<Instant>) -> Option<SideLock<'a, P>> {
        match raw_lock::lock::<P>(&self.st.read_lock, self.me, deadline) {
            Err(_) => None,
            Ok(Acquired::Clean) => Some(SideLock::new(&self.st.read_lock, self.me)),
            Ok(Acquired::OwnerDied(dead)) => {
                let lock = SideLock::new(&self.st.read_lock, self.me);
                let head = self.st.com_head.load(Acquire);
                trace::repaired("consumer", raw_lock::pid_of(dead), head != 0);
                if head != 0 {
                    // It died committing: finish its commit.
                    self.st.gets.store(self.st.com_gets.load(Acquire), Release);
                    self.st.head.store(head, Release);
                    self.st.com_head.store(0, Release);
                    wake::<P>(&self.st.space_seq);
                }
                self.repair_overflow_commit();
                Some(lock)
            }
        }
    }

    /// Waits until a record is published past `head` in the ring, or in the overflow; `None`
    /// on deadline, or when the queue is closed with nothing left.
    fn wait_data(&self, head: u64, deadline: Option<Instant>) -> Option<Source> {
        // A record in the ring comes before every record in the overflow (see "Overflow").
        if self.cache.tail.load(Relaxed) > head {
            return Some(Source::Ring);
        }
        let found = std::cell::Cell::new(None);
        let ready = || {
            found.set(self.look(head));
            if found.get().is_some() {
                return true;
            }
            if !self.is_closed() {
                return false;
            }
            // Items published before the close were published before we saw it: look again
            // (the first look may predate them).
            found.set(self.look(head));
            true
        };
        if wait::<P>(&self.st.data_seq, ready, deadline) {
            found.get()
        } else {
            None
        }
    }

    /// Reads and checks the record header at `head`; a corrupt ring is emptied. A header it
    /// returns describes a record inside `head..tail` and inside the ring.
    fn header_at(&self, head: u64) -> Result<RecordHeader, GetFail> {
        let index = head & (self.cap - 1);
        let tail = self.cache.tail.load(Relaxed);
        // Not wrapping: a `head` past `tail`, or a ring or more behind it, is corrupted.
        let published = tail.checked_sub(head).filter(|&n| n <= self.cap);
        let Some(published) = published.filter(|_| head.is_multiple_of(8)) else {
            return Err(self.discard_all());
        };
        // SAFETY: `head < tail <= head + cap`, so a published record starts at `head`; its
        // 8-byte header lies within the ring (`head` is 8-aligned, and so is `cap`).
        let header = unsafe {
            self.bytes.read(index, HEADER, |b| {
                RecordHeader::from_bytes(b.try_into().unwrap_or([0; 8]))
            })
        };
        let size = record_size(u64::from(header.len));
        let in_bounds = size <= published && index + size <= self.cap;
        match header.record_kind() {
            Some(_) if in_bounds => Ok(header),
            // Not a record mproc writes: nothing after it can be trusted either.
            _ => Err(self.discard_all()),
        }
    }

    /// Calls `consume` with the item in the `Data` record at `head`.
    fn read_item<R>(
        &self,
        head: u64,
        header: RecordHeader,
        consume: impl FnOnce(Item<'_>) -> R,
    ) -> Result<R, GetFail> {
        let index = (head & (self.cap - 1)) + HEADER;
        if !well_formed(header) {
            return Err(self.discard_all());
        }
        // SAFETY: the record is published (`head + size <= tail`) and inside the ring (checked
        // by `header_at`); consumers own it until the commit, and this one holds their lock.
        Ok(unsafe {
            self.bytes.read(index, u64::from(header.len), |bytes| {
                self.hand_out(header, bytes, consume)
            })
        })
    }

    /// Calls `consume` with the payload `bytes` of a well-formed `Data` record, and the
    /// reference to its side message if it has one (noting that this consumer is about to
    /// take it: see `side_taking`).
    fn hand_out<R>(
        &self,
        header: RecordHeader,
        bytes: &[u8],
        consume: impl FnOnce(Item<'_>) -> R,
    ) -> R {
        if header.kind & SIDE == 0 {
            return consume(Item { bytes, side: None });
        }
        // A well-formed record with a side message holds its number first.
        let (seq, bytes) = bytes.split_at(8.min(bytes.len()));
        let seq = u64::from_le_bytes(seq.try_into().unwrap_or([0; 8]));
        let before = self.st.side_taking.swap(seq.wrapping_add(1), SeqCst);
        let side = SideRef {
            seq,
            spilled: header.kind & SPILLED != 0,
            maybe_taken: before == seq.wrapping_add(1),
        };
        consume(Item {
            bytes,
            side: Some(side),
        })
    }

    /// Frees everything up to `head`, with `gets` items taken in all. The caller then wakes
    /// the producers (`space_seq`), after releasing its lock in `get`.
    fn commit(&self, head: u64, gets: u64) {
        self.st.com_gets.store(gets, Release);
        self.st.com_head.store(head, Release);
        self.st.gets.store(gets, Release);
        self.st.head.store(head, Release);
        self.st.com_head.store(0, Release);
    }

    /// Empties a ring found corrupted: every item in it counts as taken and done (so joiners
    /// are not left waiting for them).
    fn discard_all(&self) -> GetFail {
        let ovf_tail = self
            .bytes
            .has_overflow()
            .then(|| self.st.ovf_tail.load(Acquire));
        let tail = self.st.tail.load(Acquire);
        let (puts, gets) = (self.st.puts.load(Relaxed), self.st.gets.load(Relaxed));
        let lost = puts.saturating_sub(gets);
        self.cache.tail.store(tail, Relaxed);
        // Every item put counts as taken: `gets + lost`, which cannot overflow.
        self.commit(tail, gets.max(puts));
        if let Some(ovf_tail) = ovf_tail {
            self.commit_overflow(ovf_tail, gets.max(puts));
        }
        wake::<P>(&self.st.space_seq);
        self.st.done.fetch_add(lost, SeqCst);
        wake::<P>(&self.st.join_seq);
        GetFail::Corrupt
    }
}
