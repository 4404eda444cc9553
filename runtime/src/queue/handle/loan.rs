//! Loans: a `Queue<ByteBuf>`'s bytes written straight into the ring by the producer and read
//! in place by the consumer, with no serialization buffer on either side.
//!
//! An item put with [`Queue::put_with`] is an ordinary `ByteBuf` item (its postcard length
//! prefix, then its bytes), so `get` takes it as one, and [`Queue::get_with`] reads any
//! `ByteBuf` item in place, however it was put.

use std::time::{Duration, Instant};

use super::{Queue, put_error};
use crate::codec::{self, ByteBuf};
use crate::queue::QueueError;
use crate::queue::ring::{Body, Item};
use crate::sync::deadline;

/// The longest postcard varint (a `u64`).
const MAX_PREFIX: usize = 10;

impl Queue<ByteBuf> {
    /// Puts an item of `len` bytes that `fill` writes in place, straight into the queue's
    /// shared memory (a loan: no buffer of the item's size is made on this side, and nothing
    /// is copied after `fill`). The item is an ordinary `ByteBuf`: [`get`](Queue::get) takes
    /// it as one, [`get_with`](Queue::get_with) reads it in place.
    ///
    /// `fill` gets exactly `len` bytes, whose contents are unspecified until it writes them;
    /// it runs while this producer holds the producers' side of the queue, so other
    /// producers wait for it (keep it to writing the bytes). If it panics, nothing is put and
    /// the queue is as before. An item larger than the ring takes (half of its bytes) is
    /// filled in a buffer of its own and put as `put` would.
    ///
    /// # Errors
    /// As [`put`](Queue::put).
    pub fn put_with(&self, len: usize, fill: impl FnOnce(&mut [u8])) -> Result<(), QueueError> {
        self.put_with_until(len, fill, None)
    }

    /// [`put_with`](Queue::put_with), waiting at most `timeout` for room.
    ///
    /// # Errors
    /// [`QueueError::Full`] when the time is up, or as [`put`](Queue::put).
    pub fn put_with_timeout(
        &self,
        len: usize,
        fill: impl FnOnce(&mut [u8]),
        timeout: Duration,
    ) -> Result<(), QueueError> {
        self.put_with_until(len, fill, deadline::after(timeout))
    }

    /// Takes the next item and calls `read` with its bytes where they lie in the queue's
    /// shared memory (no copy, no allocation for items that travelled in the ring); returns
    /// what `read` returns. The item is taken once `read` returns.
    ///
    /// # Errors
    /// As [`get`](Queue::get); [`QueueError::Decode`] if the item is not a `ByteBuf`'s
    /// encoding (the item was taken).
    pub fn get_with<R>(&self, read: impl FnOnce(&[u8]) -> R) -> Result<R, QueueError> {
        self.get_with_deadline(read, None)
    }

    /// [`get_with`](Queue::get_with), waiting at most `timeout` for an item.
    ///
    /// # Errors
    /// [`QueueError::Empty`] when the time is up, or as [`get_with`](Queue::get_with).
    pub fn get_with_timeout<R>(
        &self,
        read: impl FnOnce(&[u8]) -> R,
        timeout: Duration,
    ) -> Result<R, QueueError> {
        self.get_with_deadline(read, deadline::after(timeout))
    }

    fn put_with_until(
        &self,
        len: usize,
        fill: impl FnOnce(&mut [u8]),
        deadline: Option<Instant>,
    ) -> Result<(), QueueError> {
        let mut prefix = [0u8; MAX_PREFIX];
        let prefix = varint(len as u64, &mut prefix);
        let total = (prefix.len() + len) as u64;
        let ring = self.ring();
        if total > ring.max_payload() {
            let mut item = ByteBuf(vec![0; len]);
            fill(&mut item);
            return self.put_until(&item, deadline);
        }
        let mut fill = Some(fill);
        let mut write = |buf: &mut [u8]| {
            let (head, body) = buf.split_at_mut(prefix.len());
            head.copy_from_slice(prefix);
            if let Some(fill) = fill.take() {
                fill(body);
            }
        };
        ring.put(Body::<QueueError>::Fill(total, &mut write), deadline)
            .map_err(|fail| put_error(&ring, fail))
    }

    fn get_with_deadline<R>(
        &self,
        read: impl FnOnce(&[u8]) -> R,
        deadline: Option<Instant>,
    ) -> Result<R, QueueError> {
        let mut read = Some(read);
        self.get_with_until(deadline, |item: Item<'_>| {
            if item.side.is_none()
                && let Some(bytes) = in_place(item.bytes)
            {
                return read.take().map(|read| Ok(read(bytes)));
            }
            // With a side message, or not a prefix and bytes: decode it (a `ByteBuf` whose
            // bytes came apart from the record, or the typed error).
            let decoded = if item.side.is_none() {
                Some(codec::decode::<ByteBuf>(item.bytes, Vec::new()).map_err(QueueError::Decode))
            } else {
                self.take(item)
            };
            decoded
                .map(|got| got.map(|buf| read.take().map(|read| read(&buf))))
                .and_then(Result::transpose)
        })
    }
}

/// The bytes of a `ByteBuf` encoded as `encoded` (its length prefix, then exactly that many
/// bytes), or `None` if it is not one.
fn in_place(encoded: &[u8]) -> Option<&[u8]> {
    let mut len: u64 = 0;
    for (i, (&byte, shift)) in encoded.iter().zip((0..64).step_by(7)).enumerate() {
        len |= u64::from(byte & 0x7f).checked_shl(shift)?;
        if byte & 0x80 == 0 {
            let rest = &encoded[i + 1..];
            return (rest.len() as u64 == len).then_some(rest);
        }
    }
    None
}

/// `n` as a postcard varint (LEB128) in `buf`; returns the bytes used.
fn varint(mut n: u64, buf: &mut [u8; MAX_PREFIX]) -> &[u8] {
    let mut i = 0;
    loop {
        let low = u8::try_from(n & 0x7f).unwrap_or(0);
        n >>= 7;
        if n == 0 {
            buf[i] = low;
            return &buf[..=i];
        }
        buf[i] = low | 0x80;
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prefix_is_postcards_and_in_place_inverts_it() {
        for len in [0usize, 1, 127, 128, 300, 16_383, 16_384, 1 << 20] {
            let item = ByteBuf(vec![9; len]);
            let encoded = postcard::to_stdvec(&item).unwrap();
            let mut buf = [0; MAX_PREFIX];
            let prefix = varint(len as u64, &mut buf);
            assert_eq!(prefix, &encoded[..prefix.len()], "{len}");
            assert_eq!(in_place(&encoded), Some(&item[..]), "{len}");
        }
    }

    #[test]
    fn in_place_refuses_what_is_not_a_prefix_and_its_bytes() {
        assert_eq!(in_place(&[]), None);
        assert_eq!(in_place(&[3, 1, 2]), None, "too short");
        assert_eq!(in_place(&[1, 1, 2]), None, "too long");
        assert_eq!(in_place(&[0x80; 11]), None, "no end to the prefix");
        assert_eq!(in_place(&[0xff; 10]), None, "longer than a u64");
        assert_eq!(in_place(&[2, 5, 6]), Some(&[5u8, 6][..]));
    }
}
