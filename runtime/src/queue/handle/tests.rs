//! Unit tests of the queue handle on states a dead or hostile process left.

use std::sync::atomic::Ordering::SeqCst;

use super::*;

/// A consumer that died after taking an item's side message, before committing the item:
/// the next consumer finds the message gone and takes the next item instead (the item went
/// with the dead consumer, as one already returned would have).
#[test]
fn an_item_whose_side_message_was_taken_by_a_dead_consumer_is_skipped() {
    let q = Queue::<Fd>::new().unwrap();
    let devnull = || Fd::from(OwnedFd::from(std::fs::File::open("/dev/null").unwrap()));
    q.put(&devnull()).unwrap();
    q.put(&devnull()).unwrap();
    // What the dead consumer did: armed `side_taking` for item 0 and took its message.
    q.inner.mem.shm.state().side_taking.store(1, SeqCst);
    let taken = q.inner.side.take(0, false, |_, fds| fds.len()).unwrap();
    assert_eq!(taken, Some(1));
    assert!(q.try_get().is_ok(), "item 1, with its descriptor");
    assert!(matches!(q.try_get(), Err(QueueError::Empty)));
    assert_eq!(q.qsize(), 0, "both items count as taken");
}

/// A queue holder publishes spilled items whose side messages claim 1 GiB that no memory
/// backs, in each format a side message could take: `get` reports an error, and the
/// consumer's peak memory does not grow by anything like that size.
#[test]
fn a_spilled_item_in_a_sparse_memfd_is_refused_without_allocating_its_size() {
    use std::io::IoSlice;
    use std::os::fd::AsRawFd;
    let peak_rss = || {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
        line.split_whitespace()
            .nth(1)
            .unwrap()
            .parse::<u64>()
            .unwrap()
            << 10
    };
    let sparse = |len: u64| {
        let file = std::fs::File::from(crate::sys::fd::sealable_memfd(c"sparse").unwrap());
        file.set_len(len).unwrap();
        let fd = OwnedFd::from(file);
        crate::sys::fd::seal_memfd(fd.as_fd()).unwrap();
        fd
    };
    let q = Queue::<u64>::new().unwrap();
    let tx = q.inner.side.tx.as_fd();
    // A `wire` memfd record (its payload, the number first, all zeros: item 0).
    let mut hook = |_| {
        let memfd = sparse(MAX_SPILLED + 8);
        let mut header = [2u8; 9];
        header[1..].copy_from_slice(&(MAX_SPILLED + 8).to_be_bytes());
        let iov = [IoSlice::new(&header)];
        crate::sys::socket::send(tx, &iov, &[memfd.as_raw_fd()], true).unwrap();
        Ok::<(), QueueError>(())
    };
    q.ring().put(Body::Spilled(&mut hook), None).unwrap();
    // The number inline, the memfd beside it (item 1).
    let mut hook = |seq: u64| {
        let memfd = sparse(MAX_SPILLED);
        crate::wire::send(tx, &[&seq.to_le_bytes()], &[memfd.as_fd()], None).unwrap();
        Ok::<(), QueueError>(())
    };
    q.ring().put(Body::Spilled(&mut hook), None).unwrap();
    for item in 0..2 {
        let before = peak_rss();
        let got = q.try_get();
        let grown = peak_rss().saturating_sub(before);
        assert!(grown < 16 << 20, "item {item}: {grown} bytes more resident");
        assert!(
            matches!(got, Err(QueueError::Os { .. })),
            "item {item}: {got:?}"
        );
    }
    assert!(matches!(q.try_get(), Err(QueueError::Empty)));
}

/// The same state, but the dead consumer died before taking the message: the item is
/// delivered.
#[test]
fn an_item_whose_side_message_is_still_there_is_delivered() {
    let q = Queue::<(u8, Fd)>::new().unwrap();
    let devnull = || Fd::from(OwnedFd::from(std::fs::File::open("/dev/null").unwrap()));
    q.put(&(7, devnull())).unwrap();
    q.inner.mem.shm.state().side_taking.store(1, SeqCst);
    assert_eq!(q.try_get().unwrap().0, 7);
}

/// An unbounded queue takes far more than its ring holds without waiting, and gives the
/// overflow's memory back as consumers pass it.
#[test]
fn the_overflow_takes_what_the_ring_cannot_and_gives_its_memory_back() {
    let q = Queue::<Vec<u8>>::builder()
        .ring_bytes(64 << 10)
        .build()
        .unwrap();
    let overflow = &q.inner.mem.overflow;
    for i in 0..=u8::MAX {
        q.try_put(&vec![i; 32 << 10]).unwrap();
    }
    assert!(
        overflow.resident() >= 7 << 20,
        "{} bytes",
        overflow.resident()
    );
    for i in 0..=u8::MAX {
        assert_eq!(q.try_get().unwrap(), vec![i; 32 << 10]);
    }
    assert!(matches!(q.try_get(), Err(QueueError::Empty)));
    assert!(overflow.resident() <= 4096, "{} bytes", overflow.resident());
}

/// A received queue whose fourth descriptor is not an overflow (a memfd that could be
/// sealed against growing or writing later, or one already sealed that way) is refused.
#[test]
fn a_queue_whose_overflow_is_not_a_growable_memfd_is_refused() {
    let q = Queue::<u32>::new().unwrap();
    let plain = || crate::sys::fd::sealable_memfd(c"plain").unwrap();
    let frozen = || {
        let fd = plain();
        crate::sys::fd::seal_memfd(fd.as_fd()).unwrap();
        fd
    };
    for (what, overflow) in [("unsealed", plain()), ("frozen", frozen())] {
        let (bytes, mut fds) = codec::encode(&q).unwrap().into_parts();
        fds[3] = overflow;
        let got = codec::decode::<Queue<u32>>(&bytes, fds);
        assert!(got.is_err(), "{what}");
    }
    let (bytes, fds) = codec::encode(&q).unwrap().into_parts();
    let again = codec::decode::<Queue<u32>>(&bytes, fds).unwrap();
    again.try_put(&5).unwrap();
    assert_eq!(q.try_get().unwrap(), 5, "the same queue");
}
