//! How a chunk's outcomes travel from a worker: the values of the tasks that returned, as one
//! plain sequence, then the failures with their positions.
//!
//! Failures are rare, so they are kept apart: a chunk whose tasks all returned decodes as the
//! `Vec<R>` `map` returns, with no per-item tag, no per-item `Result` to unwrap and no copy.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, Error as _, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use super::task::ItemFailure;

/// One chunk's outcomes.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Outcomes<R> {
    /// The values of the tasks that returned, in chunk order.
    values: Vec<R>,
    /// The tasks that failed: position in the chunk (increasing), and how.
    failures: Vec<(u32, ItemFailure)>,
}

/// Positions of failures that do not fit their chunk (out of order or past its end): the
/// report is garbled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Garbled;

impl<R> Outcomes<R> {
    /// Room for `n` values, no failure yet.
    pub(crate) fn with_capacity(n: usize) -> Self {
        Self {
            values: Vec::with_capacity(n),
            failures: Vec::new(),
        }
    }

    /// The next task returned `value`.
    pub(crate) fn push_value(&mut self, value: R) {
        self.values.push(value);
    }

    /// The next task failed.
    pub(crate) fn push_failure(&mut self, failure: ItemFailure) {
        let position = u32::try_from(self.len()).unwrap_or(u32::MAX);
        self.failures.push((position, failure));
    }

    /// The tasks accounted for.
    pub(crate) fn len(&self) -> usize {
        self.values.len() + self.failures.len()
    }

    /// Every value, in order, or the first failure (Python's `map` raises the first).
    pub(crate) fn into_values(self) -> Result<Vec<R>, ItemFailure> {
        match self.failures.into_iter().next() {
            None => Ok(self.values),
            Some((_, failure)) => Err(failure),
        }
    }

    /// Each task's outcome, in chunk order.
    ///
    /// # Errors
    /// [`Garbled`] if the failures' positions are not increasing or fall past the chunk.
    pub(crate) fn into_items(self) -> Result<Vec<Result<R, ItemFailure>>, Garbled> {
        let total = self.len();
        let mut items = Vec::with_capacity(total);
        let mut values = self.values.into_iter();
        for (position, failure) in self.failures {
            let position = usize::try_from(position).map_err(|_| Garbled)?;
            if position < items.len() || position >= total {
                return Err(Garbled);
            }
            while items.len() < position {
                items.push(Ok(values.next().ok_or(Garbled)?));
            }
            items.push(Err(failure));
        }
        items.extend(values.map(Ok));
        Ok(items)
    }

    /// Outcomes holding `items`, in order.
    pub(crate) fn from_items(items: Vec<Result<R, ItemFailure>>) -> Self {
        let mut outcomes = Self::with_capacity(items.len());
        for item in items {
            match item {
                Ok(value) => outcomes.push_value(value),
                Err(failure) => outcomes.push_failure(failure),
            }
        }
        outcomes
    }
}

/// Decodes one chunk's [`Outcomes`], appending its values to a vector the caller holds (a
/// `map`'s output, chunk after chunk, with no vector per chunk), and gives its failures.
pub(crate) struct AppendValues<'a, R>(pub(crate) &'a mut Vec<R>);

/// Values no chunk's declared length may make a vector reserve room for up front (the length
/// comes from a worker: the room grows with the values actually decoded beyond it).
const PREALLOC_BYTES: usize = 1 << 20;

impl<'de, R: Deserialize<'de>> DeserializeSeed<'de> for AppendValues<'_, R> {
    type Value = Vec<(u32, ItemFailure)>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_struct("Outcomes", &["values", "failures"], self)
    }
}

impl<'de, R: Deserialize<'de>> Visitor<'de> for AppendValues<'_, R> {
    type Value = Vec<(u32, ItemFailure)>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a chunk's outcomes")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        seq.next_element_seed(ValuesInto(self.0))?
            .ok_or_else(|| A::Error::invalid_length(0, &"a chunk's outcomes"))?;
        seq.next_element()?
            .ok_or_else(|| A::Error::invalid_length(1, &"a chunk's outcomes"))
    }
}

/// The values' sequence, pushed onto the vector.
struct ValuesInto<'a, R>(&'a mut Vec<R>);

impl<'de, R: Deserialize<'de>> DeserializeSeed<'de> for ValuesInto<'_, R> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, R: Deserialize<'de>> Visitor<'de> for ValuesInto<'_, R> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a sequence of values")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let most = PREALLOC_BYTES / std::mem::size_of::<R>().max(1);
        self.0.reserve(seq.size_hint().unwrap_or(0).min(most));
        while let Some(value) = seq.next_element()? {
            self.0.push(value);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::panic::PanicReport;

    fn failed(message: &str) -> ItemFailure {
        ItemFailure::Panicked(PanicReport {
            message: message.to_owned(),
            location: None,
            backtrace: None,
        })
    }

    fn message(item: &Result<u8, ItemFailure>) -> Option<&str> {
        match item {
            Err(ItemFailure::Panicked(r)) => Some(&r.message),
            _ => None,
        }
    }

    #[test]
    fn items_come_back_in_order_around_failures() {
        let mut o = Outcomes::with_capacity(5);
        o.push_failure(failed("first"));
        o.push_value(1u8);
        o.push_value(2);
        o.push_failure(failed("fourth"));
        o.push_value(5);
        let items = o.into_items().unwrap();
        assert_eq!(items.len(), 5);
        assert_eq!(message(&items[0]), Some("first"));
        assert!(matches!(items[1..3], [Ok(1), Ok(2)]));
        assert_eq!(message(&items[3]), Some("fourth"));
        assert!(matches!(items[4], Ok(5)));
    }

    #[test]
    fn values_are_all_or_the_first_failure() {
        let all = Outcomes::from_items(vec![Ok(1u8), Ok(2)]);
        assert_eq!(all.into_values().unwrap(), [1, 2]);
        let some = Outcomes::from_items(vec![Ok(1u8), Err(failed("a")), Err(failed("b"))]);
        assert!(matches!(some.into_values(), Err(ItemFailure::Panicked(r)) if r.message == "a"));
    }

    #[test]
    fn appending_decodes_each_chunk_after_the_last_and_gives_its_failures() {
        let mut out = vec![7u8];
        let first = crate::codec::encode(&Outcomes::from_items(vec![Ok(1u8), Ok(2)])).unwrap();
        let failures =
            crate::codec::decode_seed(&first.bytes, Vec::new(), AppendValues(&mut out), "u8")
                .unwrap();
        assert!(failures.is_empty());
        let second =
            crate::codec::encode(&Outcomes::from_items(vec![Ok(3u8), Err(failed("x"))])).unwrap();
        let failures =
            crate::codec::decode_seed(&second.bytes, Vec::new(), AppendValues(&mut out), "u8")
                .unwrap();
        assert_eq!(out, [7, 1, 2, 3]);
        assert!(matches!(&failures[..], [(1, ItemFailure::Panicked(r))] if r.message == "x"));
        // Cut short, or with bytes after it: an error, never a panic.
        for bytes in [
            &second.bytes[..second.bytes.len() - 1],
            &[second.bytes.as_slice(), &[0]].concat(),
        ] {
            let got = crate::codec::decode_seed(
                bytes,
                Vec::new(),
                AppendValues(&mut Vec::<u8>::new()),
                "u8",
            );
            assert!(got.is_err());
        }
    }

    #[test]
    fn a_declared_length_reserves_a_bounded_room() {
        // A chunk that claims 2^60 values and holds none (a length is a varint, as a u64).
        let bytes = postcard::to_allocvec(&(1u64 << 60)).unwrap();
        let mut out = Vec::<u64>::new();
        let got = crate::codec::decode_seed(&bytes, Vec::new(), AppendValues(&mut out), "u64");
        assert!(got.is_err());
        assert!(out.capacity() * 8 <= PREALLOC_BYTES);
        // A length of 2^21 with that many bytes behind it (so the deserializer believes the
        // hint), none of them a valid value: only the room reserved up front is left, and it
        // stays within the bound.
        let n = 1usize << 21;
        let mut bytes = postcard::to_allocvec(&(n as u64)).unwrap();
        bytes.extend(std::iter::repeat_n(0xFFu8, n));
        let mut out = Vec::<u64>::new();
        let got = crate::codec::decode_seed(&bytes, Vec::new(), ValuesInto(&mut out), "u64");
        assert!(got.is_err());
        assert!(out.is_empty());
        assert!(out.capacity() * 8 <= PREALLOC_BYTES, "{}", out.capacity());
    }

    #[test]
    fn positions_that_do_not_fit_are_garbled() {
        let garbled = |failures: Vec<u32>| Outcomes {
            values: vec![0u8; 2],
            failures: failures.into_iter().map(|p| (p, failed("x"))).collect(),
        };
        assert!(garbled(vec![3]).into_items().is_err(), "past the end");
        assert!(garbled(vec![1, 1]).into_items().is_err(), "twice");
        assert!(garbled(vec![2, 0]).into_items().is_err(), "out of order");
        assert!(garbled(vec![u32::MAX]).into_items().is_err());
        assert_eq!(garbled(vec![0, 3]).into_items().unwrap().len(), 4);
    }
}
