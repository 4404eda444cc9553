//! Property tests of everything a peer can make a connection read: whatever bytes arrive,
//! receiving gives a typed error or a message no longer than what arrived, never a panic; the
//! handshake, in either role, refuses arbitrary bytes with a typed error.

use std::io::Write;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use proptest::collection::vec;
use proptest::prelude::*;

use super::frame::Stream;
use super::handshake::{self, Policy};
use super::{Connection, ConnectionError};

/// A connection accepting messages up to `max` bytes, whose peer wrote `bytes` and closed.
fn fed(bytes: &[u8], max: u64) -> Connection {
    let (a, mut b) = UnixStream::pair().unwrap();
    b.write_all(bytes).unwrap();
    drop(b);
    Connection::new(Stream::new(OwnedFd::from(a), true), max)
}

/// The 8-byte form of the header with any length, then anything.
fn long_noise() -> impl Strategy<Value = Vec<u8>> {
    (any::<u64>(), vec(any::<u8>(), 0..600)).prop_map(|(len, rest)| {
        let mut out = (-1i32).to_be_bytes().to_vec();
        out.extend(len.to_be_bytes());
        out.extend(rest);
        out
    })
}

fn stream_fed(bytes: &[u8]) -> (Stream, UnixStream) {
    let (a, mut b) = UnixStream::pair().unwrap();
    b.write_all(bytes).unwrap();
    b.shutdown(std::net::Shutdown::Write).unwrap();
    (Stream::new(OwnedFd::from(a), true), b)
}

/// Bytes that often look like frames: a plausible header, then anything.
fn framed_noise() -> impl Strategy<Value = Vec<u8>> {
    (any::<i32>(), vec(any::<u8>(), 0..600)).prop_map(|(len, rest)| {
        let mut out = (len % 700).to_be_bytes().to_vec();
        out.extend(rest);
        out
    })
}

fn policy(legacy_md5: bool) -> Policy<'static> {
    Policy {
        key: b"proptest key",
        legacy_md5,
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_give_typed_errors_or_short_messages(
        bytes in prop_oneof![vec(any::<u8>(), 0..2048), framed_noise(), long_noise()],
        unlimited in any::<bool>(),
    ) {
        let conn = fed(&bytes, if unlimited { u64::MAX } else { 1 << 20 });
        let mut total = 0usize;
        loop {
            match conn.recv_bytes_timeout(Duration::from_secs(5)) {
                Ok(message) => {
                    total += message.len() + 4;
                    prop_assert!(total <= bytes.len() + 8);
                }
                Err(
                    ConnectionError::Eof
                    | ConnectionError::Truncated { .. }
                    | ConnectionError::TooLarge { .. }
                    | ConnectionError::Malformed(_),
                ) => break,
                Err(other) => prop_assert!(false, "unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn messages_round_trip_with_their_boundaries(
        messages in vec(vec(any::<u8>(), 0..300), 0..20),
    ) {
        let (a, b) = UnixStream::pair().unwrap();
        let a = Connection::new(Stream::new(OwnedFd::from(a), true), 1 << 20);
        let b = Connection::new(Stream::new(OwnedFd::from(b), true), 1 << 20);
        for m in &messages {
            a.send_bytes(m).unwrap();
        }
        for m in &messages {
            prop_assert_eq!(&b.recv_bytes_timeout(Duration::from_secs(5)).unwrap(), m);
        }
    }

    #[test]
    fn a_listener_refuses_arbitrary_answers(
        bytes in prop_oneof![vec(any::<u8>(), 0..600), framed_noise()],
        legacy in any::<bool>(),
    ) {
        let (stream, _peer) = stream_fed(&bytes);
        let deadline = Instant::now() + Duration::from_secs(5);
        let outcome = handshake::deliver_challenge(&stream, policy(legacy), deadline);
        prop_assert!(outcome.is_err(), "accepted {bytes:02x?}");
    }

    #[test]
    fn a_client_survives_arbitrary_challenges(
        bytes in prop_oneof![vec(any::<u8>(), 0..600), framed_noise()],
        legacy in any::<bool>(),
    ) {
        let (stream, _peer) = stream_fed(&bytes);
        let deadline = Instant::now() + Duration::from_secs(5);
        // Ok is possible in principle (a valid challenge and `#WELCOME#`); no panic, no hang.
        let _ = handshake::answer_challenge(&stream, policy(legacy), deadline);
    }
}
