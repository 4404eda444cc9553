//! Byte-stream sockets (TCP and Unix `SOCK_STREAM`): receiving into a buffer's spare capacity,
//! so that a growing receive buffer is never zero-filled first.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

use super::cvt;

/// Receives at most `max` bytes from `sock` into `buf`'s spare capacity (reserving room for
/// them first) and appends them to `buf`. With `nonblocking` (`MSG_DONTWAIT`) an empty socket
/// gives `WouldBlock`; without, a blocking socket waits. Returns the number of bytes received;
/// 0 means the peer closed the stream. Retries on `EINTR`.
pub(crate) fn recv_append(
    sock: BorrowedFd<'_>,
    buf: &mut Vec<u8>,
    max: usize,
    nonblocking: bool,
) -> io::Result<usize> {
    buf.reserve(max);
    let spare = buf.spare_capacity_mut();
    let room = max.min(spare.len());
    loop {
        // SAFETY: `spare` is `room` or more bytes of `buf`'s allocation, writable and not yet
        // initialized; the kernel writes at most `room` bytes there and reads nothing from it.
        let ret = unsafe {
            libc::recv(
                sock.as_raw_fd(),
                spare.as_mut_ptr().cast(),
                room,
                if nonblocking { libc::MSG_DONTWAIT } else { 0 },
            )
        };
        match cvt(ret) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
            Ok(got) => {
                let got = usize::try_from(got).expect("invariant: recv returned >= 0");
                let len = buf.len() + got;
                // SAFETY: the kernel initialized the `got` bytes after the old length (got <=
                // room <= spare capacity).
                unsafe { buf.set_len(len) };
                return Ok(got);
            }
        }
    }
}

/// Receives at most `buf.len()` bytes into `buf` (as [`recv_append`], into an initialized
/// buffer). Returns the number of bytes received; 0 means the peer closed the stream.
pub(crate) fn recv_into(
    sock: BorrowedFd<'_>,
    buf: &mut [u8],
    nonblocking: bool,
) -> io::Result<usize> {
    loop {
        // SAFETY: `buf` is valid for writes of `buf.len()` bytes for the call's duration.
        let ret = unsafe {
            libc::recv(
                sock.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                if nonblocking { libc::MSG_DONTWAIT } else { 0 },
            )
        };
        match cvt(ret) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
            Ok(got) => return Ok(usize::try_from(got).expect("invariant: recv returned >= 0")),
        }
    }
}
