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
use std::io::IoSlice;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::FileExt;
use std::time::Instant;

use crate::shm::segment::{Kind, type_tag};
use crate::{sys, wire};

/// The largest single allocation a decoder may make, whatever the input claims (beyond what
/// the input itself holds: decoding `n` bytes may allocate a few times `n`).
pub const ALLOC_LIMIT: usize = 4 << 20;

/// The most bytes a generated memfd really holds (its declared size can be larger: sparse).
const MEMFD_CONTENT_MAX: usize = 64 << 10;

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

    fn has(self, n: u32) -> bool {
        self.0 & (1 << n) != 0
    }
}

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

// ------------------------------------------------------------------ descriptors

/// How a generated memfd is sealed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Seal {
    /// Not at all.
    No,
    /// Against resizing, as mproc's segments (they stay writable).
    Size,
    /// Against every change, as mproc's message payloads.
    Frozen,
}

/// A memfd holding `content`, `size` bytes long (sparse past the content), sealed as `seal`.
fn memfd(content: &[u8], size: u64, seal: Seal) -> Option<OwnedFd> {
    let fd = sys::fd::sealable_memfd(c"mproc-fuzz").ok()?;
    // At offset 0 without moving the file's offset, as mproc's senders write (a receiver
    // reads from the shared offset: a moved one is refused).
    let file = std::fs::File::from(fd);
    file.write_all_at(content, 0).ok()?;
    file.set_len(size.max(content.len() as u64)).ok()?;
    let fd = OwnedFd::from(file);
    match seal {
        Seal::No => {}
        Seal::Frozen => sys::fd::seal_memfd(fd.as_fd()).ok()?,
        Seal::Size => {
            let seals = libc::F_SEAL_GROW | libc::F_SEAL_SHRINK | libc::F_SEAL_SEAL;
            // SAFETY: F_ADD_SEALS on a memfd we own; no pointers involved.
            if unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, seals) } != 0 {
                return None;
            }
        }
    }
    Some(fd)
}

/// The receiving end of a `SOCK_SEQPACKET` pair holding one record (`record`); the sending end
/// is closed, so end of stream follows the record.
fn socket_with(record: &[u8]) -> Option<OwnedFd> {
    let (tx, rx) = sys::socket::socketpair().ok()?;
    sys::socket::send(tx.as_fd(), &[IoSlice::new(record)], &[], true).ok()?;
    Some(rx)
}

/// Builds a segment the way a peer could: a memfd whose 64-byte header, state and data come
/// from `inp`. `flags` (one byte) chooses which header fields are right for a segment of `kind`
/// holding element type `tag`, so a fuzzer gets past each check in turn:
///
/// ```text
/// bit 0 real magic     bit 1 real version    bit 2 size field = the memfd's size
/// bit 3 the right tag  bit 4 sealed          bit 5 sparse size (u16 << 16), else u16
/// bit 6 the right kind bit 7 data_offset = 64 * (1 + u8 % 8), else a u64 from the input
/// ```
///
/// then `u16` size, header fields not taken from the flags (`u64` magic, `u32` version, `u32`
/// kind, `u64` size, `u64` tag, `u64` data offset) and `u64` data length, then the state
/// (written at offset 64: up to 512 bytes, and not past the data offset) and up to 4 KiB of
/// data (written at the data offset, when it lies within the first 64 KiB).
pub fn make_segment(inp: &mut Input<'_>, kind: u32, tag: u64) -> Option<OwnedFd> {
    const MAGIC: u64 = u64::from_le_bytes(*b"mprocSHM");
    const VERSION: u32 = 2;
    let flags = inp.u8();
    let raw = inp.u16();
    let size = if flags & 32 != 0 {
        u64::from(raw) << 16
    } else {
        u64::from(raw)
    };
    let magic = if flags & 1 != 0 { MAGIC } else { inp.u64() };
    let version = if flags & 2 != 0 { VERSION } else { inp.u32() };
    let kind = if flags & 64 != 0 { kind } else { inp.u32() };
    let size_field = if flags & 4 != 0 { size } else { inp.u64() };
    let tag = if flags & 8 != 0 { tag } else { inp.u64() };
    let data_offset = if flags & 128 != 0 {
        64 * (1 + u64::from(inp.u8() % 8))
    } else {
        inp.u64()
    };
    let data_len = inp.u64();
    let mut image = Vec::with_capacity(64);
    for word in [
        magic,
        u64::from(version) | u64::from(kind) << 32,
        size_field,
    ] {
        image.extend_from_slice(&word.to_le_bytes());
    }
    for word in [tag, data_offset, data_len, 0, 0] {
        image.extend_from_slice(&word.to_le_bytes());
    }
    match usize::try_from(data_offset) {
        Ok(at) if (64..=MEMFD_CONTENT_MAX).contains(&at) => {
            image.extend_from_slice(inp.bytes((at - 64).min(512)));
            image.resize(at, 0);
            image.extend_from_slice(inp.bytes(4 << 10));
        }
        _ => image.extend_from_slice(inp.bytes(512)),
    }
    image.truncate(usize::try_from(size).unwrap_or(usize::MAX));
    let seal = if flags & 16 != 0 {
        Seal::Size
    } else {
        Seal::No
    };
    memfd(&image, size, seal)
}

/// One descriptor of a kind chosen by the input (`u8 % 8`):
///
/// ```text
/// 0 a segment (make_segment)         1 a memfd payload: u8 flags (bit 0 sealed, bit 1
/// 2 /dev/null                          sparse), u32 size, u16 content length, the content
/// 3 a seqpacket socket with a record: u16 length, the record
/// 4 a stream socket   5 a pipe's read end   6 an eventfd   7 a closed seqpacket socket
/// ```
pub fn make_fd(inp: &mut Input<'_>, kind: u32, tag: u64) -> Option<OwnedFd> {
    match inp.u8() % 8 {
        0 => make_segment(inp, kind, tag),
        1 => {
            let flags = inp.u8();
            let size = u64::from(inp.u32());
            let len = usize::from(inp.u16()).min(MEMFD_CONTENT_MAX);
            let content = inp.bytes(len);
            let size = if flags & 2 != 0 {
                size.min(64 << 20)
            } else {
                0
            };
            let seal = if flags & 1 != 0 {
                Seal::Frozen
            } else {
                Seal::No
            };
            memfd(content, size, seal)
        }
        2 => std::fs::File::open("/dev/null").ok().map(OwnedFd::from),
        3 => {
            let len = usize::from(inp.u16());
            socket_with(inp.bytes(len))
        }
        4 => std::os::unix::net::UnixStream::pair()
            .ok()
            .map(|(a, _)| OwnedFd::from(a)),
        5 => std::io::pipe().ok().map(|(r, _)| OwnedFd::from(r)),
        6 => {
            // SAFETY: eventfd takes no pointers; a non-negative result is a new descriptor
            // owned by nobody else.
            let raw = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) };
            // SAFETY: see above.
            (raw >= 0).then(|| unsafe { std::os::fd::FromRawFd::from_raw_fd(raw) })
        }
        _ => sys::socket::socketpair().ok().map(|(a, _)| a),
    }
}

fn make_fds(inp: &mut Input<'_>, kind: u32, tag: u64) -> Vec<OwnedFd> {
    let n = inp.u8() % 4;
    (0..n).filter_map(|_| make_fd(inp, kind, tag)).collect()
}

// ------------------------------------------------------------------ wire

/// The receivers' maxima a wire input chooses from.
const MAX_LENS: [u64; 8] = [0, 1, 8, 64, 4096, 1 << 20, 1 << 30, u64::MAX];

/// Sends a record (bytes and descriptors from `data`, see the module docs) on a
/// `SOCK_SEQPACKET` pair and receives it with `wire`: peeking its length and prefix first,
/// then receiving it. Checks: typed errors only, nothing longer than the maximum delivered,
/// no `Eof` while the peer is open (finding 3), no allocation of a declared size (finding 1),
/// and the socket still carries the next record after an error.
pub fn wire(data: &[u8], known: Known) {
    let mut inp = Input::new(data);
    let max_len = MAX_LENS[usize::from(inp.u8() % 8)];
    let mut fds = make_fds(&mut inp, Kind::Queue as u32, 0);
    let record = inp.rest();
    // A memfd payload whose size is only declared costs its sender nothing: tame it when
    // finding 1 is known (a 64 MiB read per input would slow a campaign to a crawl).
    if known.has(F_WIRE_MEMFD_ALLOC) {
        fds.retain(|fd| {
            std::fs::File::from(fd.try_clone().expect("dup"))
                .metadata()
                .map_or(true, |m| m.len() <= 1 << 20)
        });
    }
    if known.has(F_ZERO_LENGTH_EOF) && record.is_empty() {
        return;
    }
    let (tx, rx) = sys::socket::socketpair().expect("socketpair");
    let raw: Vec<_> = fds.iter().map(AsRawFd::as_raw_fd).collect();
    if sys::socket::send(tx.as_fd(), &[IoSlice::new(record)], &raw, true).is_err() {
        return; // the kernel refused it (too long for the buffer): nothing to decode
    }
    drop(fds);
    let now = Some(Instant::now());
    match wire::peek_len(rx.as_fd(), now) {
        Err(wire::WireError::Eof) => {
            panic!("finding {F_ZERO_LENGTH_EOF}: a record peeked as end of stream")
        }
        Err(wire::WireError::Timeout) => panic!("a waiting record peeked as a timeout"),
        _ => {}
    }
    let _ = wire::peek_prefix::<4>(rx.as_fd());
    let (got, largest) = largest_alloc(|| {
        wire::recv(rx.as_fd(), max_len, Some(Instant::now()), |payload, fds| {
            (payload.len(), fds.len())
        })
    });
    match got {
        Ok((len, _)) => assert!(len as u64 <= max_len, "{len} bytes over a {max_len} max"),
        Err(wire::WireError::Eof) => {
            panic!("finding {F_ZERO_LENGTH_EOF}: a record was read as end of stream")
        }
        Err(wire::WireError::Timeout) => panic!("a waiting record read as a timeout"),
        Err(_) => {}
    }
    if !known.has(F_WIRE_MEMFD_ALLOC) {
        assert!(
            largest <= ALLOC_LIMIT + 4 * data.len(),
            "finding {F_WIRE_MEMFD_ALLOC}: one allocation of {largest} bytes for a \
             {}-byte input",
            data.len()
        );
    }
    // Every error but `Io` leaves the socket usable: the next record comes through.
    sys::socket::send(tx.as_fd(), &[IoSlice::new(&[0x01, 42])], &[], true).expect("send");
    let next = wire::recv(rx.as_fd(), 8, Some(Instant::now()), |p, _| p.to_vec());
    assert_eq!(
        next.expect("the next record"),
        [42],
        "the socket lost its place"
    );
}

// ------------------------------------------------------------------ codec

/// The types [`codec`] decodes, by the input's first byte (mod the count).
pub const CODEC_TYPES: [&str; 16] = [
    "Lock",
    "RLock",
    "Semaphore",
    "BoundedSemaphore",
    "Event",
    "Condition",
    "Barrier",
    "Value<u64>",
    "Array<u32>",
    "Queue<u32>",
    "SimpleQueue<u32>",
    "JoinableQueue<u32>",
    "Connection<u32>",
    "Fd",
    "(u32, String, ByteBuf, Option<i64>)",
    "Vec<(Fd, Lock)>",
];

/// The segment kind and element tag a type expects (so generated segments can get them right).
fn expects(which: usize) -> (u32, u64) {
    match which {
        1 => (Kind::RLock as u32, 0),
        2 | 3 => (Kind::Semaphore as u32, 0),
        4 => (Kind::Event as u32, 0),
        5 => (Kind::Condition as u32, 0),
        6 => (Kind::Barrier as u32, 0),
        7 => (Kind::Value as u32, type_tag::<u64>()),
        8 => (Kind::Array as u32, type_tag::<u32>()),
        9..=11 => (Kind::Queue as u32, type_tag::<u32>()),
        // `Lock`, and the plain types (whose descriptors are `Fd`s or `Lock`s).
        _ => (Kind::Lock as u32, 0),
    }
}

/// Decodes the postcard bytes and descriptors of `data` (see the module docs) as one of
/// [`CODEC_TYPES`], and uses a handle that decodes (`try_` operations only: nothing waits).
/// Checks: a typed error or a value, no panic, no allocation beyond the input's size.
pub fn codec(data: &[u8]) {
    let mut inp = Input::new(data);
    let which = usize::from(inp.u8()) % CODEC_TYPES.len();
    let (kind, tag) = expects(which);
    let fds = make_fds(&mut inp, kind, tag);
    let bytes = inp.rest();
    let ((), largest) = largest_alloc(|| decode_and_use(which, bytes, fds));
    assert!(
        largest <= ALLOC_LIMIT + 4 * data.len(),
        "decoding a {} allocated {largest} bytes at once from a {}-byte input",
        CODEC_TYPES[which],
        data.len()
    );
}

fn decode_and_use(which: usize, bytes: &[u8], fds: Vec<OwnedFd>) {
    use crate::codec::{ByteBuf, Fd, decode};
    use crate::{
        Array, Barrier, BoundedSemaphore, Condition, Connection, Event, JoinableQueue, Lock, Queue,
        RLock, Semaphore, SimpleQueue, Value,
    };
    match which {
        0 => {
            if let Ok(l) = decode::<Lock>(bytes, fds)
                && l.try_acquire().is_ok()
            {
                let _ = l.release();
            }
        }
        1 => {
            if let Ok(l) = decode::<RLock>(bytes, fds) {
                drop(l.try_lock());
            }
        }
        2 => {
            if let Ok(s) = decode::<Semaphore>(bytes, fds) {
                let _ = s.value();
                drop(s.try_guard());
            }
        }
        3 => {
            if let Ok(s) = decode::<BoundedSemaphore>(bytes, fds) {
                let _ = s.value();
                drop(s.try_guard());
            }
        }
        4 => {
            if let Ok(e) = decode::<Event>(bytes, fds) {
                let _ = (e.is_set(), e.try_wait());
            }
        }
        5 => {
            if let Ok(c) = decode::<Condition>(bytes, fds) {
                drop(c.try_lock());
            }
        }
        6 => {
            if let Ok(b) = decode::<Barrier>(bytes, fds) {
                let _ = (b.parties(), b.n_waiting());
            }
        }
        7 => {
            if let Ok(v) = decode::<Value<u64>>(bytes, fds) {
                drop(v.try_lock());
            }
        }
        8 => {
            if let Ok(a) = decode::<Array<u32>>(bytes, fds) {
                let _ = a.len();
                drop(a.try_lock());
            }
        }
        9 => {
            if let Ok(q) = decode::<Queue<u32>>(bytes, fds) {
                let _ = q.qsize();
                for _ in 0..4 {
                    let _ = q.try_get();
                }
                let _ = q.try_put(&7);
            }
        }
        10 => drop(decode::<SimpleQueue<u32>>(bytes, fds)),
        11 => {
            if let Ok(q) = decode::<JoinableQueue<u32>>(bytes, fds) {
                let _ = q.as_queue().try_get();
                let _ = q.task_done();
            }
        }
        12 => {
            if let Ok(c) = decode::<Connection<u32>>(bytes, fds) {
                let _ = c.try_recv();
            }
        }
        13 => drop(decode::<Fd>(bytes, fds)),
        14 => drop(decode::<(u32, String, ByteBuf, Option<i64>)>(bytes, fds)),
        _ => drop(decode::<Vec<(Fd, Lock)>>(bytes, fds)),
    }
}

// ------------------------------------------------------------------ segments

/// Decodes a handle (the first byte picks one of the first 12 [`CODEC_TYPES`]) whose segment
/// is built from the rest of `data` by [`make_segment`]: the check every received handle
/// goes through (`ShmBox::open`, then the type's own checks), then the handle is used as in
/// [`codec`]. Queues get a real side socket, so only their segment is in question.
pub fn segment(data: &[u8]) {
    let mut inp = Input::new(data);
    let which = usize::from(inp.u8()) % 12;
    let (kind, tag) = expects(which);
    let Some(seg) = make_segment(&mut inp, kind, tag) else {
        return;
    };
    let mut fds = vec![seg];
    let mut bytes = vec![0u8];
    if (9..=11).contains(&which) {
        let (tx, rx) = sys::socket::socketpair().expect("socketpair");
        fds.extend([tx, rx]);
        bytes.extend([1, 2]);
    }
    let ((), largest) = largest_alloc(|| decode_and_use(which, &bytes, fds));
    assert!(
        largest <= ALLOC_LIMIT + 4 * data.len(),
        "a {} on a generated segment allocated {largest} bytes at once",
        CODEC_TYPES[which]
    );
}

// ------------------------------------------------------------------ queue ring

/// Where each counter of a queue's state lies in its segment (the state starts at 64; see
/// `queue::state`), in the order [`queue_ring`] reads them.
const QUEUE_FIELDS: [(&str, usize); 14] = [
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
];
/// The `closed` word's offset in a queue's segment.
const QUEUE_CLOSED: usize = 64 + 272;
/// Where a queue's ring starts in its segment (header 64 + state 384).
const QUEUE_RING: usize = 448;

/// Runs a real `Queue<u32>` whose shared state a peer corrupted: `data` is `u8` (capacity:
/// 4 KiB shifted by `% 3`), the counters of [`QUEUE_FIELDS`] as `u64`s, `u8` closed, `u16`
/// ring length and the ring's bytes (records: `u32` length, `u32` kind, payload), then up to
/// 32 operations of one byte each (`% 5`: `try_get`, `try_put`, `qsize`/`empty`/`full`, a
/// clean item put then got back, `close`). Nothing waits. Checks: typed errors, no panic.
pub fn queue_ring(data: &[u8], known: Known) {
    let mut inp = Input::new(data);
    let cap = 4096usize << (inp.u8() % 3);
    let Ok(q) = crate::Queue::<u32>::builder().ring_bytes(cap).build() else {
        return;
    };
    let enc = crate::codec::encode(&q).expect("a queue encodes");
    let seg = enc.fds.first().expect("a queue has a segment").as_fd();
    let size = sys::mman::sealed_size(seg)
        .ok()
        .flatten()
        .expect("a queue segment");
    // A second mapping of the segment: what a peer holding the queue writes.
    let map = sys::mman::Mapping::map(seg, size).expect("mmap");
    let put = |at: usize, bytes: &[u8]| {
        assert!(at + bytes.len() <= size);
        // SAFETY: in bounds (checked above) of a live mapping; this thread is the only one
        // touching the queue, and all of its state is atomics or plain bytes.
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), map.ptr().as_ptr().add(at), bytes.len());
        }
    };
    for (name, at) in QUEUE_FIELDS {
        let mut value = inp.u64();
        if known.has(F_RING_OVERFLOW) {
            value &= (1 << 40) - 1;
        }
        if known.has(F_RING_MISALIGNED) && ["head", "tail", "com_head", "pub_tail"].contains(&name)
        {
            value &= !7;
        }
        put(at, &value.to_le_bytes());
    }
    put(QUEUE_CLOSED, &u32::from(inp.u8() & 1).to_le_bytes());
    let len = usize::from(inp.u16()).min(cap);
    put(QUEUE_RING, inp.bytes(len));
    for _ in 0..32 {
        match inp.u8() % 5 {
            0 => drop(q.try_get()),
            1 => drop(q.try_put(&inp.u32())),
            2 => drop((q.qsize(), q.is_empty(), q.is_full())),
            3 => {
                if q.try_put(&99).is_ok() {
                    drop(q.try_get());
                }
            }
            _ => q.close(),
        }
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
