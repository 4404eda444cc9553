//! Listening `SOCK_SEQPACKET` Unix sockets in the abstract namespace (no file on disk, gone
//! with the last descriptor), and the credentials of a connected peer.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use nix::sys::socket::{self, AddressFamily, Backlog, SockFlag, SockType, UnixAddr, sockopt};

fn seqpacket(flags: SockFlag) -> io::Result<OwnedFd> {
    socket::socket(
        AddressFamily::Unix,
        SockType::SeqPacket,
        flags | SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(io::Error::from)
}

/// A non-blocking socket listening on the abstract address `name` (without the leading NUL),
/// with room for `backlog` connections waiting to be accepted (the kernel caps it at
/// `net.core.somaxconn`).
///
/// # Errors
/// `AddrInUse` if another socket holds the name; other OS errors.
pub(crate) fn listen(name: &[u8], backlog: i32) -> io::Result<OwnedFd> {
    let addr = UnixAddr::new_abstract(name).map_err(io::Error::from)?;
    let sock = seqpacket(SockFlag::SOCK_NONBLOCK)?;
    socket::bind(sock.as_raw_fd(), &addr).map_err(io::Error::from)?;
    socket::listen(&sock, Backlog::new(backlog).map_err(io::Error::from)?)
        .map_err(io::Error::from)?;
    Ok(sock)
}

/// Accepts one waiting connection (blocking, close-on-exec); `Ok(None)` when none waits.
///
/// # Errors
/// OS errors other than "nothing to accept".
pub(crate) fn accept(listener: BorrowedFd<'_>) -> io::Result<Option<OwnedFd>> {
    loop {
        match socket::accept4(listener.as_raw_fd(), SockFlag::SOCK_CLOEXEC) {
            // SAFETY: accept4 just created this descriptor; nothing else owns it.
            Ok(fd) => return Ok(Some(unsafe { OwnedFd::from_raw_fd(fd) })),
            Err(nix::Error::EINTR | nix::Error::ECONNABORTED) => {}
            Err(nix::Error::EAGAIN) => return Ok(None),
            Err(e) => return Err(e.into()),
        }
    }
}

/// Connects a new blocking, close-on-exec socket to the abstract address `name`.
///
/// # Errors
/// `ConnectionRefused` if nothing listens there; other OS errors.
pub(crate) fn connect(name: &[u8]) -> io::Result<OwnedFd> {
    let addr = UnixAddr::new_abstract(name).map_err(io::Error::from)?;
    let sock = seqpacket(SockFlag::empty())?;
    loop {
        match socket::connect(sock.as_raw_fd(), &addr) {
            Ok(()) => return Ok(sock),
            Err(nix::Error::EINTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
}

/// The pid of the process at the other end of a connected socket, as the kernel recorded it
/// when the connection was made (the peer cannot forge it).
///
/// # Errors
/// OS errors.
pub(crate) fn peer_pid(sock: BorrowedFd<'_>) -> io::Result<libc::pid_t> {
    Ok(peer_credentials(sock)?.pid())
}

/// The user id of the process at the other end of a connected socket (as for [`peer_pid`]).
///
/// # Errors
/// OS errors.
pub(crate) fn peer_uid(sock: BorrowedFd<'_>) -> io::Result<libc::uid_t> {
    Ok(peer_credentials(sock)?.uid())
}

fn peer_credentials(sock: BorrowedFd<'_>) -> io::Result<socket::UnixCredentials> {
    socket::getsockopt(&sock.as_fd(), sockopt::PeerCredentials).map_err(io::Error::from)
}
