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
        let (len, n) = (self.0.len(), data.len());
        if n <= SHORT {
            // A fixed-size growth (one capacity check and a 16-byte store), the copy, then the
            // length: pushing byte by byte stored the length back to memory at every byte.
            self.0.resize(len + SHORT, 0);
            copy_short(&mut self.0[len..len + n], data);
            self.0.truncate(len + n);
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
    debug_assert_eq!(dst.len(), src.len());
    let n = src.len();
    match n {
        0 => {}
        // The first, middle and last bytes: all of them for 1, 2 or 3.
        1..4 => {
            dst[0] = src[0];
            dst[n / 2] = src[n / 2];
            dst[n - 1] = src[n - 1];
        }
        4..8 => {
            dst[..4].copy_from_slice(&src[..4]);
            dst[n - 4..].copy_from_slice(&src[n - 4..]);
        }
        8..=SHORT => {
            dst[..8].copy_from_slice(&src[..8]);
            dst[n - 8..].copy_from_slice(&src[n - 8..]);
        }
        _ => dst.copy_from_slice(src),
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
