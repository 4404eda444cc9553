//! Where a forked child's outcome goes when its result slot cannot hold it: the outcome is
//! larger than a slot, or carries descriptors (handles in the returned value).
//!
//! The parent listens on an abstract `SOCK_SEQPACKET` address with a random name, opened at its
//! first `Fork` start and kept for its life. Such a child connects, sends one message (the
//! outcome message, then its slot's ticket, with the descriptors; large bodies go through a
//! memfd as on any socket, see [`crate::wire`]) and only then marks its slot, then exits. It
//! never waits for the parent to read: the connection waits in the listener's backlog with the
//! message in it. (Only when more than the backlog's length of such connections wait unread at
//! once — `net.core.somaxconn`, 4096 by default — does a child wait in `connect`, until the
//! parent next waits for a forked child or reads a delivery.)
//!
//! The parent accepts the waiting connections when it looks for a delivery and whenever the
//! listener is readable while it waits for a forked child, keeps those whose message is there
//! by ticket, and hands each delivery out once: to the `join` of its child, or to nobody when
//! the child's record is dropped unread. Only connections from this user are read.

use std::collections::HashMap;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::Arc;
use std::time::Instant;

use super::slot;
use crate::sys;
use crate::wire::{self, WireError};

/// Connections the kernel queues before a connecting child waits (capped by `somaxconn`).
const BACKLOG: i32 = 4096;

/// A delivered outcome message and its descriptors.
pub(crate) type Delivery = (Vec<u8>, Vec<OwnedFd>);

/// A process's listener and the deliveries it holds (kept in the result slots' state, see
/// [`slot::with_overflow`]).
pub(crate) struct Listener {
    fd: Arc<OwnedFd>,
    address: Arc<[u8]>,
    /// Accepted connections whose message has not arrived yet.
    connected: Vec<OwnedFd>,
    /// Arrived deliveries, by ticket.
    arrived: HashMap<u64, Delivery>,
}

/// The listener's address, for the children this process forks (opened on first use).
///
/// # Errors
/// OS errors opening the listener.
pub(crate) fn address() -> io::Result<Arc<[u8]>> {
    slot::with_overflow(|listener| {
        if let Some(l) = listener {
            return Ok(Arc::clone(&l.address));
        }
        let token = u64::from_le_bytes(sys::random::bytes()?);
        let address: Arc<[u8]> = format!("mproc-results-{}-{token:016x}", sys::proc::getpid())
            .into_bytes()
            .into();
        let fd = sys::listener::listen(&address, BACKLOG)?;
        *listener = Some(Listener {
            fd: Arc::new(fd),
            address: Arc::clone(&address),
            connected: Vec::new(),
            arrived: HashMap::new(),
        });
        Ok(address)
    })
}

/// In a child: delivers its outcome message (`parts`, with `fds`) under `ticket` to the parent
/// listening at `address`. Returns once the message is queued; never waits for a reader.
///
/// # Errors
/// Connecting or sending failed.
pub(crate) fn deliver(
    address: &[u8],
    ticket: u64,
    parts: &[&[u8]],
    fds: &[BorrowedFd<'_>],
) -> Result<(), WireError> {
    let conn = sys::listener::connect(address)?;
    // The ticket goes last, so the parent strips it without moving the message.
    let ticket = ticket.to_le_bytes();
    let mut all = Vec::with_capacity(parts.len() + 1);
    all.extend_from_slice(parts);
    all.push(&ticket[..]);
    wire::send(conn.as_fd(), &all, fds, None)?;
    // Closed at exit; the message stays queued for the parent.
    std::mem::forget(conn);
    Ok(())
}

/// Takes the delivery under `ticket` (whose sender has marked its slot, so the message is
/// queued by now).
pub(crate) fn take(ticket: u64) -> Option<Delivery> {
    slot::with_overflow(|listener| listener.as_mut()?.take(ticket))
}

/// The listening socket, if this process opened it: readable when connections wait. A parent
/// waiting for a forked child watches it and calls [`collect`] when it is, so that a child
/// waiting in `connect` for room in the backlog is let through.
pub(crate) fn listener() -> Option<Arc<OwnedFd>> {
    slot::with_overflow(|listener| listener.as_ref().map(|l| Arc::clone(&l.fd)))
}

/// Accepts the waiting connections and keeps the deliveries that have arrived.
pub(crate) fn collect() {
    slot::with_overflow(|listener| {
        if let Some(l) = listener {
            l.collect();
        }
    });
}

impl Listener {
    /// Takes the delivery under `ticket`, accepting waiting connections if it is not here yet.
    pub(crate) fn take(&mut self, ticket: u64) -> Option<Delivery> {
        if !self.arrived.contains_key(&ticket) {
            self.collect();
        }
        self.arrived.remove(&ticket)
    }

    /// Accepts every waiting connection and keeps each message that has arrived.
    fn collect(&mut self) {
        while let Ok(Some(conn)) = sys::listener::accept(self.fd.as_fd()) {
            if sys::listener::peer_uid(conn.as_fd()).is_ok_and(|uid| uid == sys::proc::geteuid()) {
                self.connected.push(conn);
            }
        }
        let arrived = &mut self.arrived;
        self.connected.retain(|conn| {
            match wire::recv(
                conn.as_fd(),
                u64::MAX,
                Some(Instant::now()),
                |payload, fds| (payload.into_vec(), fds),
            ) {
                Ok((mut message, fds)) => {
                    if let Some((_, &ticket)) = message.split_last_chunk::<8>() {
                        message.truncate(message.len() - 8);
                        arrived.insert(u64::from_le_bytes(ticket), (message, fds));
                    }
                    false
                }
                // Connected, not sent yet: look again next time.
                Err(WireError::Timeout) => true,
                // Gone without a message, or garbled: nothing to keep.
                Err(_) => false,
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deliveries_are_matched_by_ticket_in_any_order_and_junk_is_dropped() {
        let address = address().unwrap();
        // Too short to hold a ticket: dropped.
        let junk = sys::listener::connect(&address).unwrap();
        wire::send(junk.as_fd(), &[b"abc"], &[], None).unwrap();
        deliver(&address, u64::MAX - 1, &[b"one"], &[]).unwrap();
        deliver(&address, u64::MAX - 2, &[b"two"], &[]).unwrap();
        assert_eq!(take(u64::MAX - 2).unwrap().0, b"two");
        assert_eq!(take(u64::MAX - 1).unwrap().0, b"one");
        assert!(take(u64::MAX - 1).is_none(), "handed out once");

        // Connected but not sent yet: kept, and read once the message is there.
        let late = sys::listener::connect(&address).unwrap();
        collect();
        assert!(take(u64::MAX - 3).is_none());
        let ticket = (u64::MAX - 3).to_le_bytes();
        wire::send(late.as_fd(), &[b"three", &ticket], &[], None).unwrap();
        assert_eq!(take(u64::MAX - 3).unwrap().0, b"three");
    }
}
