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

/// Whether a `SOCK_SEQPACKET` socket from which a receive just returned 0 bytes is at the end
/// of its stream, rather than holding a zero-length record.
///
/// The kernel returns 0 for both. The end of the stream is the peer's close (the socket is
/// shut down for receiving, `POLLRDHUP`) *with nothing left queued* (`FIONREAD`, which on a
/// `SOCK_SEQPACKET` socket counts every queued byte): a live peer's zero-length record is never
/// taken for it. Only zero-length records left behind a closed peer are ambiguous; they carry
/// nothing, so reporting the end of the stream at the first of them loses nothing.
pub(crate) fn at_end_of_stream(sock: BorrowedFd<'_>) -> io::Result<bool> {
    let mut pfd = libc::pollfd {
        fd: sock.as_raw_fd(),
        events: libc::POLLRDHUP,
        revents: 0,
    };
    loop {
        // SAFETY: one valid pollfd; a zero timeout never blocks.
        if unsafe { libc::poll(&raw mut pfd, 1, 0) } >= 0 {
            break;
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
    if pfd.revents & (libc::POLLRDHUP | libc::POLLHUP) == 0 {
        return Ok(false);
    }
    let mut queued: libc::c_int = 0;
    // SAFETY: FIONREAD writes one c_int through the valid pointer.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::FIONREAD, &raw mut queued) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(queued == 0)
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

/// Room for the control message of one record: `SCM_RIGHTS` with [`MAX_FDS_PER_MESSAGE`]
/// descriptors, in `u64`s so that the buffer is aligned for `cmsghdr`.
#[allow(
    clippy::cast_possible_truncation,
    reason = "253 descriptors take 1012 bytes, far below u32::MAX"
)]
// SAFETY: CMSG_SPACE only computes a size from its argument (a const evaluation).
const CMSG_WORDS: usize = unsafe {
    libc::CMSG_SPACE((MAX_FDS_PER_MESSAGE * size_of::<RawFd>()) as libc::c_uint) as usize
}
.div_ceil(8);

/// One `recvmsg` of a whole record into `buf` (cleared first), reading at most `room` bytes
/// into its spare capacity, so that a large buffer is never zero-filled. Descriptors that came
/// with the record are appended to `fds`.
///
/// [`Received::len`] is the record's full length (`MSG_TRUNC`), `buf` holds the first
/// `min(len, room)` bytes; `truncated` says the kernel discarded the rest. With `nonblocking`,
/// an empty socket gives `WouldBlock`.
///
/// # Errors
/// As [`recv`].
pub(crate) fn recv_to_vec(
    sock: BorrowedFd<'_>,
    buf: &mut Vec<u8>,
    room: usize,
    fds: &mut Vec<OwnedFd>,
    nonblocking: bool,
) -> io::Result<Received> {
    buf.clear();
    buf.reserve(room);
    let mut iov = libc::iovec {
        iov_base: buf.spare_capacity_mut().as_mut_ptr().cast(),
        iov_len: room,
    };
    let mut control = [0u64; CMSG_WORDS];
    // SAFETY: msghdr is plain data; all-zero is a valid value (no address, no buffers).
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &raw mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = size_of_val(&control);
    let mut flags = libc::MSG_CMSG_CLOEXEC | libc::MSG_TRUNC;
    if nonblocking {
        flags |= libc::MSG_DONTWAIT;
    }
    let got = loop {
        // SAFETY: `iov` describes `room` bytes of `buf`'s spare capacity (reserved above), and
        // `msg` points at it and at `control`; all outlive the call, and the kernel writes no
        // more than those lengths.
        let ret = unsafe { libc::recvmsg(sock.as_raw_fd(), &raw mut msg, flags) };
        match super::cvt(ret) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            other => break usize::try_from(other?).expect("invariant: recvmsg returned >= 0"),
        }
    };
    // SAFETY: the kernel initialized the first `min(got, room)` bytes of the spare capacity
    // (with MSG_TRUNC, `got` is the full record length, which may exceed what was copied).
    unsafe { buf.set_len(got.min(room)) };
    // SAFETY: `msg` was filled by a successful recvmsg; the CMSG_* walk stays within
    // `msg_controllen` bytes of `control`, which the kernel wrote.
    let mut cmsg = unsafe { libc::CMSG_FIRSTHDR(&raw const msg) };
    while !cmsg.is_null() {
        // SAFETY: `cmsg` is non-null and points at a header inside `control` (see above).
        let header = unsafe { cmsg.read_unaligned() };
        if header.cmsg_level == libc::SOL_SOCKET && header.cmsg_type == libc::SCM_RIGHTS {
            // SAFETY: CMSG_LEN only computes a size.
            let data_offset = unsafe { libc::CMSG_LEN(0) } as usize;
            let count = (header.cmsg_len as usize).saturating_sub(data_offset) / size_of::<RawFd>();
            // SAFETY: `cmsg` is a valid header (see above).
            let data = unsafe { libc::CMSG_DATA(cmsg) }.cast::<[u8; size_of::<RawFd>()]>();
            for i in 0..count {
                // SAFETY: the kernel wrote `count` descriptors after the header, inside
                // `control`; they are read as bytes, so alignment does not matter.
                let fd = RawFd::from_ne_bytes(unsafe { data.add(i).read_unaligned() });
                // SAFETY: the kernel installed `fd` in this process for this record; nothing
                // else refers to it yet, so taking ownership is sound.
                fds.push(unsafe { OwnedFd::from_raw_fd(fd) });
            }
        }
        // SAFETY: `msg` and `cmsg` are valid as above; CMSG_NXTHDR returns null past the end.
        cmsg = unsafe { libc::CMSG_NXTHDR(&raw const msg, cmsg) };
    }
    if msg.msg_flags & libc::MSG_CTRUNC != 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "descriptor list truncated by the kernel",
        ));
    }
    Ok(Received {
        len: got,
        truncated: msg.msg_flags & libc::MSG_TRUNC != 0,
    })
}
