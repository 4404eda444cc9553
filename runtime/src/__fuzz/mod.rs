//! Not an API: entry points for the cargo-fuzz targets in `fuzz/` (feature `fuzzing`) and for
//! the property tests (issue #15). Each takes bytes that a peer could produce and runs the
//! decoder that would read them, then checks what the trust model promises for untrusted input
//! (DESIGN.md, "Trust model"): a typed error or a valid value, never a panic, and no allocation
//! of a size the input chose.
//!
//! Every property broken here panics with `finding N`, so a fuzzer reports it as a crash and a
//! property test fails. Findings whose fixes are on other branches can be skipped with
//! [`Known`] (the fuzz targets read it from `MPROC_FUZZ_KNOWN`, e.g. `1,2,3`), so a campaign
//! goes on finding new things.
//!
//! # Input formats
//!
//! Multi-byte numbers are little endian; an input that runs out reads as zeros.
//!
//! - [`wire`]: `max_len selector (u8)`, `descriptor count (u8, mod 4)`, the descriptors (see
//!   [`make_fd`]), then the record's bytes, sent as one `SOCK_SEQPACKET` message.
//! - [`codec`]: `target type (u8)`, `descriptor count (u8, mod 4)`, the descriptors, then the
//!   postcard bytes given to [`codec::decode`](crate::codec::decode) for the target type; a
//!   handle that decodes is then used (`try_` operations only).
//! - [`queue_ring`]: a queue segment's state (the counters, as `u64`s), the ring's bytes, then
//!   operations (`put`, `get`, `task_done`, `close`...) on it through the ring algorithm.
//! - [`segment`]: a segment built by [`make_segment`], then mapped as each kind of object.

#![allow(
    clippy::cast_possible_truncation,
    reason = "fuzz inputs pick small numbers out of larger ones on purpose"
)]
#![allow(
    clippy::missing_panics_doc,
    reason = "panicking on a broken property is the point of this module"
)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

mod inputs;
mod targets;

pub use inputs::{make_fd, make_segment};
pub use targets::{CODEC_TYPES, codec, queue_ring, segment, wire};

/// The largest single allocation a decoder may make, whatever the input claims (beyond what
/// the input itself holds: decoding `n` bytes may allocate a few times `n`).
pub const ALLOC_LIMIT: usize = 4 << 20;

/// The most bytes a generated memfd really holds (its declared size can be larger: sparse).
pub(crate) const MEMFD_CONTENT_MAX: usize = 64 << 10;

// ------------------------------------------------------------------ allocation accounting

/// A global allocator that remembers, per thread, the largest single allocation since
/// [`largest_alloc`] started watching. Fuzz targets install it with `#[global_allocator]`; the
/// crate's own tests do too.
#[derive(Debug)]
pub struct CountingAlloc;

thread_local! {
    // `const`, `Cell<usize>`: no destructor, no lazy initialization, so no allocation from
    // inside the allocator.
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) {
    let _ = LARGEST.try_with(|l| l.set(l.get().max(size)));
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so the
// `GlobalAlloc` contract is `System`'s; `note` only touches a thread-local `Cell`.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: forwarded unchanged (the caller upholds `alloc`'s contract).
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: as `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged; `ptr` came from `System` through this allocator.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        // SAFETY: forwarded unchanged; `ptr` came from `System` through this allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[cfg(test)]
#[global_allocator]
static COUNTING: CountingAlloc = CountingAlloc;

/// Runs `f` and returns its result with the largest single allocation this thread made
/// meanwhile (0 unless [`CountingAlloc`] is the global allocator).
pub fn largest_alloc<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let before = LARGEST.with(|l| l.replace(0));
    let out = f();
    let largest = LARGEST.with(|l| l.replace(before.max(l.get())));
    (out, largest)
}

// ------------------------------------------------------------------ known findings

/// Findings of issue #15 whose fixes are elsewhere: their checks are skipped, and inputs that
/// would only trigger them are tamed (so a campaign does not stop on them every time).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Known(u32);

impl Known {
    /// Every check on.
    pub const NONE: Known = Known(0);

    /// The findings numbered in `list`.
    #[must_use]
    pub fn of(list: &[u32]) -> Self {
        Known(list.iter().fold(0, |m, n| m | 1 << (n % 32)))
    }

    /// The comma-separated finding numbers in `MPROC_FUZZ_KNOWN` (empty when unset).
    #[must_use]
    pub fn from_env() -> Self {
        let list = std::env::var("MPROC_FUZZ_KNOWN").unwrap_or_default();
        let numbers: Vec<u32> = list
            .split(',')
            .filter_map(|n| n.trim().parse().ok())
            .collect();
        Self::of(&numbers)
    }

    pub(crate) fn has(self, n: u32) -> bool {
        self.0 & (1 << n) != 0
    }

    /// `value` for the queue counter `name`, kept away from findings 2 (below 2^40, so no
    /// sum overflows) and 4 (positions 8-aligned) when they are known.
    pub(crate) fn tame(self, name: &str, mut value: u64) -> u64 {
        if self.has(F_RING_OVERFLOW) {
            value &= (1 << 40) - 1;
        }
        let positions = [
            "head", "tail", "com_head", "pub_tail", "ovf_head", "ovf_tail", "com_ovf", "pub_ovf",
        ];
        if self.has(F_RING_MISALIGNED) && positions.contains(&name) {
            value &= !7;
        }
        value
    }
}

/// Where each counter of a queue's state lies in its segment (the state starts at 64; see
/// `queue::state`), in the order [`queue_ring`] reads them.
const QUEUE_FIELDS: [(&str, usize); 18] = [
    ("head", 64 + 192),
    ("tail", 64 + 64),
    ("gets", 64 + 200),
    ("puts", 64 + 72),
    ("done", 64 + 208),
    ("com_head", 64 + 136),
    ("com_gets", 64 + 144),
    ("pub_tail", 64 + 8),
    ("pub_puts", 64 + 16),
    ("side_taking", 64 + 152),
    ("side_seq", 64 + 24),
    ("maxsize", 64 + 264),
    ("write_lock", 64),
    ("read_lock", 64 + 128),
    ("ovf_head", 64 + 216),
    ("ovf_tail", 64 + 80),
    ("com_ovf", 64 + 160),
    ("pub_ovf", 64 + 32),
];

/// Finding 1: a memfd-spilled payload is read into an allocation of its declared size.
pub const F_WIRE_MEMFD_ALLOC: u32 = 1;
/// Finding 2: ring arithmetic on corrupted indices overflows.
pub const F_RING_OVERFLOW: u32 = 2;
/// Finding 3: a zero-length record is read as end of stream.
pub const F_ZERO_LENGTH_EOF: u32 = 3;
/// Finding 4: a ring position that is not 8-aligned underflows `reserve`'s padding.
pub const F_RING_MISALIGNED: u32 = 4;

// ------------------------------------------------------------------ input reader

/// Reads numbers and byte strings off the front of a fuzz input; zeros once it runs out.
#[derive(Debug)]
pub struct Input<'a>(&'a [u8]);

impl<'a> Input<'a> {
    /// A reader of `data`.
    #[must_use]
    pub fn new(data: &'a [u8]) -> Self {
        Self(data)
    }

    fn take<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        let n = N.min(self.0.len());
        out[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        out
    }

    /// One byte.
    pub fn u8(&mut self) -> u8 {
        self.take::<1>()[0]
    }

    /// A `u16`.
    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes(self.take())
    }

    /// A `u32`.
    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.take())
    }

    /// A `u64`.
    pub fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.take())
    }

    /// Up to `n` bytes.
    pub fn bytes(&mut self, n: usize) -> &'a [u8] {
        let (head, tail) = self.0.split_at(n.min(self.0.len()));
        self.0 = tail;
        head
    }

    /// Everything left.
    #[must_use]
    pub fn rest(self) -> &'a [u8] {
        self.0
    }
}
// ------------------------------------------------------------------ property tests

/// The configuration of the crate's property tests: `cases` cases, no files written (a
/// failure prints its minimal input; add it to the test by hand).
#[cfg(test)]
pub(crate) fn proptest_config(cases: u32) -> proptest::test_runner::Config {
    proptest::test_runner::Config {
        cases,
        failure_persistence: None,
        ..proptest::test_runner::Config::default()
    }
}
