//! The shared-memory ring floor: a single-producer single-consumer ring of `u64` items.
//!
//! Minimal on purpose: two indices on their own cache lines, each side caching the other's
//! index and re-reading it only when the ring looks full (producer) or empty (consumer), and
//! busy-waiting (spin, then `sched_yield`) instead of sleeping.
//!
//! # Memory ordering
//! The producer writes the slot, then publishes `head` with `Release`; the consumer reads
//! `head` with `Acquire` before reading the slot. Symmetrically, the consumer publishes `tail`
//! with `Release` after reading the slot, and the producer reads it with `Acquire` before
//! reusing the slot.

use std::sync::atomic::{AtomicU64, Ordering};

use super::spin_until;
use crate::outcome::Error;
use crate::sys::shm::ShmRegion;

const HEAD: usize = 0;
const TAIL: usize = 64;
const SLOTS: usize = 128;

/// The ring's shared state; create it before forking producer and consumer.
#[derive(Debug)]
pub(crate) struct Ring {
    shm: ShmRegion,
    capacity: usize,
}

impl Ring {
    /// A ring of `capacity` slots (a power of two).
    pub(crate) fn new(capacity: usize) -> Result<Self, Error> {
        assert!(
            capacity.is_power_of_two(),
            "invariant: ring capacity is a power of two"
        );
        Ok(Self {
            shm: ShmRegion::new(SLOTS + 8 * capacity)?,
            capacity,
        })
    }

    /// The producing end; use it in exactly one process.
    pub(crate) fn producer(&self) -> Producer<'_> {
        Producer {
            head_word: self.shm.u64_at(HEAD),
            tail_word: self.shm.u64_at(TAIL),
            slots: self.shm.u64_slice(SLOTS, self.capacity),
            head: 0,
            cached_tail: 0,
        }
    }

    /// The consuming end; use it in exactly one process.
    pub(crate) fn consumer(&self) -> Consumer<'_> {
        Consumer {
            head_word: self.shm.u64_at(HEAD),
            tail_word: self.shm.u64_at(TAIL),
            slots: self.shm.u64_slice(SLOTS, self.capacity),
            tail: 0,
            cached_head: 0,
        }
    }
}

/// The producing end of a [`Ring`].
#[derive(Debug)]
pub(crate) struct Producer<'a> {
    head_word: &'a AtomicU64,
    tail_word: &'a AtomicU64,
    slots: &'a [AtomicU64],
    head: u64,
    cached_tail: u64,
}

impl Producer<'_> {
    /// Appends `item`, waiting while the ring is full.
    pub(crate) fn push(&mut self, item: u64) -> Result<(), Error> {
        let capacity = self.slots.len() as u64;
        if self.head - self.cached_tail == capacity {
            let (head, tail_word, cached) = (self.head, self.tail_word, &mut self.cached_tail);
            spin_until(
                || {
                    *cached = tail_word.load(Ordering::Acquire);
                    head - *cached < capacity
                },
                "room in the ring",
            )?;
        }
        self.slots[index(self.head, self.slots.len())].store(item, Ordering::Relaxed);
        self.head += 1;
        self.head_word.store(self.head, Ordering::Release);
        Ok(())
    }
}

/// The consuming end of a [`Ring`].
#[derive(Debug)]
pub(crate) struct Consumer<'a> {
    head_word: &'a AtomicU64,
    tail_word: &'a AtomicU64,
    slots: &'a [AtomicU64],
    tail: u64,
    cached_head: u64,
}

impl Consumer<'_> {
    /// Takes the oldest item, waiting while the ring is empty.
    pub(crate) fn pop(&mut self) -> Result<u64, Error> {
        if self.tail == self.cached_head {
            let (tail, head_word, cached) = (self.tail, self.head_word, &mut self.cached_head);
            spin_until(
                || {
                    *cached = head_word.load(Ordering::Acquire);
                    *cached != tail
                },
                "an item in the ring",
            )?;
        }
        let item = self.slots[index(self.tail, self.slots.len())].load(Ordering::Relaxed);
        self.tail += 1;
        self.tail_word.store(self.tail, Ordering::Release);
        Ok(item)
    }
}

/// The slot of position `position` in a ring of `len` (a power of two) slots.
fn index(position: u64, len: usize) -> usize {
    // Truncation is the point: the low bits select the slot.
    #[allow(clippy::cast_possible_truncation, reason = "masking to the ring size")]
    let low = position as usize;
    low & (len - 1)
}
