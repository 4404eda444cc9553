//! Property tests of the receiving side (issue #15): whatever a peer sends on a socket, `recv`
//! returns a typed error or a payload within the receiver's maximum, allocates nothing of a
//! size the peer declared, and leaves the socket usable.

use std::io::IoSlice;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::FileExt;
use std::time::Instant;

use proptest::collection::vec;
use proptest::prelude::*;

use super::{IN_MEMFD, INLINE, WireError, recv};
use crate::__fuzz::{self, ALLOC_LIMIT, F_WIRE_MEMFD_ALLOC, F_ZERO_LENGTH_EOF, Known};
use crate::sys;

/// Sends `record` (as is, not through `send`) with `fds`, keeping the sender open.
fn sent(record: &[u8], fds: &[OwnedFd]) -> (OwnedFd, OwnedFd) {
    let (tx, rx) = sys::socket::socketpair().unwrap();
    let raw: Vec<_> = fds.iter().map(AsRawFd::as_raw_fd).collect();
    sys::socket::send(tx.as_fd(), &[IoSlice::new(record)], &raw, true).unwrap();
    (tx, rx)
}

/// A memfd holding `content`, `size` bytes long (sparse beyond), sealed against any change.
fn payload_memfd(content: &[u8], size: u64) -> OwnedFd {
    let fd = sys::fd::sealable_memfd(c"proptest").unwrap();
    let file = std::fs::File::from(fd);
    file.write_all_at(content, 0).unwrap(); // as mproc's senders: the shared offset stays 0
    file.set_len(size).unwrap();
    let fd = OwnedFd::from(file);
    sys::fd::seal_memfd(fd.as_fd()).unwrap();
    fd
}

fn recv_now(rx: &OwnedFd, max_len: u64) -> Result<Vec<u8>, WireError> {
    recv(rx.as_fd(), max_len, Some(Instant::now()), |p, _| {
        p.into_vec()
    })
}

proptest! {
    #![proptest_config(__fuzz::proptest_config(256))]

    /// Arbitrary bytes and descriptors (of every kind `__fuzz::make_fd` makes) as one record.
    /// Findings 1 and 3 have tests of their own below.
    #[test]
    fn arbitrary_records_are_typed_errors_or_bounded_payloads(
        data in vec(any::<u8>(), 0..600)
    ) {
        __fuzz::wire(&data, Known::of(&[F_WIRE_MEMFD_ALLOC, F_ZERO_LENGTH_EOF]));
    }

    /// Records that start like mproc's: an inline payload, or a memfd header with any length.
    #[test]
    fn inline_records_within_the_maximum_arrive_whole(
        payload in vec(any::<u8>(), 0..300),
        max_len in 0u64..400,
    ) {
        let mut record = vec![INLINE];
        record.extend_from_slice(&payload);
        let (_tx, rx) = sent(&record, &[]);
        match recv_now(&rx, max_len) {
            Ok(got) => {
                prop_assert!(payload.len() as u64 <= max_len);
                prop_assert_eq!(got, payload);
            }
            Err(WireError::TooLarge { len, max }) => {
                prop_assert!(len > max_len, "{} refused under a max of {}", len, max);
            }
            Err(e) => prop_assert!(false, "{e}"),
        }
    }

    /// A memfd record whose declared length, memfd size, seals or maximum disagree: delivered
    /// only when all agree, refused with a typed error otherwise.
    #[test]
    fn memfd_records_are_delivered_only_when_they_agree(
        content in vec(any::<u8>(), 0..256),
        declared in prop_oneof![Just(None), (0u64..512).prop_map(Some), any::<u64>().prop_map(Some)],
        header_len in prop_oneof![Just(9usize), 1usize..16],
        max_len in prop_oneof![Just(u64::MAX), 0u64..512],
        with_memfd in any::<bool>(),
    ) {
        let declared = declared.unwrap_or(content.len() as u64);
        let mut record = vec![IN_MEMFD];
        record.extend_from_slice(&declared.to_be_bytes());
        record.resize(header_len, 0);
        let fds: Vec<OwnedFd> = if with_memfd {
            vec![payload_memfd(&content, content.len() as u64)]
        } else {
            Vec::new()
        };
        let (_tx, rx) = sent(&record, &fds);
        drop(fds);
        let agree = header_len == 9
            && with_memfd
            && declared == content.len() as u64
            && declared <= max_len;
        match recv_now(&rx, max_len) {
            Ok(got) => {
                prop_assert!(agree);
                prop_assert_eq!(got, content);
            }
            Err(WireError::Malformed(_) | WireError::TooLarge { .. }) => prop_assert!(!agree),
            Err(e) => prop_assert!(false, "{e}"),
        }
    }
}

/// Finding 3 of issue #15: a record of zero bytes (which mproc never sends, but a peer can)
/// must be refused as malformed, not taken for the end of the stream while the peer is open.
#[test]
fn a_zero_length_record_is_not_end_of_stream() {
    let (_tx, rx) = sent(&[], &[]);
    let got = recv_now(&rx, u64::MAX);
    assert!(!matches!(got, Err(WireError::Eof)), "{got:?}");
}

proptest! {
    #![proptest_config(__fuzz::proptest_config(8))]

    /// Finding 1 of issue #15: a sealed memfd of `size` bytes costs its sender nothing (it is
    /// sparse), so the receiver must not allocate `size` bytes for it because it said so.
    #[test]
    fn a_memfd_payload_is_not_allocated_at_its_declared_size(
        size in (2 * ALLOC_LIMIT as u64)..(64 << 20)
    ) {
        let record: Vec<u8> = [IN_MEMFD].into_iter().chain(size.to_be_bytes()).collect();
        let (_tx, rx) = sent(&record, &[payload_memfd(b"x", size)]);
        let (got, largest) = __fuzz::largest_alloc(|| recv_now(&rx, u64::MAX).map(|p| p.len()));
        prop_assert!(
            largest <= ALLOC_LIMIT,
            "one allocation of {} bytes for a memfd of {} bytes ({:?})", largest, size, got
        );
    }
}
