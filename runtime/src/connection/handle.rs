//! A [`Connection`] is a handle: it can be given to another process (as a process argument, or
//! a value sent through a pipe, a queue or another Unix connection), which then owns its own
//! descriptor for the same socket. The classic use: a server accepts (and authenticates) in one
//! process and hands each connection to a worker.
//!
//! The receiving side checks the descriptor (a stream socket, Unix or TCP) before it uses it;
//! it trusts the sender to have authenticated the connection, as it trusts anything its program
//! tree sends (see [`crate::trust`]). Hand a connection over between messages: the sender's
//! half-read or half-written frame does not travel with it, and each process's copy is
//! serialized only against itself.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

use nix::sys::socket::{AddressFamily, SockType, SockaddrLike, SockaddrStorage, sockopt};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::conn::{Connection, DEFAULT_MAX_MESSAGE_LEN};
use super::frame::Stream;
use crate::codec;

impl Serialize for Connection {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        codec::serialize_fd(self.as_fd(), s)
    }
}

impl<'de> Deserialize<'de> for Connection {
    /// Adopts a received descriptor, with the default message limit
    /// ([`DEFAULT_MAX_MESSAGE_LEN`]); a descriptor that is not a connected stream socket is a
    /// decoding error.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let fd = codec::deserialize_fd(d)?;
        let unix = is_unix_stream(fd.as_fd()).map_err(codec::invalid_handle)?;
        Ok(Connection::new(
            Stream::new(fd, unix),
            DEFAULT_MAX_MESSAGE_LEN,
        ))
    }
}

/// Whether `fd` is a Unix (`true`) or TCP (`false`) stream socket; an error for anything else.
fn is_unix_stream(fd: BorrowedFd<'_>) -> Result<bool, &'static str> {
    match nix::sys::socket::getsockopt(&fd, sockopt::SockType) {
        Ok(SockType::Stream) => {}
        _ => return Err("not a stream socket: cannot be a connection"),
    }
    let local = nix::sys::socket::getsockname::<SockaddrStorage>(fd.as_raw_fd())
        .map_err(|_| "not a socket: cannot be a connection")?;
    match local.family() {
        Some(AddressFamily::Unix) => Ok(true),
        Some(AddressFamily::Inet | AddressFamily::Inet6) => Ok(false),
        _ => Err("neither a Unix nor a TCP socket: cannot be a connection"),
    }
}
