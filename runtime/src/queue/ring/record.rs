//! Writing one record into the ring: from slices, or filled in place by a loan.

use super::{Bytes, HEADER, Park, RecordHeader, Ring};

impl<B: Bytes, P: Park> Ring<'_, B, P> {
    /// Writes a record (header, then `parts` concatenated) at ring position `at`.
    pub(super) fn write_record(&self, at: u64, kind: u32, parts: &[&[u8]]) {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        let header = RecordHeader {
            len: u32::try_from(len).unwrap_or(u32::MAX),
            kind,
        };
        let mut offset = at & (self.cap - 1);
        // SAFETY: `reserve` found `at..at + record_size(len)` free, inside the ring and not
        // crossing its end; it belongs to this producer (holding the lock) until published.
        unsafe {
            self.bytes.write(offset, &header.to_bytes());
            offset += HEADER;
            for part in parts {
                self.bytes.write(offset, part);
                offset += part.len() as u64;
            }
        }
    }

    /// Writes a record of `len` payload bytes at ring position `at`, the payload written in
    /// place by `fill` (see `Body::Fill`).
    pub(super) fn fill_record(
        &self,
        at: u64,
        kind: u32,
        len: u64,
        fill: &mut dyn FnMut(&mut [u8]),
    ) {
        let header = RecordHeader {
            len: u32::try_from(len).unwrap_or(u32::MAX),
            kind,
        };
        let offset = at & (self.cap - 1);
        // SAFETY: as in `write_record`: `reserve` found `at..at + record_size(len)` free,
        // inside the ring and not crossing its end, and it is this producer's until published.
        unsafe {
            self.bytes.write(offset, &header.to_bytes());
            self.bytes.fill(offset + HEADER, len, fill);
        }
    }
}

/// The `len` bytes `fill` writes, in a buffer of their own (a loaned record that goes to the
/// overflow rather than the ring).
pub(super) fn filled(len: u64, fill: &mut dyn FnMut(&mut [u8])) -> Vec<u8> {
    let mut buf = vec![0; usize::try_from(len).unwrap_or(0)];
    fill(&mut buf);
    buf
}
