//! Random bytes from the kernel (`getrandom`), for keys and challenges.

use std::io;

/// Fills `buf` with cryptographically secure random bytes (blocks only until the kernel's pool
/// is initialized, once after boot).
///
/// # Errors
/// OS errors from `getrandom`.
pub(crate) fn fill(buf: &mut [u8]) -> io::Result<()> {
    let mut done = 0;
    while done < buf.len() {
        let rest = &mut buf[done..];
        // SAFETY: `rest` is valid for writes of `rest.len()` bytes for the call's duration.
        let n = unsafe { libc::getrandom(rest.as_mut_ptr().cast(), rest.len(), 0) };
        if let Ok(n) = usize::try_from(n) {
            done += n;
        } else {
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }
    Ok(())
}

/// `N` random bytes.
///
/// # Errors
/// As [`fill`].
pub(crate) fn bytes<const N: usize>() -> io::Result<[u8; N]> {
    let mut out = [0u8; N];
    fill(&mut out)?;
    Ok(out)
}
