//! A segment's data area as the byte store of a queue's ring.

use super::ring::Bytes;
use crate::shm::segment::{ShmBox, ShmState};

impl<S: ShmState> Bytes for ShmBox<S> {
    unsafe fn write(&self, at: u64, src: &[u8]) {
        let at = usize::try_from(at).unwrap_or(usize::MAX);
        debug_assert!(at.saturating_add(src.len()) <= self.data_len());
        // SAFETY: the caller guarantees `at..at + src.len()` lies in the data area (which the
        // mapping keeps valid while `self` lives) and that no one else accesses it meanwhile;
        // `src` is local memory, so the two ranges cannot overlap.
        unsafe {
            std::ptr::copy_nonoverlapping(src.as_ptr(), self.data().as_ptr().add(at), src.len());
        }
    }

    unsafe fn read<R>(&self, at: u64, len: u64, f: impl FnOnce(&[u8]) -> R) -> R {
        let at = usize::try_from(at).unwrap_or(usize::MAX);
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        debug_assert!(at.saturating_add(len) <= self.data_len());
        // SAFETY: the caller guarantees the range lies in the data area and that no process
        // writes it while `f` runs (a published, uncommitted record under the consumers'
        // lock); the slice does not outlive this call, so not the mapping either.
        let bytes = unsafe { std::slice::from_raw_parts(self.data().as_ptr().add(at), len) };
        f(bytes)
    }

    unsafe fn fill(&self, at: u64, len: u64, f: &mut dyn FnMut(&mut [u8])) {
        let at = usize::try_from(at).unwrap_or(usize::MAX);
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        debug_assert!(at.saturating_add(len) <= self.data_len());
        // SAFETY: the caller guarantees the range lies in the data area and belongs to this
        // producer alone until it publishes it (unpublished space, under the producers' lock),
        // so no one else reads or writes it while `f` runs; the slice does not outlive the call.
        let bytes = unsafe { std::slice::from_raw_parts_mut(self.data().as_ptr().add(at), len) };
        f(bytes);
    }
}
