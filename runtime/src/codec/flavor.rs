//! The outputs postcard writes to.
//!
//! Most of what postcard writes is a few bytes at a time (a varint is at most 10). Copying
//! them with `extend_from_slice` or `copy_from_slice` is a `memcpy` call per integer, which
//! was the largest cost of encoding a sequence of numbers, and 6 % of a small item's trip
//! through a queue: short runs are copied inline instead.

use postcard::ser_flavors::Flavor;

/// Runs up to this long are copied inline.
const SHORT: usize = 16;

/// Appends to a borrowed buffer.
pub(super) struct Append<'a>(pub(super) &'a mut Vec<u8>);

impl Flavor for Append<'_> {
    type Output = ();

    #[inline]
    fn try_push(&mut self, byte: u8) -> postcard::Result<()> {
        self.0.push(byte);
        Ok(())
    }

    #[inline]
    fn try_extend(&mut self, data: &[u8]) -> postcard::Result<()> {
        let n = data.len();
        if n <= SHORT {
            // One capacity check, the copy into the spare capacity, then the length once:
            // pushing byte by byte stored the length back to memory at every byte.
            self.0.reserve(SHORT);
            let len = self.0.len();
            // SAFETY: `reserve` made room for SHORT >= n bytes after `len`; `copy_short_raw`
            // writes exactly those n bytes, so the new length covers initialized bytes only.
            unsafe {
                copy_short_raw(self.0.as_mut_ptr().add(len), data);
                self.0.set_len(len + n);
            }
        } else {
            self.0.extend_from_slice(data);
        }
        Ok(())
    }

    fn finalize(self) -> postcard::Result<()> {
        Ok(())
    }
}

/// Fills a fixed buffer (on the stack) from its start; the output is the length written.
/// A value that does not fit fails with `SerializeBufferFull`.
pub(super) struct OnStack<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> OnStack<'a> {
    pub(super) fn new(buf: &'a mut [u8]) -> Self {
        Self { buf, len: 0 }
    }
}

impl Flavor for OnStack<'_> {
    type Output = usize;

    #[inline]
    fn try_push(&mut self, byte: u8) -> postcard::Result<()> {
        let slot = self
            .buf
            .get_mut(self.len)
            .ok_or(postcard::Error::SerializeBufferFull)?;
        *slot = byte;
        self.len += 1;
        Ok(())
    }

    #[inline]
    fn try_extend(&mut self, data: &[u8]) -> postcard::Result<()> {
        let dst = self
            .len
            .checked_add(data.len())
            .and_then(|end| self.buf.get_mut(self.len..end))
            .ok_or(postcard::Error::SerializeBufferFull)?;
        copy_short(dst, data);
        self.len += data.len();
        Ok(())
    }

    fn finalize(self) -> postcard::Result<usize> {
        Ok(self.len)
    }
}

/// Copies `src` into `dst` (of the same length), runs of up to [`SHORT`] bytes with at most
/// two fixed-size moves each (overlapping when the length is not a power of two).
#[inline]
fn copy_short(dst: &mut [u8], src: &[u8]) {
    assert_eq!(dst.len(), src.len());
    // SAFETY: `dst` is valid for writes of `src.len()` bytes (checked above).
    unsafe { copy_short_raw(dst.as_mut_ptr(), src) }
}

/// [`copy_short`] to a raw destination, which may be uninitialized.
///
/// # Safety
/// `dst` must be valid for writes of `src.len()` bytes and not overlap `src`.
#[inline]
unsafe fn copy_short_raw(dst: *mut u8, src: &[u8]) {
    use std::ptr::copy_nonoverlapping as copy;
    let (n, s) = (src.len(), src.as_ptr());
    // SAFETY: in every arm, each move reads inside `src` and writes the same offsets of
    // `dst`, both `n` bytes long (the caller's promise for `dst`), at offsets below `n`.
    unsafe {
        match n {
            0 => {}
            // The first, middle and last bytes: all of them for 1, 2 or 3.
            1..4 => {
                *dst = src[0];
                *dst.add(n / 2) = src[n / 2];
                *dst.add(n - 1) = src[n - 1];
            }
            4..8 => {
                copy(s, dst, 4);
                copy(s.add(n - 4), dst.add(n - 4), 4);
            }
            8..=SHORT => {
                copy(s, dst, 8);
                copy(s.add(n - 8), dst.add(n - 8), 8);
            }
            _ => copy(s, dst, n),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_short_copies_every_length_exactly() {
        let src: Vec<u8> = (1..=40).collect();
        for n in 0..=src.len() {
            let mut dst = vec![0u8; n + 2];
            copy_short(&mut dst[1..=n], &src[..n]);
            assert_eq!(&dst[1..=n], &src[..n], "length {n}");
            assert_eq!((dst[0], dst[n + 1]), (0, 0), "length {n} wrote outside");
        }
    }

    #[test]
    fn on_stack_fails_when_full_and_reports_the_length_written() {
        let mut buf = [0u8; 4];
        let written = postcard::serialize_with_flavor(&(1u8, 300u32), OnStack::new(&mut buf));
        assert_eq!(written, Ok(3));
        assert_eq!(buf[..3], [1, 0xac, 0x02]);
        let mut small = [0u8; 4];
        let full = postcard::serialize_with_flavor(&[300u64; 3], OnStack::new(&mut small));
        assert_eq!(full, Err(postcard::Error::SerializeBufferFull));
    }
}
