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
    let nfds = u8::try_from(fds.len())
        .ok()
        .filter(|&n| usize::from(n) <= MAX_FDS_PER_MESSAGE)
        .ok_or(WireError::Corrupt("more than 253 descriptors in one frame"))?;
    let total: u64 = parts.iter().map(|p| p.len() as u64).sum();
    let (head, head_len) = header(total, nfds);
    let raw_fds: Vec<RawFd> = fds.iter().map(AsRawFd::as_raw_fd).collect();

    let mut slices: Vec<&[u8]> = Vec::with_capacity(parts.len() + 1);
    slices.push(&head[..head_len]);
    slices.extend(parts.iter().copied().filter(|p| !p.is_empty()));
    let mut skip = 0usize; // bytes of `slices` already written
    let mut first = true;
    loop {
        let iov = remaining_iov(&slices, skip);
        if iov.is_empty() {
            return Ok(());
        }
        let attach: &[RawFd] = if first { &raw_fds } else { &[] };
        match sys::socket::send(sock, &iov, attach, true) {
            Ok(n) => {
                skip += n;
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

/// The not-yet-written tail of `slices`, after skipping `skip` bytes.
fn remaining_iov<'a>(slices: &[&'a [u8]], mut skip: usize) -> Vec<IoSlice<'a>> {
    let mut out = Vec::with_capacity(slices.len());
    for s in slices {
        if skip >= s.len() {
            skip -= s.len();
            continue;
        }
        out.push(IoSlice::new(&s[skip..]));
        skip = 0;
    }
    out
}
