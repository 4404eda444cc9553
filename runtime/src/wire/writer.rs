//! Writing frames.

use std::io::{self, IoSlice};
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::time::Instant;

use super::{WireError, header};
use crate::sys::{self, fd::Interest, socket::MAX_FDS_PER_MESSAGE};

/// Writes one frame made of `parts` (concatenated) with `fds` attached.
///
/// `deadline` bounds only the wait for the *first* byte to be accepted: once part of a frame
/// is in the socket, the rest is written whatever the time, because a half-written frame would
/// corrupt the stream for the reader.
///
/// # Errors
/// [`WireError::Timeout`] if nothing could be written before `deadline`; [`WireError::Io`] with
/// `EPIPE` if the peer is gone, or other OS errors; [`WireError::Corrupt`] for more than 253
/// descriptors.
pub(crate) fn write_frame(
    sock: BorrowedFd<'_>,
    parts: &[&[u8]],
    fds: &[BorrowedFd<'_>],
    deadline: Option<Instant>,
) -> Result<(), WireError> {
    if parts.len() > MAX_PARTS {
        // Callers pass one to three parts; join the rest rather than fail.
        let joined = parts.concat();
        return write_frame(sock, &[&joined], fds, deadline);
    }
    let nfds = u8::try_from(fds.len())
        .ok()
        .filter(|&n| usize::from(n) <= MAX_FDS_PER_MESSAGE)
        .ok_or(WireError::Corrupt("more than 253 descriptors in one frame"))?;
    let total: u64 = parts.iter().map(|p| p.len() as u64).sum();
    let (head, head_len) = header(total, nfds);
    let mut raw_fds = [0 as RawFd; MAX_FDS_PER_MESSAGE];
    for (slot, fd) in raw_fds.iter_mut().zip(fds) {
        *slot = fd.as_raw_fd();
    }
    let raw_fds = &raw_fds[..fds.len()];

    // The frame as up to MAX_PARTS + 1 slices, without allocating.
    let mut slices: [&[u8]; MAX_PARTS + 1] = [&[]; MAX_PARTS + 1];
    slices[0] = &head[..head_len];
    slices[1..=parts.len()].copy_from_slice(parts);
    let slices = &slices[..=parts.len()];
    let mut skip = 0usize; // bytes of `slices` already written
    let mut first = true;
    loop {
        let mut iov = [IoSlice::new(&[]); MAX_PARTS + 1];
        let n = remaining_iov(slices, skip, &mut iov);
        if n == 0 {
            return Ok(());
        }
        let attach: &[RawFd] = if first { raw_fds } else { &[] };
        match sys::socket::send(sock, &iov[..n], attach, true) {
            Ok(sent) => {
                skip += sent;
                first = false;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                let wait_until = if first { deadline } else { None };
                if sys::fd::poll([Interest::write(sock)], wait_until)?.is_none() {
                    return Err(WireError::Timeout);
                }
            }
            Err(e) => return Err(WireError::Io(e)),
        }
    }
}

/// The most payload parts one frame is written from.
const MAX_PARTS: usize = 4;

/// Fills `out` with the not-yet-written tail of `slices` after `skip` bytes; returns how many
/// entries it used (empty slices are left out).
fn remaining_iov<'a>(slices: &[&'a [u8]], mut skip: usize, out: &mut [IoSlice<'a>]) -> usize {
    let mut n = 0;
    for s in slices {
        if skip >= s.len() {
            skip -= s.len();
            continue;
        }
        out[n] = IoSlice::new(&s[skip..]);
        n += 1;
        skip = 0;
    }
    n
}
