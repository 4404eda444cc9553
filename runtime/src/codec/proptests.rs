//! Property tests of decoding (issue #15): arbitrary bytes and arbitrary descriptor tables,
//! decoded as plain values and as every kind of handle, give a typed error or a value, never a
//! panic, and never an allocation of a size the bytes declared.

use std::collections::BTreeMap;
use std::os::fd::OwnedFd;

use proptest::collection::vec;
use proptest::prelude::*;
use serde::{Deserialize, Serialize};

use super::{ByteBuf, CodecError, Fd, decode, encode};
use crate::__fuzz::{self, ALLOC_LIMIT, F_RING_MISALIGNED, F_RING_OVERFLOW, Known};
use crate::{Lock, Queue};

/// A value with most serde shapes: enums, options, maps, strings, byte strings, sequences.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Shape {
    Unit,
    Int(i64, u128),
    Text(String, Option<char>),
    Bytes(ByteBuf),
    Seq(Vec<u16>),
    Map(BTreeMap<String, Vec<u8>>),
    Float(f64),
}

fn shape() -> impl Strategy<Value = Shape> {
    prop_oneof![
        Just(Shape::Unit),
        (any::<i64>(), any::<u128>()).prop_map(|(a, b)| Shape::Int(a, b)),
        (".{0,20}", any::<Option<char>>()).prop_map(|(s, c)| Shape::Text(s, c)),
        vec(any::<u8>(), 0..64).prop_map(|b| Shape::Bytes(ByteBuf(b))),
        vec(any::<u16>(), 0..32).prop_map(Shape::Seq),
        proptest::collection::btree_map(".{0,8}", vec(any::<u8>(), 0..8), 0..4)
            .prop_map(Shape::Map),
        (-1e9f64..1e9).prop_map(Shape::Float),
    ]
}

/// Decodes `bytes` as `T` and checks the allocation bound.
fn decode_bounded<T: serde::de::DeserializeOwned>(bytes: &[u8], fds: Vec<OwnedFd>) -> Option<T> {
    let (got, largest) = __fuzz::largest_alloc(|| decode::<T>(bytes, fds));
    assert!(
        largest <= ALLOC_LIMIT + 4 * bytes.len(),
        "decoding {} bytes as {} allocated {largest} bytes at once",
        bytes.len(),
        std::any::type_name::<T>()
    );
    match got {
        Ok(v) => Some(v),
        Err(CodecError::Deserialize { .. }) => None,
        Err(e) => panic!("decoding gave a serialization error: {e}"),
    }
}

fn devnull() -> OwnedFd {
    std::fs::File::open("/dev/null").unwrap().into()
}

proptest! {
    #![proptest_config(__fuzz::proptest_config(256))]

    /// Arbitrary bytes with an arbitrary table (segments with generated headers, memfds,
    /// sockets, pipes...), decoded as each type of `__fuzz::CODEC_TYPES`.
    #[test]
    fn arbitrary_bytes_and_descriptors_decode_or_fail_typed(data in vec(any::<u8>(), 0..700)) {
        __fuzz::codec(&data, Known::of(&[F_RING_OVERFLOW, F_RING_MISALIGNED]));
    }

    /// Arbitrary bytes as plain values whose lengths the bytes declare (sequences, strings,
    /// maps, byte strings): a lying length is an error, not a reservation.
    #[test]
    fn plain_values_from_arbitrary_bytes(bytes in vec(any::<u8>(), 0..256)) {
        decode_bounded::<Shape>(&bytes, Vec::new());
        decode_bounded::<Vec<Shape>>(&bytes, Vec::new());
        decode_bounded::<(String, Vec<u64>, ByteBuf)>(&bytes, Vec::new());
        decode_bounded::<BTreeMap<u32, String>>(&bytes, Vec::new());
    }

    /// Lengths near the limits in front of short bodies.
    #[test]
    fn huge_declared_lengths_are_errors(len in any::<u64>(), body in vec(any::<u8>(), 0..16)) {
        let mut bytes = Vec::new();
        let mut n = len;
        loop {
            let byte = (n & 0x7F) as u8;
            n >>= 7;
            if n == 0 {
                bytes.push(byte);
                break;
            }
            bytes.push(byte | 0x80);
        }
        bytes.extend_from_slice(&body);
        let long = len > body.len() as u64;
        prop_assert!(!long || decode_bounded::<ByteBuf>(&bytes, Vec::new()).is_none());
        prop_assert!(!long || decode_bounded::<String>(&bytes, Vec::new()).is_none());
        decode_bounded::<Vec<u64>>(&bytes, Vec::new());
        decode_bounded::<Vec<Vec<u8>>>(&bytes, Vec::new());
    }

    /// Values round trip; any corruption of their bytes decodes to something or fails typed.
    #[test]
    fn values_round_trip_and_corruptions_fail_typed(
        values in vec(shape(), 0..6),
        flip in any::<(usize, u8)>(),
        cut in any::<usize>(),
    ) {
        let enc = encode(&values).unwrap();
        prop_assert_eq!(decode::<Vec<Shape>>(&enc.bytes, Vec::new()).unwrap(), values);
        let mut bytes = enc.bytes.clone();
        if !bytes.is_empty() {
            let at = flip.0 % bytes.len();
            bytes[at] ^= flip.1 | 1;
            decode_bounded::<Vec<Shape>>(&bytes, Vec::new());
            decode_bounded::<Vec<Shape>>(&enc.bytes[..cut % enc.bytes.len()], Vec::new());
        }
    }

    /// The appending flavor writes exactly postcard's bytes after what the buffer held,
    /// whatever its length and spare capacity (its short runs are copied into the spare
    /// capacity before the length is set).
    #[test]
    fn encoding_is_postcards_bytes_after_any_prefix(
        values in vec(shape(), 0..6),
        prefix in vec(any::<u8>(), 0..40),
        spare in 0usize..40,
    ) {
        let mut bytes = Vec::with_capacity(prefix.len() + spare);
        bytes.extend_from_slice(&prefix);
        super::encode_into(&values, &mut bytes, &mut Vec::new()).unwrap();
        let mut expected = prefix;
        expected.extend(postcard::to_allocvec(&values).unwrap());
        prop_assert_eq!(bytes, expected);
    }

    /// A real value holding handles, with its bytes corrupted or its table shuffled: every
    /// handle then checks the descriptor it is given.
    #[test]
    fn handles_with_corrupted_bytes_or_shuffled_tables(
        flip in any::<(usize, u8)>(),
        order in Just(vec![0usize, 1, 2, 3, 4, 5]).prop_shuffle(),
        keep in 0usize..7,
    ) {
        let q = Queue::<u32>::builder().ring_bytes(4096).build().unwrap();
        let value = (Lock::new().unwrap(), q, Fd::from(devnull()));
        let enc = encode(&value).unwrap();
        prop_assert_eq!(enc.fds.len(), 6);
        let mut table: Vec<Option<OwnedFd>> = enc.fds.into_iter().map(Some).collect();
        let shuffled: Vec<OwnedFd> = order
            .iter()
            .take(keep)
            .filter_map(|&i| table[i].take())
            .collect();
        decode_bounded::<(Lock, Queue<u32>, Fd)>(&enc.bytes, shuffled);
        let mut bytes = enc.bytes.clone();
        let at = flip.0 % bytes.len();
        bytes[at] ^= flip.1 | 1;
        let fresh = encode(&value).unwrap();
        decode_bounded::<(Lock, Queue<u32>, Fd)>(&bytes, fresh.fds);
    }
}
