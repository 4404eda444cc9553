use std::io::{IoSlice, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

use super::*;
use crate::sys;

/// A socket pair set up as pipes are: large records travel inline where the system allows.
fn pair() -> (OwnedFd, OwnedFd) {
    let (a, b) = sys::socket::socketpair().unwrap();
    room_for_large_records(a.as_fd());
    room_for_large_records(b.as_fd());
    (a, b)
}

/// Whether this system lets [`pair`] send a record of `len` bytes inline.
fn fits_inline(sock: &OwnedFd, len: usize) -> bool {
    let buf = nix::sys::socket::getsockopt(sock, nix::sys::socket::sockopt::SndBuf).unwrap();
    len + 64 < buf
}

/// The length of the next record as sent (kind byte included), without taking it.
fn next_record_len(sock: &OwnedFd) -> usize {
    let mut fds = Vec::new();
    sys::socket::recv(sock.as_fd(), &mut [0u8; 1], &mut fds, false, true)
        .unwrap()
        .len
}

/// A deadline far enough that only a bug reaches it.
fn soon() -> Option<Instant> {
    Instant::now().checked_add(Duration::from_secs(10))
}

fn recv_vec(sock: &OwnedFd, max: u64) -> Result<(Vec<u8>, Vec<OwnedFd>), WireError> {
    recv(sock.as_fd(), max, soon(), |p, fds| (p.into_vec(), fds))
}

/// Sends a hand-made record, bypassing `send`.
fn raw_record(sock: &OwnedFd, bytes: &[u8], fds: &[BorrowedFd<'_>]) {
    let raw: Vec<i32> = fds.iter().map(AsRawFd::as_raw_fd).collect();
    sys::socket::send(sock.as_fd(), &[IoSlice::new(bytes)], &raw, false).unwrap();
}

fn memfd_with(bytes: &[u8], sealed: bool) -> OwnedFd {
    let mut file = std::fs::File::from(sys::fd::sealable_memfd(c"t").unwrap());
    file.write_all(bytes).unwrap();
    let fd = OwnedFd::from(file);
    if sealed {
        sys::fd::seal_memfd(fd.as_fd()).unwrap();
    }
    fd
}

#[test]
fn messages_keep_their_boundaries_including_empty_ones() {
    let (a, b) = pair();
    let msgs: [&[u8]; 4] = [b"one", b"", b"three", b""];
    for m in msgs {
        send(a.as_fd(), &[m], &[], None).unwrap();
    }
    for m in msgs {
        assert_eq!(recv_vec(&b, u64::MAX).unwrap().0, m);
    }
}

#[test]
fn parts_are_concatenated_into_one_message() {
    let (a, b) = pair();
    send(a.as_fd(), &[b"ab", b"", b"cd"], &[], None).unwrap();
    assert_eq!(recv_vec(&b, u64::MAX).unwrap().0, b"abcd");
}

#[test]
fn sizes_around_the_inline_limit_and_far_above_arrive_intact() {
    let (a, b) = pair();
    for len in [
        (64 << 10) + 1,
        INLINE_MAX - 1,
        INLINE_MAX,
        INLINE_MAX + 1,
        3_000_000,
    ] {
        let data: Vec<u8> = (0..len).map(|i| u8::try_from(i % 251).unwrap()).collect();
        // Halves, so the memfd path also concatenates parts.
        let (x, y) = data.split_at(len / 2);
        send(a.as_fd(), &[x, y], &[], None).unwrap();
        let (got, fds) = recv_vec(&b, u64::MAX).unwrap();
        assert!(got == data, "payload of {len} bytes differs");
        assert!(fds.is_empty(), "the memfd is not handed to the caller");
    }
}

#[test]
fn descriptors_travel_with_inline_and_memfd_messages() {
    let (a, b) = pair();
    let null: OwnedFd = std::fs::File::open("/dev/null").unwrap().into();
    let zero: OwnedFd = std::fs::File::open("/dev/zero").unwrap().into();
    let big = vec![7u8; INLINE_MAX * 2];
    send(a.as_fd(), &[b"small"], &[null.as_fd(), zero.as_fd()], None).unwrap();
    send(a.as_fd(), &[&big], &[zero.as_fd()], None).unwrap();
    for expected in [2, 1] {
        let (_, fds) = recv_vec(&b, u64::MAX).unwrap();
        assert_eq!(fds.len(), expected);
        let last = fds.last().unwrap().as_raw_fd();
        let target = std::fs::read_link(format!("/proc/self/fd/{last}")).unwrap();
        assert_eq!(target, std::path::Path::new("/dev/zero"));
    }
}

#[test]
fn a_message_over_the_maximum_is_discarded_and_the_socket_survives() {
    let (a, b) = pair();
    send(a.as_fd(), &[&[1u8; 100]], &[], None).unwrap();
    send(a.as_fd(), &[&vec![2u8; INLINE_MAX * 4]], &[], None).unwrap();
    send(a.as_fd(), &[b"fits"], &[], None).unwrap();
    let err = recv_vec(&b, 10).unwrap_err();
    assert!(
        matches!(err, WireError::TooLarge { len: 100, max: 10 }),
        "{err}"
    );
    let err = recv_vec(&b, 10).unwrap_err();
    assert!(matches!(err, WireError::TooLarge { max: 10, .. }), "{err}");
    assert_eq!(recv_vec(&b, 10).unwrap().0, b"fits");
}

#[test]
fn a_lying_memfd_length_is_refused_before_reading() {
    let (a, b) = pair();
    let mut header = [IN_MEMFD; MEMFD_HEADER];
    header[1..].copy_from_slice(&(1u64 << 40).to_be_bytes()); // claims a terabyte
    let memfd = memfd_with(b"tiny", true);
    raw_record(&a, &header, &[memfd.as_fd()]);
    let err = recv_vec(&b, u64::MAX).unwrap_err();
    assert!(
        matches!(err, WireError::Malformed(m) if m.contains("size differs")),
        "{err}"
    );
    raw_record(&a, &header, &[memfd.as_fd()]);
    let err = recv_vec(&b, 1 << 20).unwrap_err();
    assert!(
        matches!(err, WireError::TooLarge { .. }),
        "checked before the memfd: {err}"
    );
}

#[test]
fn malformed_records_are_typed_errors_and_the_socket_survives() {
    let (a, b) = pair();
    let mut header = [IN_MEMFD; MEMFD_HEADER];
    header[1..].copy_from_slice(&4u64.to_be_bytes());
    let unsealed = memfd_with(b"data", false);
    raw_record(&a, &[0x7F, 1, 2, 3], &[]); // unknown kind
    raw_record(&a, &header, &[]); // memfd record without its memfd
    raw_record(&a, &header[..5], &[]); // memfd record cut short
    raw_record(&a, &header, &[unsealed.as_fd()]); // a memfd the sender could still change
    // Longer than any record (where the system lets a socket send one that long).
    let too_long = vec![INLINE; RECORD_MAX + 100];
    let sent_too_long = sys::socket::send(a.as_fd(), &[IoSlice::new(&too_long)], &[], false);
    let malformed = if sent_too_long.is_ok() { 5 } else { 4 };
    for _ in 0..malformed {
        assert!(matches!(
            recv_vec(&b, u64::MAX),
            Err(WireError::Malformed(_))
        ));
    }
    send(a.as_fd(), &[b"still fine"], &[], None).unwrap();
    assert_eq!(recv_vec(&b, u64::MAX).unwrap().0, b"still fine");
}

#[test]
fn eof_comes_after_everything_sent_before_the_close() {
    let (a, b) = pair();
    send(a.as_fd(), &[b"last"], &[], None).unwrap();
    send(a.as_fd(), &[&vec![3u8; INLINE_MAX + 5]], &[], None).unwrap();
    drop(a);
    assert_eq!(recv_vec(&b, u64::MAX).unwrap().0, b"last");
    assert_eq!(recv_vec(&b, u64::MAX).unwrap().0.len(), INLINE_MAX + 5);
    assert!(matches!(recv_vec(&b, u64::MAX), Err(WireError::Eof)));
    assert!(
        matches!(recv_vec(&b, u64::MAX), Err(WireError::Eof)),
        "eof is sticky"
    );
}

#[test]
fn an_empty_socket_times_out_and_loses_nothing() {
    let (a, b) = pair();
    let err = recv(b.as_fd(), u64::MAX, Some(Instant::now()), |_, _| ()).unwrap_err();
    assert!(matches!(err, WireError::Timeout), "{err}");
    send(a.as_fd(), &[b"later"], &[], None).unwrap();
    assert_eq!(recv_vec(&b, u64::MAX).unwrap().0, b"later");
}

#[test]
fn peek_reports_the_next_length_without_taking_it() {
    let (a, b) = pair();
    send(a.as_fd(), &[b"12345"], &[], None).unwrap();
    send(a.as_fd(), &[&vec![0u8; INLINE_MAX + 1]], &[], None).unwrap();
    assert_eq!(peek_len(b.as_fd(), soon()).unwrap(), 5);
    assert_eq!(peek_len(b.as_fd(), soon()).unwrap(), 5, "peeking twice");
    assert_eq!(recv_vec(&b, u64::MAX).unwrap().0, b"12345");
    assert_eq!(peek_len(b.as_fd(), soon()).unwrap(), INLINE_MAX as u64 + 1);
    drop(a);
    let _ = recv_vec(&b, u64::MAX).unwrap();
    assert!(matches!(peek_len(b.as_fd(), soon()), Err(WireError::Eof)));
}

#[test]
fn sending_to_a_closed_peer_is_epipe_not_sigpipe() {
    let (a, b) = pair();
    drop(b);
    match send(a.as_fd(), &[b"x"], &[], None) {
        Err(WireError::Io(e)) => assert_eq!(e.raw_os_error(), Some(libc::EPIPE)),
        other => panic!("expected EPIPE, got {other:?}"),
    }
}

#[test]
fn a_full_socket_times_out_a_send() {
    let (a, _b) = pair();
    let chunk = vec![0u8; 16 * 1024];
    let err = loop {
        match send(a.as_fd(), &[&chunk], &[], Some(Instant::now())) {
            Ok(()) => {}
            Err(e) => break e,
        }
    };
    assert!(matches!(err, WireError::Timeout), "{err}");
}

#[test]
fn too_many_descriptors_are_refused() {
    let (a, b) = pair();
    let null: OwnedFd = std::fs::File::open("/dev/null").unwrap().into();
    let fds = vec![null.as_fd(); MAX_HANDLE_FDS + 1];
    assert!(matches!(
        send(a.as_fd(), &[b"x"], &fds, None),
        Err(WireError::TooManyFds)
    ));
    assert!(matches!(
        send_in_memfd(a.as_fd(), &[b"x"], &fds, None),
        Err(WireError::TooManyFds)
    ));
    // Exactly the maximum travels, inline and beside a memfd (which takes the last place).
    let fds = &fds[..MAX_HANDLE_FDS];
    send(a.as_fd(), &[b"x"], fds, None).unwrap();
    send_in_memfd(a.as_fd(), &[b"y"], fds, None).unwrap();
    for expected in [b"x", b"y"] {
        let (bytes, got) = recv_vec(&b, u64::MAX).unwrap();
        assert_eq!(
            (bytes.as_slice(), got.len()),
            (&expected[..], MAX_HANDLE_FDS)
        );
    }
}

/// Several senders and several receivers on the same two ends: every message arrives whole,
/// exactly once (threads here; the pipe tests do it with processes).
#[test]
fn concurrent_senders_and_receivers_never_tear_a_message() {
    let (a, b) = pair();
    let (a, b) = (std::sync::Arc::new(a), std::sync::Arc::new(b));
    let per_sender = 300u32;
    let senders: Vec<_> = (0..3u32)
        .map(|s| {
            let a = a.clone();
            std::thread::spawn(move || {
                for i in 0..per_sender {
                    // Every 50th message goes through a memfd, every 30th is a large inline
                    // record (where the system allows): a receiver whose buffer was last
                    // used for a small message must still take it whole.
                    let len = if i % 50 == 0 {
                        INLINE_MAX + 10
                    } else if i % 30 == 0 {
                        INLINE_MAX / 2 + i as usize
                    } else {
                        (i % 97) as usize + 5
                    };
                    // [counter: 4 bytes][sender id, repeated to the end]
                    let mut msg = vec![u8::try_from(s).unwrap(); len];
                    msg[..4].copy_from_slice(&i.to_le_bytes());
                    send(a.as_fd(), &[&msg], &[], None).unwrap();
                }
            })
        })
        .collect();
    let receivers: Vec<_> = (0..3)
        .map(|_| {
            let b = b.clone();
            std::thread::spawn(move || {
                let mut got = Vec::new();
                while let Ok((msg, _)) = recv_vec(&b, u64::MAX) {
                    let sender = msg[4];
                    assert!(msg[4..].iter().all(|&x| x == sender), "torn message");
                    got.push((sender, u32::from_le_bytes(msg[..4].try_into().unwrap())));
                }
                got
            })
        })
        .collect();
    for s in senders {
        s.join().unwrap();
    }
    drop(a); // the last sender end: receivers see EOF once drained
    let mut all: Vec<(u8, u32)> = receivers
        .into_iter()
        .flat_map(|r| r.join().unwrap())
        .collect();
    all.sort_unstable();
    let expected: Vec<(u8, u32)> = (0..3u8)
        .flat_map(|s| (0..per_sender).map(move |i| (s, i)))
        .collect();
    assert!(
        all == expected,
        "{} messages received, {} sent",
        all.len(),
        expected.len()
    );
}

/// Arbitrary bytes as records give payloads or typed errors, never a panic, and nothing larger
/// than the maximum is handed out.
#[test]
fn garbage_records_never_panic() {
    let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let (a, b) = pair();
    for _ in 0..2000 {
        let len = usize::try_from(next() % 40).unwrap() + 1;
        let mut bytes: Vec<u8> = (0..len).map(|_| next().to_le_bytes()[0]).collect();
        if next() % 2 == 0 {
            bytes[0] = [INLINE, IN_MEMFD][usize::try_from(next() % 2).unwrap()];
        }
        raw_record(&a, &bytes, &[]);
        match recv_vec(&b, 16) {
            Ok((payload, _)) => assert!(payload.len() <= 16),
            Err(WireError::TooLarge { .. } | WireError::Malformed(_)) => {}
            Err(e) => panic!("unexpected {e}"),
        }
    }
}

#[test]
fn a_large_payload_travels_as_one_inline_record_where_the_buffer_allows() {
    let (a, b) = pair();
    let data: Vec<u8> = (0..INLINE_MAX)
        .map(|i| u8::try_from(i % 253).unwrap())
        .collect();
    send(a.as_fd(), &[&data], &[], None).unwrap();
    let expected = if fits_inline(&a, RECORD_MAX) {
        RECORD_MAX
    } else {
        MEMFD_HEADER
    };
    assert_eq!(next_record_len(&b), expected);
    assert!(recv_vec(&b, u64::MAX).unwrap().0 == data);
}

#[test]
fn a_record_too_large_for_the_send_buffer_goes_in_a_memfd() {
    let (a, b) = sys::socket::socketpair().unwrap();
    sys::socket::grow_send_buffer(a.as_fd(), 32 << 10); // ~64 KiB: forces the fallback
    let data = vec![9u8; 300 << 10];
    send(a.as_fd(), &[&data], &[], None).unwrap();
    assert_eq!(next_record_len(&b), MEMFD_HEADER, "sent through a memfd");
    assert!(recv_vec(&b, u64::MAX).unwrap().0 == data);
}

/// The receive buffer is sized by the receiver's maximum, not by what arrives: a large inline
/// record above a small maximum is refused (with its true length) without a large buffer.
#[test]
fn a_large_inline_record_over_the_maximum_is_refused_without_allocating_it() {
    let (a, b) = pair();
    if !fits_inline(&a, RECORD_MAX) {
        return; // this system sends it through a memfd: covered by the memfd tests
    }
    std::thread::spawn(move || {
        send(a.as_fd(), &[&vec![5u8; INLINE_MAX]], &[], None).unwrap();
        send(a.as_fd(), &[b"small"], &[], None).unwrap();
        let err = recv_vec(&b, 100).unwrap_err();
        assert!(
            matches!(err, WireError::TooLarge { len, max: 100 } if len == INLINE_MAX as u64),
            "{err}"
        );
        let capacity = SCRATCH.with(|s| s.borrow().capacity());
        assert!(capacity <= 4096, "receive buffer of {capacity} bytes");
        assert_eq!(recv_vec(&b, 100).unwrap().0, b"small");
    })
    .join()
    .unwrap();
}

#[test]
fn mixed_sizes_and_descriptors_arrive_in_order() {
    let (a, b) = pair();
    let null: OwnedFd = std::fs::File::open("/dev/null").unwrap().into();
    let sizes = [
        0,
        10,
        INLINE_MAX,
        64 << 10,
        5,
        INLINE_MAX + 1,
        (64 << 10) + 1,
        700 << 10,
        3,
    ];
    // A reader thread, so that the writer may send more than the socket buffer holds.
    let reader = std::thread::spawn(move || {
        let mut got = Vec::new();
        while let Ok((msg, fds)) = recv_vec(&b, u64::MAX) {
            got.push((msg, fds.len()));
        }
        got
    });
    for (i, &len) in sizes.iter().enumerate() {
        let msg = vec![u8::try_from(i).unwrap(); len];
        let fds = if i % 2 == 0 {
            vec![null.as_fd()]
        } else {
            vec![]
        };
        send(a.as_fd(), &[&msg], &fds, soon()).unwrap();
    }
    drop(a);
    let got = reader.join().unwrap();
    assert_eq!(got.len(), sizes.len());
    for (i, ((msg, fds), &len)) in got.iter().zip(&sizes).enumerate() {
        assert_eq!(msg.len(), len, "message {i}");
        assert!(msg.iter().all(|&x| usize::from(x) == i), "message {i}");
        assert_eq!(*fds, usize::from(i % 2 == 0), "descriptors of message {i}");
    }
}

#[test]
fn a_memfd_message_of_exactly_the_maximum_arrives_and_one_byte_more_is_refused() {
    let (a, b) = pair();
    for max in [
        0,
        1,
        7,
        8,
        9,
        100,
        INLINE_MAX - 1,
        INLINE_MAX,
        INLINE_MAX + 1,
    ] {
        let max_u64 = max as u64;
        let payload = vec![0xA5; max];
        send_in_memfd(a.as_fd(), &[&payload], &[], None).unwrap();
        let got = recv_vec(&b, max_u64).map(|(p, _)| p.len());
        assert_eq!(got.ok(), Some(max), "max {max}");
        assert_eq!(peek_or_none(&b), None, "max {max}: nothing left");
        let longer = vec![0xA5; max + 1];
        send_in_memfd(a.as_fd(), &[&longer], &[], None).unwrap();
        let err = recv_vec(&b, max_u64).unwrap_err();
        assert!(
            matches!(err, WireError::TooLarge { len, max: m } if len == max_u64 + 1 && m == max_u64),
            "max {max}: {err}"
        );
    }
}

/// `Some(len)` of a message waiting on `b`, `None` when none is (never waits).
fn peek_or_none(b: &OwnedFd) -> Option<u64> {
    peek_len(b.as_fd(), Some(Instant::now())).ok()
}

#[test]
fn a_zero_length_record_is_malformed_not_the_end_and_the_close_still_is() {
    let (a, b) = pair();
    raw_record(&a, &[], &[]);
    assert_eq!(
        peek_len(b.as_fd(), soon()).unwrap(),
        0,
        "peeked, not the end"
    );
    assert!(matches!(peek_prefix::<4>(b.as_fd()), Ok(None)));
    assert!(matches!(
        recv_vec(&b, 16),
        Err(WireError::Malformed(m)) if m.contains("zero-length")
    ));
    send(a.as_fd(), &[b"after"], &[], None).unwrap();
    assert_eq!(recv_vec(&b, 16).unwrap().0, b"after");
    // Empty records queued before a message and the close: the message still arrives, then
    // the end (the empty records left last carry nothing).
    raw_record(&a, &[], &[]);
    send(a.as_fd(), &[b"last"], &[], None).unwrap();
    raw_record(&a, &[], &[]);
    drop(a);
    assert!(matches!(recv_vec(&b, 16), Err(WireError::Malformed(_))));
    assert_eq!(recv_vec(&b, 16).unwrap().0, b"last");
    assert!(matches!(recv_vec(&b, 16), Err(WireError::Eof)));
    assert!(matches!(peek_len(b.as_fd(), soon()), Err(WireError::Eof)));
    assert!(matches!(peek_prefix::<4>(b.as_fd()), Err(WireError::Eof)));
}

#[test]
fn a_sparse_memfd_is_refused_without_reading_its_holes() {
    let (a, b) = pair();
    for (size, data) in [
        (1u64 << 30, &b""[..]),
        (1 << 30, &[1u8; 4096][..]),
        (1 << 20, b"x"),
    ] {
        let file = std::fs::File::from(sys::fd::sealable_memfd(c"t").unwrap());
        file.set_len(size).unwrap();
        file.write_all_at(data, 0).unwrap();
        let memfd = OwnedFd::from(file);
        sys::fd::seal_memfd(memfd.as_fd()).unwrap();
        let mut header = [IN_MEMFD; MEMFD_HEADER];
        header[1..].copy_from_slice(&size.to_be_bytes());
        raw_record(&a, &header, &[memfd.as_fd()]);
        let err = recv_vec(&b, u64::MAX).unwrap_err();
        assert!(
            matches!(err, WireError::Malformed(m) if m.contains("holes")),
            "{size}: {err}"
        );
    }
    send(a.as_fd(), &[b"still fine"], &[], None).unwrap();
    assert_eq!(recv_vec(&b, u64::MAX).unwrap().0, b"still fine");
}

/// `peek_prefix` reads the first bytes of the next payload, inline or in a memfd, says `None`
/// when the payload is shorter (or nothing waits), and leaves the message where it is.
#[test]
fn peek_prefix_reads_inline_and_memfd_payloads_and_none_when_shorter() {
    let (a, b) = pair();
    for memfd in [false, true] {
        for payload in [&b"abcdef"[..], b"ab"] {
            if memfd {
                send_in_memfd(a.as_fd(), &[payload], &[], None).unwrap();
            } else {
                send(a.as_fd(), &[payload], &[], None).unwrap();
            }
            let expected = payload.get(..4).map(|p| <[u8; 4]>::try_from(p).unwrap());
            assert_eq!(
                peek_prefix::<4>(b.as_fd()).unwrap(),
                expected,
                "memfd {memfd}"
            );
            assert_eq!(recv_vec(&b, 16).unwrap().0, payload, "memfd {memfd}");
        }
    }
    assert_eq!(peek_prefix::<4>(b.as_fd()).unwrap(), None, "nothing waits");
}
