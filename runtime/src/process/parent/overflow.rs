//! Where a forked child's outcome goes when its result slot cannot hold it: the outcome is
//! larger than a slot, or carries descriptors (handles in the returned value).
//!
//! The parent listens on an abstract `SOCK_SEQPACKET` address with a random name, opened at its
//! first `Fork` start and kept for its life. Such a child connects, sends two messages — its
//! *credentials*, then the outcome message with the descriptors (large bodies go through a
//! memfd as on any socket, see [`crate::wire`]) — and only then marks its slot, then exits. It
//! never waits for the parent to read: the connection waits in the listener's backlog with the
//! messages in it. (Only when more than the backlog's length of such connections wait unread
//! at once — `net.core.somaxconn`, 4096 by default — does a child wait in `connect`, until the
//! parent next waits for a forked child or reads a delivery.)
//!
//! # Trust
//! The address can be found by any local process (`/proc/net/unix` lists it), and any process
//! of this user may connect. So a delivery is believed only when it proves it comes from the
//! child it claims to be: before the fork, the parent draws for each child a random *ticket*
//! (which names the delivery) and a random 32-byte *secret*, known only to the parent and to
//! that child (which finds them in its copy of the parent's memory). The credentials message
//! is the ticket and `HMAC-SHA256(secret, domain, ticket)`, exactly [`CREDENTIALS_LEN`] bytes;
//! the parent reads nothing more from a connection until they check out against a ticket it
//! is waiting for, and accepts one delivery per ticket. Anything else — unknown ticket, wrong
//! code, a second delivery, a malformed or oversized first message — is dropped with its
//! descriptors closed, and never becomes a child's result. Connections that have not proven
//! themselves are few ([`MAX_UNPROVEN`], the oldest closed first) and short-lived
//! ([`UNPROVEN_TIMEOUT`]), so idle or silent connections cannot grow the parent.
//!
//! The parent accepts the waiting connections when it looks for a delivery and whenever the
//! listener is readable while it waits for a forked child, keeps the authenticated deliveries
//! by ticket, and hands each out once: to the `join` of its child, or to nobody when the
//! child's record is dropped unread. Only connections from this user are read.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::auth;
use crate::process::parent::slot;
use crate::sys;
use crate::wire::{self, WireError};

/// Connections the kernel queues before a connecting child waits (capped by `somaxconn`).
const BACKLOG: i32 = 4096;

/// The secret shared by a parent and one forked child.
pub(crate) type Secret = [u8; SECRET_LEN];
/// Bytes in a [`Secret`].
pub(crate) const SECRET_LEN: usize = 32;

/// Bytes in the credentials message: the ticket (`u64`, little endian) and its code.
pub(crate) const CREDENTIALS_LEN: usize = 8 + auth::MAC_LEN;

/// What the credentials' code proves (see [`auth::mac`]).
const DOMAIN: &[u8] = b"mproc fork result delivery v1";

/// Connections accepted but not yet authenticated that are kept at once; beyond that, the
/// oldest is closed.
const MAX_UNPROVEN: usize = 64;

/// How long an accepted connection may take to authenticate. A child sends its credentials
/// right after connecting; only a stopped child or an impostor takes this long.
const UNPROVEN_TIMEOUT: Duration = Duration::from_secs(10);

/// A delivered outcome message and its descriptors.
pub(crate) type Delivery = (Vec<u8>, Vec<OwnedFd>);

/// A process's listener and the deliveries it holds (kept in the result slots' state, see
/// [`slot::with_overflow`]).
pub(crate) struct Listener {
    fd: Arc<OwnedFd>,
    address: Arc<[u8]>,
    /// The tickets of the children that may still deliver, with their secrets.
    expected: HashMap<u64, Secret>,
    /// Accepted connections whose credentials have not arrived yet, oldest first, with the
    /// time they must arrive by.
    unproven: VecDeque<(OwnedFd, Instant)>,
    /// Authenticated connections whose outcome message has not arrived yet (at most one per
    /// expected ticket).
    proven: Vec<(OwnedFd, u64)>,
    /// Arrived deliveries, by ticket.
    arrived: HashMap<u64, Delivery>,
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener")
            .field("address", &String::from_utf8_lossy(&self.address))
            .field("expected", &self.expected.len())
            .field("unproven", &self.unproven.len())
            .field("proven", &self.proven.len())
            .field("arrived", &self.arrived.len())
            .finish_non_exhaustive()
    }
}

/// The listener's address, for the children this process forks (opened on first use).
///
/// # Errors
/// OS errors opening the listener.
pub(crate) fn address() -> io::Result<Arc<[u8]>> {
    slot::with_overflow(|listener| Ok(Arc::clone(&Listener::open(listener)?.address)))
}

/// In a child: delivers its outcome message (`parts`, with `fds`) under `ticket`, proven with
/// `secret`, to the parent listening at `address`. Returns once the messages are queued; never
/// waits for a reader.
///
/// # Errors
/// Connecting or sending failed.
pub(crate) fn deliver(
    address: &[u8],
    ticket: u64,
    secret: &Secret,
    parts: &[&[u8]],
    fds: &[BorrowedFd<'_>],
) -> Result<(), WireError> {
    // Everything is computed before connecting: from `connect` to the last send, the parent
    // may accept the connection and find it silent, then keep it until it looks again.
    let ticket = ticket.to_le_bytes();
    let code = auth::mac(secret, DOMAIN, &[&ticket]);
    let conn = sys::listener::connect(address)?;
    wire::send(conn.as_fd(), &[&ticket, &code], &[], None)?;
    wire::send(conn.as_fd(), parts, fds, None)?;
    // Closed at exit; the messages stay queued for the parent.
    std::mem::forget(conn);
    Ok(())
}

/// Takes the delivery under `ticket` (whose sender has marked its slot, so its messages are
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
    /// The listener in `slot`, opened there first if there is none.
    ///
    /// # Errors
    /// OS errors opening it.
    pub(crate) fn open(slot: &mut Option<Listener>) -> io::Result<&mut Listener> {
        if let Some(l) = slot {
            return Ok(l);
        }
        let token = u64::from_le_bytes(sys::random::bytes()?);
        let address: Arc<[u8]> = format!("mproc-results-{}-{token:016x}", sys::proc::getpid())
            .into_bytes()
            .into();
        let fd = sys::listener::listen(&address, BACKLOG)?;
        Ok(slot.insert(Listener {
            fd: Arc::new(fd),
            address,
            expected: HashMap::new(),
            unproven: VecDeque::new(),
            proven: Vec::new(),
            arrived: HashMap::new(),
        }))
    }

    /// Draws a ticket and a secret for a child about to be forked, and waits for its delivery
    /// from now on.
    ///
    /// # Errors
    /// The OS error of `getrandom`.
    pub(crate) fn expect(&mut self) -> io::Result<(u64, Secret)> {
        loop {
            // One system call for both: this runs at every start.
            let drawn: [u8; 8 + SECRET_LEN] = sys::random::bytes()?;
            let (ticket, secret) = drawn.split_at(8);
            let ticket = u64::from_le_bytes(ticket.try_into().map_err(io::Error::other)?);
            let secret: Secret = secret.try_into().map_err(io::Error::other)?;
            if !self.expected.contains_key(&ticket) && !self.arrived.contains_key(&ticket) {
                self.expected.insert(ticket, secret);
                return Ok((ticket, secret));
            }
        }
    }

    /// Stops waiting for `ticket` (whose child has been reaped), dropping its delivery if it
    /// arrived. Connections kept because their messages had not arrived when they were
    /// accepted are read first: the child may be one of them, and it has ended, so its
    /// messages are there now (otherwise its connection would stay open until the next look).
    pub(crate) fn forget(&mut self, ticket: u64) {
        if !self.unproven.is_empty() || !self.proven.is_empty() {
            self.collect();
        }
        self.expected.remove(&ticket);
        self.proven.retain(|(_, t)| *t != ticket);
        self.arrived.remove(&ticket);
    }

    /// Takes the delivery under `ticket`, accepting waiting connections if it is not here yet.
    pub(crate) fn take(&mut self, ticket: u64) -> Option<Delivery> {
        if !self.arrived.contains_key(&ticket) {
            self.collect();
        }
        self.arrived.remove(&ticket)
    }

    /// Accepts every waiting connection, authenticates each whose credentials have arrived,
    /// and keeps each authenticated delivery that has arrived.
    fn collect(&mut self) {
        let now = Instant::now();
        // Those waiting already first, then the new ones, each read as far as it has sent.
        let waiting: Vec<_> = self.unproven.drain(..).collect();
        for (conn, deadline) in waiting {
            if deadline > now {
                self.authenticate(conn, deadline);
            }
        }
        while let Ok(Some(conn)) = sys::listener::accept(self.fd.as_fd()) {
            if sys::listener::peer_uid(conn.as_fd()).is_ok_and(|uid| uid == sys::proc::geteuid()) {
                self.authenticate(conn, now + UNPROVEN_TIMEOUT);
            }
        }
        let proven = std::mem::take(&mut self.proven);
        for (conn, ticket) in proven {
            self.receive(conn, ticket);
        }
    }

    /// Reads the credentials of `conn` if they have arrived: an authenticated connection goes
    /// on to [`Listener::receive`]; one still silent is kept until `deadline` (closing the
    /// oldest kept beyond [`MAX_UNPROVEN`]); anything else is closed.
    fn authenticate(&mut self, conn: OwnedFd, deadline: Instant) {
        let max = CREDENTIALS_LEN as u64;
        let read = wire::recv(conn.as_fd(), max, Some(Instant::now()), |payload, _fds| {
            // Descriptors sent with the credentials are closed here, unread.
            let (ticket, code) = payload.split_first_chunk::<8>()?;
            (code.len() == auth::MAC_LEN).then(|| (u64::from_le_bytes(*ticket), code.to_vec()))
        });
        match read {
            Ok(Some((ticket, code))) => {
                let genuine = self.expected.get(&ticket).is_some_and(|secret| {
                    auth::verify(secret, DOMAIN, &[&ticket.to_le_bytes()], &code)
                });
                if genuine {
                    // One delivery per ticket: a second connection with the same credentials
                    // (a replay) finds nothing expected.
                    self.expected.remove(&ticket);
                    self.receive(conn, ticket);
                }
            }
            Err(WireError::Timeout) => {
                if self.unproven.len() >= MAX_UNPROVEN {
                    self.unproven.pop_front();
                }
                self.unproven.push_back((conn, deadline));
            }
            // Malformed, too long, or gone: closed with whatever it carried.
            Ok(None) | Err(_) => {}
        }
    }

    /// Reads the outcome message of an authenticated connection if it has arrived (it was
    /// sent right after the credentials); keeps the connection otherwise.
    fn receive(&mut self, conn: OwnedFd, ticket: u64) {
        match wire::recv(
            conn.as_fd(),
            u64::MAX,
            Some(Instant::now()),
            |payload, fds| (payload.into_vec(), fds),
        ) {
            Ok(delivery) => {
                self.arrived.insert(ticket, delivery);
            }
            Err(WireError::Timeout) => self.proven.push((conn, ticket)),
            // Gone without its outcome, or garbled: the child's join reports it missing.
            Err(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// These tests share this process's listener: one at a time, so that one's silent
    /// connections do not push out another's.
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

    fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
        ONE_AT_A_TIME
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn expect() -> (u64, Secret) {
        address().unwrap();
        slot::with_overflow(|l| l.as_mut().unwrap().expect()).unwrap()
    }

    #[test]
    fn deliveries_are_matched_by_ticket_in_any_order_and_junk_is_dropped() {
        let _serial = one_at_a_time();
        let address = address().unwrap();
        // Not credentials: dropped.
        let junk = sys::listener::connect(&address).unwrap();
        wire::send(junk.as_fd(), &[b"abc"], &[], None).unwrap();
        let (one, one_secret) = expect();
        let (two, two_secret) = expect();
        deliver(&address, one, &one_secret, &[b"one"], &[]).unwrap();
        deliver(&address, two, &two_secret, &[b"two"], &[]).unwrap();
        assert_eq!(take(two).unwrap().0, b"two");
        assert_eq!(take(one).unwrap().0, b"one");
        assert!(take(one).is_none(), "handed out once");

        // Connected but not sent yet: kept, and read once the messages are there.
        let (three, three_secret) = expect();
        let late = sys::listener::connect(&address).unwrap();
        collect();
        assert!(take(three).is_none());
        let ticket = three.to_le_bytes();
        let code = auth::mac(&three_secret, DOMAIN, &[&ticket]);
        wire::send(late.as_fd(), &[&ticket, &code], &[], None).unwrap();
        collect();
        assert!(take(three).is_none(), "credentials alone are no delivery");
        wire::send(late.as_fd(), &[b"three"], &[], None).unwrap();
        assert_eq!(take(three).unwrap().0, b"three");
    }

    /// Whether the parent closed its side of `conn` (end of stream or hang-up seen).
    fn closed_by_parent(conn: &OwnedFd) -> bool {
        let deadline = Some(Instant::now() + Duration::from_secs(30));
        sys::fd::poll([sys::fd::Interest::read(conn.as_fd())], deadline)
            .unwrap()
            .is_some()
    }

    #[test]
    fn silent_connections_are_few_and_short_lived() {
        let _serial = one_at_a_time();
        let address = address().unwrap();
        let silent: Vec<OwnedFd> = (0..MAX_UNPROVEN + 10)
            .map(|_| sys::listener::connect(&address).unwrap())
            .collect();
        collect();
        let kept = slot::with_overflow(|l| l.as_ref().unwrap().unproven.len());
        assert!(kept <= MAX_UNPROVEN, "{kept} silent connections kept");
        // The oldest went first.
        assert!(closed_by_parent(&silent[0]));
        // Past their deadline, the others go at the next look.
        slot::with_overflow(|l| {
            for (_, deadline) in &mut l.as_mut().unwrap().unproven {
                *deadline = Instant::now();
            }
        });
        collect();
        assert!(closed_by_parent(&silent[MAX_UNPROVEN + 9]));
    }

    #[test]
    fn deliveries_that_fail_authentication_are_dropped() {
        let _serial = one_at_a_time();
        let address = address().unwrap();
        let (ticket, secret) = expect();
        // The right ticket with another secret, and a ticket nobody expects.
        deliver(&address, ticket, &[9; SECRET_LEN], &[b"forged"], &[]).unwrap();
        let (unknown, unknown_secret) = (ticket ^ 1, secret);
        deliver(&address, unknown, &unknown_secret, &[b"forged"], &[]).unwrap();
        collect();
        assert!(take(ticket).is_none());
        assert!(take(unknown).is_none());
        // The genuine delivery still arrives, once; a replay of it is dropped.
        deliver(&address, ticket, &secret, &[b"real"], &[]).unwrap();
        deliver(&address, ticket, &secret, &[b"replayed"], &[]).unwrap();
        assert_eq!(take(ticket).unwrap().0, b"real");
        assert!(take(ticket).is_none());
    }
}
