use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

use super::*;
use crate::sys;

fn pair() -> (OwnedFd, OwnedFd) {
    sys::socket::socketpair().unwrap()
}

/// A deadline far enough that only a bug reaches it.
fn soon() -> Option<Instant> {
    Instant::now().checked_add(Duration::from_secs(10))
}

fn raw_write(sock: &OwnedFd, bytes: &[u8]) {
    let n = sys::socket::send(sock.as_fd(), &[io::IoSlice::new(bytes)], &[], false).unwrap();
    assert_eq!(n, bytes.len());
}

#[test]
fn header_round_trips_short_and_extended_lengths() {
    for len in [0u64, 1, 0xFFFF_FFFE, 0xFFFF_FFFF, 1 << 40] {
        let (h, n) = header(len, 7);
        assert_eq!(parse_header(&h[..n]), Some((len, 7, n)));
        assert_eq!(
            parse_header(&h[..n - 1]),
            None,
            "a partial header is not parsed"
        );
    }
    assert_eq!(header(0xFFFF_FFFE, 0).1, 5);
    assert_eq!(header(0xFFFF_FFFF, 0).1, 13);
}

#[test]
fn messages_keep_their_boundaries_including_empty_ones() {
    let (a, b) = pair();
    let msgs: [&[u8]; 4] = [b"one", b"", b"three", b""];
    for m in msgs {
        write_frame(a.as_fd(), &[m], &[], None).unwrap();
    }
    let mut r = FrameReader::new(u64::MAX);
    for m in msgs {
        assert_eq!(r.read(b.as_fd(), soon()).unwrap().payload, m);
    }
}

#[test]
fn parts_are_concatenated_into_one_frame() {
    let (a, b) = pair();
    write_frame(a.as_fd(), &[b"ab", b"", b"cd"], &[], None).unwrap();
    let mut r = FrameReader::new(u64::MAX);
    assert_eq!(r.read(b.as_fd(), soon()).unwrap().payload, b"abcd");
}

#[test]
fn large_frames_arrive_intact_while_the_reader_drains() {
    let (a, b) = pair();
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let sent = big.clone();
    let writer = std::thread::spawn(move || write_frame(a.as_fd(), &[&sent], &[], None));
    let mut r = FrameReader::new(u64::MAX);
    let got = r.read(b.as_fd(), soon()).unwrap();
    writer.join().unwrap().unwrap();
    assert!(got.payload == big, "payload differs");
}

#[test]
fn descriptors_go_to_the_frame_that_declared_them() {
    let (a, b) = pair();
    let f1: OwnedFd = std::fs::File::open("/dev/null").unwrap().into();
    let f2: OwnedFd = std::fs::File::open("/dev/zero").unwrap().into();
    write_frame(a.as_fd(), &[b"none"], &[], None).unwrap();
    write_frame(a.as_fd(), &[b"two"], &[f1.as_fd(), f2.as_fd()], None).unwrap();
    write_frame(a.as_fd(), &[b"none again"], &[], None).unwrap();
    let mut r = FrameReader::new(u64::MAX);
    assert!(r.read(b.as_fd(), soon()).unwrap().fds.is_empty());
    let two = r.read(b.as_fd(), soon()).unwrap();
    assert_eq!(two.payload, b"two");
    assert_eq!(two.fds.len(), 2);
    let target = std::fs::read_link(format!("/proc/self/fd/{}", two.fds[1].as_raw_fd())).unwrap();
    assert_eq!(target, std::path::Path::new("/dev/zero"));
    assert!(r.read(b.as_fd(), soon()).unwrap().fds.is_empty());
}

#[test]
fn a_timeout_loses_nothing_of_a_partial_frame() {
    let (a, b) = pair();
    let (head, head_len) = header(6, 0);
    raw_write(&a, &head[..head_len]);
    raw_write(&a, b"hal");
    let mut r = FrameReader::new(u64::MAX);
    let err = r.read(b.as_fd(), Some(Instant::now())).unwrap_err();
    assert!(matches!(err, WireError::Timeout), "{err}");
    assert!(r.has_partial());
    raw_write(&a, b"f!?");
    assert_eq!(r.read(b.as_fd(), soon()).unwrap().payload, b"half!?");
}

#[test]
fn an_oversized_frame_is_skipped_without_allocating_and_the_stream_survives() {
    let (a, b) = pair();
    write_frame(a.as_fd(), &[&[7u8; 100]], &[], None).unwrap();
    write_frame(a.as_fd(), &[b"small"], &[], None).unwrap();
    let mut r = FrameReader::new(10);
    let err = r.read(b.as_fd(), soon()).unwrap_err();
    assert!(
        matches!(err, WireError::TooLarge { len: 100, max: 10 }),
        "{err}"
    );
    assert_eq!(r.read(b.as_fd(), soon()).unwrap().payload, b"small");
}

#[test]
fn a_lying_length_followed_by_eof_is_truncated_not_an_allocation() {
    let (a, b) = pair();
    let (head, head_len) = header(1 << 40, 0); // claims a terabyte
    raw_write(&a, &head[..head_len]);
    raw_write(&a, b"tiny");
    drop(a);
    let mut r = FrameReader::new(u64::MAX);
    let err = r.read(b.as_fd(), soon()).unwrap_err();
    assert!(matches!(err, WireError::Truncated), "{err}");
}

#[test]
fn eof_between_frames_is_clean() {
    let (a, b) = pair();
    write_frame(a.as_fd(), &[b"last"], &[], None).unwrap();
    drop(a);
    let mut r = FrameReader::new(u64::MAX);
    assert_eq!(r.read(b.as_fd(), soon()).unwrap().payload, b"last");
    assert!(matches!(r.read(b.as_fd(), soon()), Err(WireError::Eof)));
    assert!(
        matches!(r.read(b.as_fd(), soon()), Err(WireError::Eof)),
        "eof is sticky"
    );
}

#[test]
fn a_header_declaring_missing_descriptors_is_corrupt() {
    let (a, b) = pair();
    let (head, head_len) = header(0, 3);
    raw_write(&a, &head[..head_len]);
    let mut r = FrameReader::new(u64::MAX);
    assert!(matches!(
        r.read(b.as_fd(), soon()),
        Err(WireError::Corrupt(_))
    ));
}

#[test]
fn writing_to_a_closed_peer_is_epipe_not_sigpipe() {
    let (a, b) = pair();
    drop(b);
    match write_frame(a.as_fd(), &[b"x"], &[], None) {
        Err(WireError::Io(e)) => assert_eq!(e.raw_os_error(), Some(libc::EPIPE)),
        other => panic!("expected EPIPE, got {other:?}"),
    }
}

#[test]
fn a_full_socket_times_out_before_the_first_byte() {
    let (a, _b) = pair();
    let chunk = vec![0u8; 1 << 16];
    // Fill the socket buffer; with nobody reading, a new frame cannot start.
    loop {
        match sys::socket::send(a.as_fd(), &[io::IoSlice::new(&chunk)], &[], true) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) => panic!("{e}"),
        }
    }
    let err = write_frame(a.as_fd(), &[b"x"], &[], Some(Instant::now())).unwrap_err();
    assert!(matches!(err, WireError::Timeout), "{err}");
}

/// Arbitrary bytes on the wire give frames or typed errors, never a panic, and a reader with a
/// small maximum never holds more than it received.
#[test]
fn garbage_streams_never_panic() {
    let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..300 {
        let (a, b) = pair();
        let len = usize::try_from(next() % 200).unwrap();
        let bytes: Vec<u8> = (0..len).map(|_| next().to_le_bytes()[0]).collect();
        raw_write(&a, &bytes);
        drop(a);
        let mut r = FrameReader::new(64);
        for _ in 0..len + 2 {
            match r.read(b.as_fd(), soon()) {
                Ok(f) => assert!(f.payload.len() <= 64),
                Err(WireError::TooLarge { .. }) => {}
                Err(WireError::Eof | WireError::Truncated | WireError::Corrupt(_)) => break,
                Err(e) => panic!("unexpected {e}"),
            }
        }
    }
}
