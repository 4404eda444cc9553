use std::time::Duration;

use serde::{Deserialize, Serialize};

use std::os::fd::AsFd;

use super::connection::Connection;
use super::endpoint::Endpoint;
use super::*;
use crate::pipe::PipeError;

const SOON: Duration = Duration::from_secs(10);

#[derive(Debug, PartialEq, Serialize, Deserialize)]
enum Request {
    Add(i64, i64),
    Quit,
}

#[test]
fn typed_messages_both_ways_with_different_types() {
    let (client, server) = Pipe::<Request, i64>::new().unwrap();
    client.send(&Request::Add(2, 3)).unwrap();
    match server.recv_timeout(SOON).unwrap() {
        Request::Add(a, b) => server.send(&(a + b)).unwrap(),
        Request::Quit => panic!("unexpected quit"),
    }
    assert_eq!(client.recv_timeout(SOON).unwrap(), 5);
    client.send(&Request::Quit).unwrap();
    assert_eq!(server.recv_timeout(SOON).unwrap(), Request::Quit);
}

#[test]
fn eof_after_the_other_end_closes_once_drained() {
    let (a, b) = Pipe::<u32>::new().unwrap();
    a.send(&1).unwrap();
    a.send(&2).unwrap();
    a.close();
    assert!(
        b.poll(Some(Duration::ZERO)).unwrap(),
        "data then close: readable"
    );
    assert_eq!(b.recv_timeout(SOON).unwrap(), 1);
    assert_eq!(b.recv_timeout(SOON).unwrap(), 2);
    assert!(
        b.poll(Some(Duration::ZERO)).unwrap(),
        "closed: poll says readable"
    );
    assert!(matches!(b.recv_timeout(SOON), Err(PipeError::Eof)));
    assert!(matches!(b.send(&3), Err(PipeError::Disconnected)));
}

#[test]
fn poll_with_and_without_a_timeout() {
    let (a, b) = Pipe::<u8>::new().unwrap();
    assert!(!b.poll(Some(Duration::ZERO)).unwrap());
    assert!(!b.poll(Some(Duration::from_millis(5))).unwrap());
    a.send(&9).unwrap();
    assert!(b.poll(None).unwrap());
    assert!(
        b.poll(Some(Duration::ZERO)).unwrap(),
        "poll does not consume"
    );
    assert_eq!(b.try_recv().unwrap(), 9);
    assert!(matches!(b.try_recv(), Err(PipeError::WouldBlock)));
    assert!(matches!(
        b.recv_timeout(Duration::from_millis(1)),
        Err(PipeError::Timeout)
    ));
}

#[test]
fn bytes_keep_boundaries_and_empty_messages() {
    let (a, b) = Pipe::<()>::new().unwrap();
    for m in [&b"abc"[..], b"", b"de"] {
        a.send_bytes(m).unwrap();
    }
    assert_eq!(b.recv_bytes_timeout(SOON).unwrap(), b"abc");
    assert_eq!(b.recv_bytes_timeout(SOON).unwrap(), b"");
    assert_eq!(b.recv_bytes_timeout(SOON).unwrap(), b"de");
}

#[test]
fn send_bytes_range_follows_python_rules() {
    let (a, b) = Pipe::<()>::new().unwrap();
    let buf = b"0123456789";
    a.send_bytes_range(buf, 2, Some(3)).unwrap();
    a.send_bytes_range(buf, 7, None).unwrap();
    a.send_bytes_range(buf, 10, None).unwrap(); // offset == len: empty message
    assert_eq!(b.recv_bytes_timeout(SOON).unwrap(), b"234");
    assert_eq!(b.recv_bytes_timeout(SOON).unwrap(), b"789");
    assert_eq!(b.recv_bytes_timeout(SOON).unwrap(), b"");
    for (offset, size) in [
        (11, None),
        (5, Some(6)),
        (usize::MAX, Some(2)),
        (1, Some(usize::MAX)),
    ] {
        let err = a.send_bytes_range(buf, offset, size).unwrap_err();
        assert!(
            matches!(err, PipeError::OutOfBounds { len: 10, .. }),
            "{offset} {size:?}: {err}"
        );
    }
    assert!(
        !b.poll(Some(Duration::ZERO)).unwrap(),
        "nothing was sent by the refused calls"
    );
}

#[test]
fn recv_bytes_into_offsets_and_buffer_too_short() {
    let (a, b) = Pipe::<()>::new().unwrap();
    let mut buf = [b'.'; 8];
    a.send_bytes(b"abc").unwrap();
    assert_eq!(b.recv_bytes_into(&mut buf, 0).unwrap(), 3);
    a.send_bytes(b"xyz").unwrap();
    assert_eq!(b.recv_bytes_into(&mut buf, 5).unwrap(), 3);
    assert_eq!(&buf, b"abc..xyz");
    a.send_bytes(b"").unwrap();
    assert_eq!(
        b.recv_bytes_into(&mut buf, 8).unwrap(),
        0,
        "offset at the end, empty message"
    );
    a.send_bytes(b"too long for it").unwrap();
    match b.recv_bytes_into(&mut buf, 4) {
        Err(PipeError::BufferTooShort { message }) => assert_eq!(message, b"too long for it"),
        other => panic!("{other:?}"),
    }
    assert_eq!(&buf, b"abc..xyz", "the buffer is untouched");
    assert!(matches!(
        b.recv_bytes_into(&mut buf, 9),
        Err(PipeError::OutOfBounds { .. })
    ));
    a.send_bytes(b"next").unwrap();
    assert_eq!(
        b.recv_bytes_timeout(SOON).unwrap(),
        b"next",
        "the connection goes on"
    );
}

#[test]
fn recv_bytes_max_leaves_a_long_message_in_the_pipe() {
    let (a, b) = Pipe::<()>::new().unwrap();
    a.send_bytes(b"0123456789").unwrap();
    assert!(matches!(
        b.recv_bytes_max(4),
        Err(PipeError::TooLarge { len: 10, max: 4 })
    ));
    // Bounded: `recv_bytes_max` has no timeout form, and would wait for a message lost here.
    assert!(
        b.poll(Some(SOON)).unwrap(),
        "the long message is still there"
    );
    assert_eq!(b.recv_bytes_max(10).unwrap(), b"0123456789");
}

#[test]
fn a_message_that_does_not_decode_is_an_error_and_the_connection_goes_on() {
    let (a, b) = Pipe::<u8, String>::new().unwrap();
    a.send_bytes(&[0xFF, 0xFF, 0xFF]).unwrap(); // not a postcard String
    assert!(matches!(b.recv_timeout(SOON), Err(PipeError::Decode(_))));
    let (x, y) = Pipe::<String, u8>::new().unwrap();
    x.send(&"fine".to_owned()).unwrap();
    assert_eq!(y.recv_timeout(SOON).unwrap(), "fine");
    drop((a, x));
}

#[test]
fn a_message_over_this_ends_maximum_is_refused_and_the_connection_goes_on() {
    let (a, mut b) = Pipe::<Vec<u8>>::new().unwrap();
    assert_eq!(b.max_message_len(), DEFAULT_MAX_MESSAGE_LEN);
    b.set_max_message_len(1000);
    a.send(&vec![1u8; 5000]).unwrap();
    a.send(&vec![2u8; 200_000]).unwrap();
    a.send(&vec![3u8; 10]).unwrap();
    assert!(matches!(
        b.recv_timeout(SOON),
        Err(PipeError::TooLarge { max: 1000, .. })
    ));
    assert!(matches!(
        b.recv_timeout(SOON),
        Err(PipeError::TooLarge { max: 1000, .. })
    ));
    assert_eq!(b.recv_timeout(SOON).unwrap(), vec![3u8; 10]);
}

#[test]
fn large_messages_round_trip() {
    let (a, b) = Pipe::<Vec<u32>>::new().unwrap();
    let big: Vec<u32> = (0..2_000_000).collect();
    let sender = std::thread::spawn(move || a.send(&big).map(|()| big));
    let got = b.recv_timeout(SOON).unwrap();
    let big = sender.join().unwrap().unwrap();
    assert!(got == big);
}

#[test]
fn a_simplex_pipe_goes_one_way_for_everyone() {
    let (rx, tx) = Pipe::<u16>::simplex().unwrap();
    tx.send(&7).unwrap();
    assert_eq!(rx.recv_timeout(SOON).unwrap(), 7);
    // The kernel enforces the direction, also for whoever holds the raw descriptors.
    let rx_as_duplex: Connection<u16> = retype(&rx);
    assert!(rx_as_duplex.send(&1).is_err());
    drop(tx);
    assert!(matches!(rx.recv_timeout(SOON), Err(PipeError::Eof)));
}

#[test]
fn iteration_ends_at_the_end_of_the_stream() {
    let (rx, tx) = Pipe::<u32>::simplex().unwrap();
    for i in 0..5 {
        tx.send(&i).unwrap();
    }
    drop(tx);
    let got: Vec<u32> = rx.iter().collect::<Result<_, _>>().unwrap();
    assert_eq!(got, [0, 1, 2, 3, 4]);
}

#[test]
fn an_end_travels_through_another_pipe() {
    let (a, b) = Pipe::<Connection<String>>::new().unwrap();
    let (near, far) = Pipe::<String>::new().unwrap();
    a.send(&far).unwrap();
    drop(far);
    let received = b.recv_timeout(SOON).unwrap();
    near.send(&"through".to_owned()).unwrap();
    assert_eq!(received.recv_timeout(SOON).unwrap(), "through");
}

/// A second view of the same socket with other message types (to make a peer lie).
fn retype<S2, R2>(end: &impl AsFd) -> Connection<S2, R2> {
    Connection::from_end(Endpoint::new(
        crate::sys::fd::dup_cloexec(end.as_fd()).unwrap(),
    ))
}

#[test]
fn a_descriptor_that_is_not_a_pipe_is_refused() {
    let (a, b) = Pipe::<crate::codec::Fd>::new().unwrap();
    let file: std::os::fd::OwnedFd = std::fs::File::open("/dev/null").unwrap().into();
    a.send(&crate::codec::Fd::from(file)).unwrap();
    // The receiver expects a pipe end but the descriptor is a file.
    let expecting_a_pipe: Connection<(), Connection<u8>> = retype(&b);
    assert!(matches!(
        expecting_a_pipe.recv_timeout(SOON),
        Err(PipeError::Decode(_))
    ));
}

#[test]
fn try_send_on_a_full_pipe_would_block() {
    let (a, _b) = Pipe::<Vec<u8>>::new().unwrap();
    let chunk = vec![0u8; 64 * 1024];
    // The socket buffer holds a few MiB at most: it fills long before the bound.
    let got = (0..10_000).map(|_| a.try_send(&chunk)).find(Result::is_err);
    assert!(matches!(got, Some(Err(PipeError::WouldBlock))), "{got:?}");
    let timed = a.send_timeout(&chunk, Duration::from_millis(1));
    assert!(matches!(timed, Err(PipeError::Timeout)), "{timed:?}");
}
