//! Property tests of the pool's messages (issue #15): arbitrary records on a worker's socket,
//! and an arbitrarily written task ring, give a typed error or a consistent message, never a
//! panic, a read outside the ring, or an allocation of a size the message declared.

use std::io::IoSlice;
use std::os::fd::{AsFd, OwnedFd};
use std::time::Instant;

use proptest::collection::vec;
use proptest::prelude::*;

use super::protocol::{FromWorker, ToWorker, recv};
use super::ring::{DATA_BYTES, Holder, Ring};
use crate::__fuzz::{self, ALLOC_LIMIT};
use crate::sys;

/// Sends `record` as is, with `n` descriptors, and receives it as a pool message.
fn received<H: serde::de::DeserializeOwned>(record: &[u8], n: usize) {
    let (tx, rx) = sys::socket::socketpair().unwrap();
    let fds: Vec<OwnedFd> = (0..n)
        .map(|_| std::fs::File::open("/dev/null").unwrap().into())
        .collect();
    let raw: Vec<_> = fds.iter().map(std::os::fd::AsRawFd::as_raw_fd).collect();
    sys::socket::send(tx.as_fd(), &[IoSlice::new(record)], &raw, true).unwrap();
    let (_, largest) = __fuzz::largest_alloc(|| recv::<H>(rx.as_fd(), Some(Instant::now())));
    assert!(
        largest <= ALLOC_LIMIT + 4 * record.len(),
        "one allocation of {largest} bytes for a {}-byte record",
        record.len()
    );
}

proptest! {
    #![proptest_config(__fuzz::proptest_config(256))]

    /// Records that start like a pool message (kind byte, a length, postcard) or not at all.
    #[test]
    fn arbitrary_records_on_a_worker_socket(
        body in vec(any::<u8>(), 0..400),
        header_len in prop_oneof![Just(None), (0u32..64).prop_map(Some), any::<u32>().prop_map(Some)],
        n in 0usize..3,
    ) {
        let mut record = vec![0x01];
        if let Some(len) = header_len {
            record.extend_from_slice(&len.to_le_bytes());
        }
        record.extend_from_slice(&body);
        received::<ToWorker>(&record, n);
        received::<FromWorker>(&record, n);
    }

    /// A ring written by a hostile worker: the pool's thread reads a typed holder, and a
    /// worker claims at most what is published and reads only inside the data area.
    #[test]
    fn a_garbled_ring_is_read_safely(
        words in vec((any::<u64>(), any::<u64>(), any::<u64>()), 1..6),
        published in prop_oneof![0u64..8, any::<u64>()],
        next in prop_oneof![0u64..8, any::<u64>()],
    ) {
        let ring = Ring::new().unwrap();
        for (i, &(claim, task, place)) in words.iter().enumerate() {
            ring.scribble(i, claim, task, place);
        }
        ring.scribble_counts(published, next);
        for (entry, &(claim, _, _)) in words.iter().enumerate() {
            let foreign = claim >> 32 != entry as u64;
            prop_assert_eq!(ring.holder(entry as u64) == Holder::Garbled, foreign || claim & 0xFFFF_FFFF == 1);
        }
        let ((), largest) = __fuzz::largest_alloc(|| {
            let mut payload = Vec::new();
            while ring.take(3, &mut payload).is_some() {
                assert!(payload.len() <= DATA_BYTES);
            }
        });
        prop_assert!(largest <= DATA_BYTES + ALLOC_LIMIT);
    }
}
