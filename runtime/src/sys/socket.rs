//! Unix stream sockets with descriptor passing (`SCM_RIGHTS`).

use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::sys::socket::{
    AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags, SockFlag, SockType,
};

/// The kernel's limit on descriptors in one `SCM_RIGHTS` message (`SCM_MAX_FD`).
pub(crate) const MAX_FDS_PER_MESSAGE: usize = 253;

/// A connected pair of `AF_UNIX` stream sockets, both close-on-exec.
pub(crate) fn socketpair() -> io::Result<(OwnedFd, OwnedFd)> {
    nix::sys::socket::socketpair(
        AddressFamily::Unix,
        SockType::Stream,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .map_err(io::Error::from)
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

/// One `recvmsg` into `buf`; descriptors that arrived with the data are appended to `fds`.
///
/// Returns the number of bytes read (0 at end of stream). With `nonblocking`, an empty socket
/// gives `WouldBlock`.
///
/// # Errors
/// Besides OS errors, `InvalidData` when the kernel truncated the descriptor list (it closes
/// the descriptors it could not deliver, so the message they belonged to is unusable).
pub(crate) fn recv(
    sock: BorrowedFd<'_>,
    buf: &mut [u8],
    fds: &mut Vec<OwnedFd>,
    nonblocking: bool,
) -> io::Result<usize> {
    let mut flags = MsgFlags::MSG_CMSG_CLOEXEC;
    if nonblocking {
        flags |= MsgFlags::MSG_DONTWAIT;
    }
    let mut space = nix::cmsg_space!([RawFd; MAX_FDS_PER_MESSAGE]);
    let mut iov = [IoSliceMut::new(buf)];
    let msg = loop {
        match nix::sys::socket::recvmsg::<()>(sock.as_raw_fd(), &mut iov, Some(&mut space), flags) {
            Err(nix::Error::EINTR) => {}
            other => break other.map_err(io::Error::from)?,
        }
    };
    let truncated = msg.flags.contains(MsgFlags::MSG_CTRUNC);
    for cmsg in msg.cmsgs().map_err(io::Error::from)? {
        if let ControlMessageOwned::ScmRights(raw) = cmsg {
            for fd in raw {
                // SAFETY: the kernel installed `fd` in this process for this message; nothing
                // else refers to it yet, so taking ownership is sound.
                fds.push(unsafe { OwnedFd::from_raw_fd(fd) });
            }
        }
    }
    if truncated {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "descriptor list truncated by the kernel",
        ));
    }
    Ok(msg.bytes)
}
