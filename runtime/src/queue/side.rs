//! The side socket of a queue: what cannot live in the ring travels here.
//!
//! Two kinds of item need it: items carrying handles (their descriptors must be passed by the
//! kernel, `SCM_RIGHTS`), and items larger than half the ring that cannot go to the overflow
//! (bounded queues, or items that also carry handles: their bytes go in a sealed memfd). A producer sends one message per such item, its sequence number (8 bytes, always
//! inline) with the descriptors attached, the memfd of a spilled item first, *before*
//! publishing the item's record, which holds the same number.
//!
//! # What a consumer trusts
//!
//! Nothing in the message: any holder of the queue can send on its socket. A message longer
//! than its number is refused by `wire` before anything is read (so a `wire` memfd record,
//! whatever length it declares, costs nothing). A spilled item's memfd must be sealed against
//! every change, at most [`MAX_SPILLED`] bytes long, and hold memory for all its bytes (no
//! holes): only then is a buffer of its size allocated. So a consumer allocates no more than
//! the sender really wrote, and a memfd that claims 1 GiB but holds nothing is refused. The socket is a `SOCK_SEQPACKET` pair: producers send on one end, consumers
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
//! full ring. A spilled item's memfd takes one of the message's descriptor slots, so such an
//! item carries one handle fewer than `wire::MAX_HANDLE_FDS`.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::time::Instant;

use crate::wire::{self, WireError};

/// The largest item that travels through the side socket. Receiving one allocates its size
/// (once its memfd proved it holds that much), so the limit bounds even a real one.
pub(crate) const MAX_SPILLED: u64 = 1 << 30;

/// A side message: the item's sequence number, nothing else.
const MESSAGE_LEN: u64 = 8;

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
    /// sealed memfd sent first, so that the message stays small whatever the item's size).
    pub(crate) fn send(
        &self,
        seq: u64,
        spilled: Option<&[u8]>,
        fds: &[OwnedFd],
        deadline: Option<Instant>,
    ) -> Result<(), WireError> {
        let memfd = spilled.map(spill).transpose()?;
        let fds: Vec<BorrowedFd<'_>> = memfd.iter().chain(fds).map(AsFd::as_fd).collect();
        wire::send(self.tx.as_fd(), &[&seq.to_le_bytes()], &fds, deadline)
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

    /// Receives message `seq` (dropping older, orphaned ones) and hands its descriptors to
    /// `with`, with the item's bytes if it is `spilled` (read from its memfd, which is not
    /// among the descriptors then); `None` if it is not there.
    pub(crate) fn take<R>(
        &self,
        seq: u64,
        spilled: bool,
        mut with: impl FnMut(&[u8], Vec<OwnedFd>) -> R,
    ) -> Result<Option<R>, WireError> {
        loop {
            let got = wire::recv(
                self.rx.as_fd(),
                MESSAGE_LEN,
                Some(Instant::now()),
                |payload, mut fds| {
                    let Ok(number) = <[u8; 8]>::try_from(&*payload) else {
                        return Err(WireError::Malformed("side message without its number"));
                    };
                    Ok(match u64::from_le_bytes(number).cmp(&seq) {
                        std::cmp::Ordering::Less => Step::Older,
                        std::cmp::Ordering::Equal if !spilled => Step::Found(with(&[], fds)),
                        std::cmp::Ordering::Equal => {
                            if fds.is_empty() {
                                return Err(WireError::Malformed("spilled item without its memfd"));
                            }
                            let bytes = unspill(fds.remove(0))?;
                            Step::Found(with(&bytes, fds))
                        }
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
            MESSAGE_LEN,
            Some(Instant::now()),
            |_, _| (),
        ) {
            // A message too long was discarded by `wire` all the same.
            Ok(()) | Err(WireError::Timeout | WireError::TooLarge { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// Writes a spilled item's bytes into a new memfd, sealed against every change.
fn spill(bytes: &[u8]) -> Result<OwnedFd, WireError> {
    let file = std::fs::File::from(crate::sys::fd::sealable_memfd(c"mproc-queue-item")?);
    file.set_len(bytes.len() as u64)?;
    file.write_all_at(bytes, 0)?;
    let fd = OwnedFd::from(file);
    crate::sys::fd::seal_memfd(fd.as_fd())?;
    Ok(fd)
}

/// Reads a spilled item's memfd, after checking that it cannot change, that it is not larger
/// than an item, and that it holds memory for every byte it claims (see "What a consumer
/// trusts").
fn unspill(memfd: OwnedFd) -> Result<Vec<u8>, WireError> {
    if !crate::sys::fd::memfd_is_sealed(memfd.as_fd()) {
        return Err(WireError::Malformed("spilled item's memfd is not sealed"));
    }
    let file = std::fs::File::from(memfd);
    let meta = file.metadata()?;
    let len = meta.len();
    if len > MAX_SPILLED {
        return Err(WireError::TooLarge {
            len,
            max: MAX_SPILLED,
        });
    }
    // `st_blocks` counts 512-byte units of memory the file holds (whole pages for a memfd).
    if meta.blocks().saturating_mul(512) < len {
        return Err(WireError::Malformed(
            "spilled item's memfd does not hold its bytes",
        ));
    }
    let len = usize::try_from(len).map_err(|_| WireError::TooLarge {
        len,
        max: MAX_SPILLED,
    })?;
    let mut bytes = vec![0; len];
    file.read_exact_at(&mut bytes, 0)?;
    Ok(bytes)
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
        let got = side.take(1, true, |bytes, fds| (bytes.to_vec(), fds.len()));
        assert_eq!(got.unwrap(), Some((b"spilled bytes".to_vec(), 0)));
        assert_eq!(side.find(2).unwrap(), Presence::Present);
        assert_eq!(side.find(1).unwrap(), Presence::Gone, "already taken");
        let got = side.take(2, false, |bytes, fds| (bytes.len(), fds.len()));
        assert_eq!(got.unwrap(), Some((0, 2)));
        assert_eq!(side.find(3).unwrap(), Presence::Gone, "nothing left");
        assert_eq!(
            side.take(3, false, |_, _| ()).unwrap(),
            None,
            "does not wait"
        );
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
        assert_eq!(side.take(5, true, |b, _| b == big).unwrap(), Some(true));
    }

    /// The process's peak resident memory, in bytes.
    fn peak_rss() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
        let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
        kib << 10
    }

    /// A sealed memfd of `len` bytes with nothing written: it costs its sender no memory.
    fn sparse_memfd(len: u64) -> OwnedFd {
        let file = std::fs::File::from(crate::sys::fd::sealable_memfd(c"sparse").unwrap());
        file.set_len(len).unwrap();
        let fd = OwnedFd::from(file);
        crate::sys::fd::seal_memfd(fd.as_fd()).unwrap();
        fd
    }

    /// Another holder of the queue sends, for item 0, a message whose bytes are a 1 GiB memfd
    /// that holds no memory, in each format a side message could take: the consumer refuses it
    /// without allocating its size.
    #[test]
    fn a_spilled_item_in_a_sparse_memfd_costs_the_consumer_nothing_of_its_size() {
        use std::io::IoSlice;
        use std::os::fd::AsRawFd;
        let side = Side::new().unwrap();
        // A memfd record of the wire layer: kind 0x02, then the length (big-endian).
        let memfd = sparse_memfd(MAX_SPILLED + 8);
        let mut header = [2u8; 9];
        header[1..].copy_from_slice(&(MAX_SPILLED + 8).to_be_bytes());
        let iov = [IoSlice::new(&header)];
        crate::sys::socket::send(side.tx.as_fd(), &iov, &[memfd.as_raw_fd()], true).unwrap();
        // The item's number inline, its bytes in a memfd passed beside it.
        let memfd = sparse_memfd(MAX_SPILLED);
        let seq = 1u64.to_le_bytes();
        wire::send(side.tx.as_fd(), &[&seq], &[memfd.as_fd()], None).unwrap();
        for seq in [0, 1] {
            let before = peak_rss();
            let got = side.take(seq, true, |bytes, _| bytes.len());
            let grown = peak_rss().saturating_sub(before);
            assert!(
                grown < 16 << 20,
                "message {seq}: {grown} bytes more resident"
            );
            assert!(
                !matches!(got, Ok(Some(n)) if n > 0),
                "message {seq}: {got:?}"
            );
        }
    }

    #[test]
    fn a_message_without_a_number_is_a_typed_error() {
        let side = Side::new().unwrap();
        wire::send(side.tx.as_fd(), &[b"short"], &[], None).unwrap();
        assert!(matches!(
            side.take(0, false, |_, _| ()),
            Err(WireError::Malformed(_))
        ));
    }
}
