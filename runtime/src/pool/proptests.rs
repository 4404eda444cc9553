//! Property tests of the pool's messages (issue #15): arbitrary records on a worker's socket,
//! and arbitrary batch headers, give a typed error or a consistent message, never a panic or
//! an allocation of a size the message declared.

use std::io::IoSlice;
use std::os::fd::{AsFd, OwnedFd};
use std::time::Instant;

use proptest::collection::vec;
use proptest::prelude::*;

use super::protocol::{ChunkHead, FromWorker, ToWorker, recv, split_batch};
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

fn heads() -> impl Strategy<Value = Vec<ChunkHead>> {
    vec(
        (
            any::<u64>(),
            any::<u32>(),
            any::<i64>(),
            prop_oneof![0u32..64, any::<u32>()],
            0u16..4,
        )
            .prop_map(|(job, chunk, entry, len, fds)| ChunkHead {
                job,
                chunk,
                entry,
                len,
                fds,
            }),
        0..8,
    )
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

    /// A batch whose chunk headers lie about lengths and descriptor counts: either every
    /// byte and descriptor is accounted for, or the batch is refused.
    #[test]
    fn batches_split_exactly_or_not_at_all(
        heads in heads(),
        payload in vec(any::<u8>(), 0..256),
        n in 0usize..6,
    ) {
        let fds: Vec<OwnedFd> = (0..n)
            .map(|_| std::fs::File::open("/dev/null").unwrap().into())
            .collect();
        if let Some(parts) = split_batch(&heads, &payload, fds) {
            let bytes: usize = parts.iter().map(|(_, b, _)| b.len()).sum();
            prop_assert_eq!(bytes, payload.len());
            for (head, b, f) in &parts {
                prop_assert_eq!(b.len(), head.len as usize);
                prop_assert_eq!(f.len(), usize::from(head.fds));
            }
        }
    }
}
