//! A job's chunk results by chunk number, between their arrival and the caller taking them.
//!
//! Chunks are numbered from 0 and mostly arrive in about that order, so the results sit in a
//! deque indexed by number (no tree to keep balanced: that was 17 % of the pool thread's time
//! with one task per chunk). A min-heap of the numbers that arrived answers "the lowest one
//! that is here" (`imap_unordered`) in logarithmic time whatever the order of arrival.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use super::job::Slot;

/// One chunk number's entry.
#[derive(Debug)]
enum Entry {
    /// Its result has not come.
    Pending,
    Ready(Slot),
    /// Its result was taken.
    Taken,
}

/// The results that came and were not taken, by chunk number.
#[derive(Debug, Default)]
pub(crate) struct Slots {
    /// Entry `i` is chunk `base + i`'s; the chunks before `base` were all taken.
    entries: VecDeque<Entry>,
    base: u32,
    /// The numbers of the results that came, lowest first, some of them taken since (skipped
    /// and dropped when met; rebuilt when they outnumber the others).
    arrived: BinaryHeap<Reverse<u32>>,
    /// Results here.
    len: usize,
}

impl Slots {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Keeps chunk `chunk`'s result. A chunk's result comes once (the pool thread takes a
    /// chunk from the worker that held it before completing it); one that comes again, or
    /// after it was taken, is dropped.
    pub(crate) fn insert(&mut self, chunk: u32, slot: Slot) {
        let Some(index) = chunk.checked_sub(self.base) else {
            return;
        };
        let index = index as usize;
        if index >= self.entries.len() {
            self.entries.resize_with(index + 1, || Entry::Pending);
        }
        if matches!(self.entries[index], Entry::Pending) {
            self.entries[index] = Entry::Ready(slot);
            self.len += 1;
            self.arrived.push(Reverse(chunk));
        }
    }

    pub(crate) fn contains(&self, chunk: u32) -> bool {
        matches!(self.entry(chunk), Some(Entry::Ready(_)))
    }

    /// Takes chunk `chunk`'s result, if it is here.
    pub(crate) fn remove(&mut self, chunk: u32) -> Option<Slot> {
        let index = self.index(chunk)?;
        let slot = match std::mem::replace(&mut self.entries[index], Entry::Taken) {
            Entry::Ready(slot) => slot,
            other => {
                self.entries[index] = other;
                return None;
            }
        };
        self.len -= 1;
        self.trim();
        if self.arrived.len() > 2 * self.len + 64 {
            self.rebuild_arrived();
        }
        Some(slot)
    }

    /// Takes the result of the lowest-numbered chunk here.
    pub(crate) fn pop_first(&mut self) -> Option<(u32, Slot)> {
        while let Some(Reverse(chunk)) = self.arrived.pop() {
            if let Some(slot) = self.remove(chunk) {
                return Some((chunk, slot));
            }
        }
        None
    }

    /// The results here, lowest chunk number first.
    pub(crate) fn values(&self) -> impl Iterator<Item = &Slot> {
        self.entries.iter().filter_map(|entry| match entry {
            Entry::Ready(slot) => Some(slot),
            Entry::Pending | Entry::Taken => None,
        })
    }

    fn index(&self, chunk: u32) -> Option<usize> {
        let index = chunk.checked_sub(self.base)? as usize;
        (index < self.entries.len()).then_some(index)
    }

    fn entry(&self, chunk: u32) -> Option<&Entry> {
        self.entries.get(self.index(chunk)?)
    }

    /// Drops the taken entries at the front.
    fn trim(&mut self) {
        while matches!(self.entries.front(), Some(Entry::Taken)) {
            self.entries.pop_front();
            self.base += 1;
        }
    }

    /// The arrived numbers of the results still here.
    fn rebuild_arrived(&mut self) {
        let base = self.base;
        self.arrived = (base..)
            .zip(&self.entries)
            .filter(|(_, entry)| matches!(entry, Entry::Ready(_)))
            .map(|(chunk, _)| Reverse(chunk))
            .collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pool::job::Failure;

    fn slot(tag: u32) -> Slot {
        Slot::Done {
            bytes: tag.to_le_bytes().to_vec(),
            fds: Vec::new(),
        }
    }

    fn tag(slot: &Slot) -> u32 {
        match slot {
            Slot::Done { bytes, .. } => u32::from_le_bytes(bytes[..4].try_into().unwrap()),
            Slot::Failed(_) => u32::MAX,
        }
    }

    #[test]
    fn values_come_in_chunk_order_whatever_the_order_of_arrival() {
        let mut slots = Slots::default();
        for chunk in [3, 0, 2, 5] {
            slots.insert(chunk, slot(chunk));
        }
        let tags: Vec<u32> = slots.values().map(tag).collect();
        assert_eq!(tags, [0, 2, 3, 5]);
        assert_eq!(slots.len(), 4);
        assert!(!slots.is_empty());
        assert!(slots.contains(5) && !slots.contains(1) && !slots.contains(9));
    }

    #[test]
    fn pop_first_takes_the_lowest_here_and_skips_those_taken_by_number() {
        let mut slots = Slots::default();
        for chunk in [4, 1, 7, 2] {
            slots.insert(chunk, slot(chunk));
        }
        assert_eq!(slots.remove(1).as_ref().map(tag), Some(1));
        assert_eq!(slots.pop_first().map(|(c, s)| (c, tag(&s))), Some((2, 2)));
        slots.insert(0, slot(0));
        assert_eq!(slots.pop_first().map(|(c, s)| (c, tag(&s))), Some((0, 0)));
        assert_eq!(slots.pop_first().map(|(c, _)| c), Some(4));
        assert_eq!(slots.pop_first().map(|(c, _)| c), Some(7));
        assert!(slots.pop_first().is_none() && slots.is_empty());
    }

    #[test]
    fn a_result_that_comes_twice_or_after_it_was_taken_is_dropped() {
        let mut slots = Slots::default();
        slots.insert(0, slot(1));
        slots.insert(0, slot(2));
        assert_eq!(slots.remove(0).as_ref().map(tag), Some(1));
        slots.insert(0, Slot::Failed(Failure::Terminated));
        assert!(slots.is_empty() && slots.remove(0).is_none());
        assert_eq!(slots.base, 1, "the taken front is dropped");
    }

    #[test]
    fn a_chunk_not_here_is_none_wherever_it_would_be() {
        let mut slots = Slots::default();
        assert!(slots.remove(0).is_none() && slots.pop_first().is_none());
        slots.insert(2, slot(2));
        for chunk in [0, 1, 3, 4] {
            assert!(!slots.contains(chunk), "{chunk}");
            assert!(slots.remove(chunk).is_none(), "{chunk}");
        }
        assert_eq!(slots.len(), 1);
    }

    #[test]
    fn taking_by_number_keeps_the_heap_bounded() {
        let mut slots = Slots::default();
        // Results never taken keep their numbers; taken ones are dropped by the rebuilds.
        for chunk in 0..1_000 {
            slots.insert(2 * chunk, slot(0));
        }
        for chunk in 0..10_000 {
            slots.insert(2 * chunk + 1, slot(0));
            assert!(slots.remove(2 * chunk + 1).is_some());
            let bound = 2 * slots.len() + 64;
            assert!(
                slots.arrived.len() <= bound,
                "{} numbers kept",
                slots.arrived.len()
            );
        }
        assert_eq!(slots.len(), 1_000);
        let firsts: Vec<u32> = (0..3)
            .filter_map(|_| slots.pop_first().map(|(c, _)| c))
            .collect();
        assert_eq!(firsts, [0, 2, 4]);
    }

    #[test]
    fn a_heap_of_taken_numbers_alone_is_emptied() {
        let mut slots = Slots::default();
        for chunk in 0..10_000 {
            slots.insert(chunk, slot(0));
            assert!(slots.remove(chunk).is_some());
        }
        assert!(
            slots.arrived.len() <= 64,
            "{} numbers kept",
            slots.arrived.len()
        );
        assert!(slots.entries.is_empty());
    }
}
