//! The side socket of a queue: what cannot live in the ring travels here.
//!
//! Two kinds of item need it: items carrying handles (their descriptors must be passed by the
//! kernel, `SCM_RIGHTS`), and items larger than half the ring (their bytes go in a sealed memfd,
//! see `wire`). A producer sends one message per such item, `[sequence number][bytes if
//! spilled]` with the descriptors attached, *before* publishing the item's record, which holds
//! the same number. The socket is a `SOCK_SEQPACKET` pair: producers send on one end, consumers
//! receive on the other, and the kernel keeps messages whole and in order.
//!
//! Messages and records pair up by number, not by position, so a crash cannot shift them: a
//! message whose producer died before publishing the record has no record, and the consumer
//! that finds it first in line drops it; a message taken by a consumer that died before
//! committing the record leaves a record without a message, which the next consumer skips
//! (the item went with the dead process, as an item already returned by `get` would have).
//!
//! The socket's send buffer bounds how many such items can wait in a queue at once: each
//! message costs ~750 bytes of it, whatever the item's size (spilled bytes are in a memfd). The
//! buffer is raised to what `net.core.wmem_max` allows (4 MiB asked: a few thousand items;
//! ~280 with the common default of 208 KiB). Beyond that, `put` waits for consumers as for a
//! full ring.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::Instant;

use crate::wire::{self, WireError};

/// The largest item that travels through the side socket. Receiving one allocates its size,
/// so the limit keeps a foreign memfd from asking for any amount.
pub(crate) const MAX_SPILLED: u64 = 1 << 30;

/// The send buffer a side socket asks for: with ~750 bytes of kernel overhead per message,
/// room for a few thousand items.
const SEND_BUFFER: usize = 4 << 20;

/// The two ends of a queue's side socket.
#[derive(Debug)]
pub(crate) struct Side {
    pub(crate) tx: OwnedFd,
    pub(crate) rx: OwnedFd,
}

/// Whether the message of an item is in line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Presence {
    Present,
    Gone,
}

impl Side {
    pub(crate) fn new() -> std::io::Result<Self> {
        let (tx, rx) = crate::sys::socket::socketpair()?;
        // As much room for messages as the system allows an unprivileged process (the kernel
        // caps the request at `net.core.wmem_max`).
        crate::sys::socket::grow_send_buffer(tx.as_fd(), SEND_BUFFER);
        Ok(Self { tx, rx })
    }

    /// Sends item `seq`'s message: its descriptors, and its bytes if it is `spilled` (in a
    /// memfd, so that the message stays small whatever the item's size).
    pub(crate) fn send(
        &self,
        seq: u64,
        spilled: Option<&[u8]>,
        fds: &[OwnedFd],
        deadline: Option<Instant>,
    ) -> Result<(), WireError> {
        let fds: Vec<BorrowedFd<'_>> = fds.iter().map(AsFd::as_fd).collect();
        let seq = seq.to_le_bytes();
        match spilled {
            Some(bytes) => wire::send_in_memfd(self.tx.as_fd(), &[&seq, bytes], &fds, deadline),
            None => wire::send(self.tx.as_fd(), &[&seq], &fds, deadline),
        }
    }

    /// Whether message `seq` is still in line (dropping older, orphaned ones).
    pub(crate) fn find(&self, seq: u64) -> Result<Presence, WireError> {
        loop {
            match wire::peek_prefix::<8>(self.rx.as_fd())? {
                None => return Ok(Presence::Gone),
                Some(first) => match u64::from_le_bytes(first).cmp(&seq) {
                    std::cmp::Ordering::Less => self.drop_one()?,
                    std::cmp::Ordering::Equal => return Ok(Presence::Present),
                    std::cmp::Ordering::Greater => return Ok(Presence::Gone),
                },
            }
        }
    }

    /// Receives message `seq` (dropping older, orphaned ones) and hands its bytes and
    /// descriptors to `with`; `None` if it is not there.
    pub(crate) fn take<R>(
        &self,
        seq: u64,
        mut with: impl FnMut(&[u8], Vec<OwnedFd>) -> R,
    ) -> Result<Option<R>, WireError> {
        loop {
            let got = wire::recv(
                self.rx.as_fd(),
                MAX_SPILLED + 8,
                Some(Instant::now()),
                |payload, fds| {
                    let Some((first, rest)) = payload.split_first_chunk::<8>() else {
                        return Err(WireError::Malformed("side message without its number"));
                    };
                    let found = u64::from_le_bytes(*first);
                    Ok(match found.cmp(&seq) {
                        std::cmp::Ordering::Less => Step::Older,
                        std::cmp::Ordering::Equal => Step::Found(with(rest, fds)),
                        std::cmp::Ordering::Greater => Step::Newer,
                    })
                },
            );
            match got {
                Ok(Ok(Step::Older)) => {}
                Ok(Ok(Step::Found(out))) => return Ok(Some(out)),
                // The message was missing and a later one is lost with it: the queue's state
                // was tampered with (no crash leads here).
                Ok(Ok(Step::Newer)) | Err(WireError::Timeout) => return Ok(None),
                Ok(Err(e)) | Err(e) => return Err(e),
            }
        }
    }

    fn drop_one(&self) -> Result<(), WireError> {
        match wire::recv(
            self.rx.as_fd(),
            MAX_SPILLED + 8,
            Some(Instant::now()),
            |_, _| (),
        ) {
            Ok(()) | Err(WireError::Timeout) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

enum Step<R> {
    Older,
    Found(R),
    Newer,
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn devnull() -> OwnedFd {
        std::fs::File::open("/dev/null").unwrap().into()
    }

    #[test]
    fn messages_pair_with_items_by_number_not_position() {
        let side = Side::new().unwrap();
        side.send(0, None, &[devnull()], None).unwrap(); // orphaned: its record never came
        side.send(1, Some(b"spilled bytes"), &[], None).unwrap();
        side.send(2, None, &[devnull(), devnull()], None).unwrap();
        // Taking 1 drops the orphan before it.
        let got = side.take(1, |bytes, fds| (bytes.to_vec(), fds.len()));
        assert_eq!(got.unwrap(), Some((b"spilled bytes".to_vec(), 0)));
        assert_eq!(side.find(2).unwrap(), Presence::Present);
        assert_eq!(side.find(1).unwrap(), Presence::Gone, "already taken");
        let got = side.take(2, |bytes, fds| (bytes.len(), fds.len()));
        assert_eq!(got.unwrap(), Some((0, 2)));
        assert_eq!(side.find(3).unwrap(), Presence::Gone, "nothing left");
        assert_eq!(side.take(3, |_, _| ()).unwrap(), None, "does not wait");
    }

    #[test]
    fn a_message_in_a_memfd_is_found_by_its_number() {
        let side = Side::new().unwrap();
        let big = vec![9u8; 100_000];
        side.send(5, Some(&big), &[], None).unwrap();
        assert_eq!(
            side.find(4).unwrap(),
            Presence::Gone,
            "a later number is there"
        );
        assert_eq!(side.find(5).unwrap(), Presence::Present);
        assert_eq!(side.take(5, |b, _| b == big).unwrap(), Some(true));
    }

    #[test]
    fn a_message_without_a_number_is_a_typed_error() {
        let side = Side::new().unwrap();
        wire::send(side.tx.as_fd(), &[b"short"], &[], None).unwrap();
        assert!(matches!(
            side.take(0, |_, _| ()),
            Err(WireError::Malformed(_))
        ));
    }
}
