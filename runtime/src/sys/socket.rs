//! Unix stream sockets with descriptor passing (`SCM_RIGHTS`).

use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::sys::socket::{
    AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags, SockFlag, SockType,
};

/// The kernel's limit on descriptors in one `SCM_RIGHTS` message (`SCM_MAX_FD`).
pub(crate) const MAX_FDS_PER_MESSAGE: usize = 253;

/// A connected pair of `AF_UNIX` `SOCK_SEQPACKET` sockets, both close-on-exec: the kernel keeps
/// message boundaries, and each `sendmsg`/`recvmsg` moves exactly one whole message.
pub(crate) fn socketpair() -> io::Result<(OwnedFd, OwnedFd)> {
    nix::sys::socket::socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .map_err(io::Error::from)
}

/// Shuts down one direction of `sock` for every process holding it.
pub(crate) fn shutdown(sock: BorrowedFd<'_>, read: bool) -> io::Result<()> {
    let how = if read {
        nix::sys::socket::Shutdown::Read
    } else {
        nix::sys::socket::Shutdown::Write
    };
    nix::sys::socket::shutdown(sock.as_raw_fd(), how).map_err(io::Error::from)
}

/// Asks for a send buffer of `bytes` on `sock` (the kernel caps it at `net.core.wmem_max`);
/// best effort: a refusal leaves the default.
pub(crate) fn grow_send_buffer(sock: BorrowedFd<'_>, bytes: usize) {
    let _ = nix::sys::socket::setsockopt(&sock, nix::sys::socket::sockopt::SndBuf, &bytes);
}

/// Sends as much of `bufs` as the socket takes in one `sendmsg`, with `fds` attached to the
/// first byte. Never raises `SIGPIPE`: a closed peer is `EPIPE`.
///
/// With `nonblocking`, a full socket gives `WouldBlock` instead of waiting.
pub(crate) fn send(
    sock: BorrowedFd<'_>,
    bufs: &[IoSlice<'_>],
    fds: &[RawFd],
    nonblocking: bool,
) -> io::Result<usize> {
    let mut flags = MsgFlags::MSG_NOSIGNAL;
    if nonblocking {
        flags |= MsgFlags::MSG_DONTWAIT;
    }
    let rights = [ControlMessage::ScmRights(fds)];
    let cmsgs: &[ControlMessage<'_>] = if fds.is_empty() { &[] } else { &rights };
    loop {
        match nix::sys::socket::sendmsg::<()>(sock.as_raw_fd(), bufs, cmsgs, flags, None) {
            Err(nix::Error::EINTR) => {}
            other => return other.map_err(io::Error::from),
        }
    }
}

/// What one `recvmsg` got.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Received {
    /// Bytes placed in the buffer (0 at end of stream).
    pub(crate) len: usize,
    /// The message was longer than the buffer (only with `peek`: its full length is `len`);
    /// without `peek`, the kernel discarded the rest.
    pub(crate) truncated: bool,
}

/// One `recvmsg` into `buf`; descriptors that arrived with the data are appended to `fds`.
///
/// With `nonblocking`, an empty socket gives `WouldBlock`. With `peek`, the message stays in
/// the socket and `len` is its full length (`MSG_TRUNC`).
///
/// # Errors
/// Besides OS errors, `InvalidData` when the kernel truncated the descriptor list (it closes
/// the descriptors it could not deliver, so the message they belonged to is unusable).
pub(crate) fn recv(
    sock: BorrowedFd<'_>,
    buf: &mut [u8],
    fds: &mut Vec<OwnedFd>,
    nonblocking: bool,
    peek: bool,
) -> io::Result<Received> {
    let mut flags = MsgFlags::MSG_CMSG_CLOEXEC;
    if nonblocking {
        flags |= MsgFlags::MSG_DONTWAIT;
    }
    if peek {
        flags |= MsgFlags::MSG_PEEK | MsgFlags::MSG_TRUNC;
    }
    let mut space = nix::cmsg_space!([RawFd; MAX_FDS_PER_MESSAGE]);
    let mut iov = [IoSliceMut::new(buf)];
    let msg = loop {
        match nix::sys::socket::recvmsg::<()>(sock.as_raw_fd(), &mut iov, Some(&mut space), flags) {
            Err(nix::Error::EINTR) => {}
            other => break other.map_err(io::Error::from)?,
        }
    };
    let fds_truncated = msg.flags.contains(MsgFlags::MSG_CTRUNC);
    let truncated = msg.flags.contains(MsgFlags::MSG_TRUNC);
    for cmsg in msg.cmsgs().map_err(io::Error::from)? {
        if let ControlMessageOwned::ScmRights(raw) = cmsg {
            for fd in raw {
                // SAFETY: the kernel installed `fd` in this process for this message; nothing
                // else refers to it yet, so taking ownership is sound.
                fds.push(unsafe { OwnedFd::from_raw_fd(fd) });
            }
        }
    }
    if fds_truncated {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "descriptor list truncated by the kernel",
        ));
    }
    Ok(Received {
        len: msg.bytes,
        truncated,
    })
}
