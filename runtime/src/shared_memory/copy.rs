//! Copies between local buffers and memory other processes write at the same time.
//!
//! A named block has no lock: Python's `SharedMemory` hands out a plain `memoryview`, and a
//! Python process may write while mproc reads. Plain loads and stores racing with another
//! process's stores would be a data race in Rust's memory model, so every byte goes through a
//! relaxed atomic access instead: aligned 8-byte words in the middle, single bytes at the
//! unaligned ends. A racing write can still be seen half done (a torn value), never as
//! undefined behaviour; callers that need a consistent snapshot use a lock, as in Python.
//!
//! # Memory ordering
//! `Relaxed` throughout: these copies carry data, not synchronization. Ordering between
//! processes comes from whatever lock or message the program uses around them.

use std::sync::atomic::{AtomicU8, AtomicU64, Ordering::Relaxed};

const WORD: usize = std::mem::size_of::<u64>();

/// Copies `dst.len()` bytes from `src` into `dst`.
///
/// # Safety
/// `src..src + dst.len()` lies inside one live mapping, valid for reads, that is only ever
/// accessed atomically or from other processes.
#[allow(
    clippy::cast_ptr_alignment,
    reason = "words are read only where `align_offset` is 0"
)]
pub(super) unsafe fn load(src: *mut u8, dst: &mut [u8]) {
    let mut i = 0;
    while i < dst.len() {
        // SAFETY: `i < dst.len()`, so `src + i` is in the caller's range.
        let at = unsafe { src.add(i) };
        if at.align_offset(WORD) == 0 && dst.len() - i >= WORD {
            // SAFETY: `at` is 8-aligned and `at..at + 8` is in range (checked above); the
            // memory is only accessed atomically (caller's contract).
            let word = unsafe { AtomicU64::from_ptr(at.cast::<u64>()) }.load(Relaxed);
            dst[i..i + WORD].copy_from_slice(&word.to_ne_bytes());
            i += WORD;
        } else {
            // SAFETY: `at` is in range; a byte is always aligned.
            dst[i] = unsafe { AtomicU8::from_ptr(at) }.load(Relaxed);
            i += 1;
        }
    }
}

/// Copies `src` into the memory at `dst`.
///
/// # Safety
/// `dst..dst + src.len()` lies inside one live writable mapping that is only ever accessed
/// atomically or from other processes.
#[allow(
    clippy::cast_ptr_alignment,
    reason = "words are written only where `align_offset` is 0"
)]
pub(super) unsafe fn store(dst: *mut u8, src: &[u8]) {
    let mut i = 0;
    while i < src.len() {
        // SAFETY: `i < src.len()`, so `dst + i` is in the caller's range.
        let at = unsafe { dst.add(i) };
        if at.align_offset(WORD) == 0 && src.len() - i >= WORD {
            let mut word = [0; WORD];
            word.copy_from_slice(&src[i..i + WORD]);
            // SAFETY: as in `load`: aligned, in range, only accessed atomically.
            unsafe { AtomicU64::from_ptr(at.cast::<u64>()) }
                .store(u64::from_ne_bytes(word), Relaxed);
            i += WORD;
        } else {
            // SAFETY: `at` is in range; a byte is always aligned.
            unsafe { AtomicU8::from_ptr(at) }.store(src[i], Relaxed);
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_offset_and_length_round_trips() {
        let mut backing = vec![0u64; 8];
        let base = backing.as_mut_ptr().cast::<u8>();
        let pattern: Vec<u8> = (1..=40).collect();
        for start in 0..16 {
            for len in 0..=24 {
                // SAFETY: start + len <= 40 < 64 bytes of `backing`, accessed only here.
                unsafe { store(base.add(start), &pattern[..len]) };
                let mut out = vec![0xAA; len];
                // SAFETY: as above.
                unsafe { load(base.add(start), &mut out) };
                assert_eq!(out, pattern[..len], "start {start} len {len}");
            }
        }
    }
}
