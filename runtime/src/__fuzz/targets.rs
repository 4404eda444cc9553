//! The decoders under test, each fed one fuzz input (formats in the parent module's docs).

use std::io::IoSlice;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::Instant;

use super::inputs::{make_fds, make_segment};
use super::{
    ALLOC_LIMIT, F_WIRE_MEMFD_ALLOC, F_ZERO_LENGTH_EOF, Input, Known, QUEUE_FIELDS, largest_alloc,
};
use crate::shm::segment::{Kind, type_tag};
use crate::{sys, wire};

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
    let mut fds = make_fds(&mut inp, Kind::Queue as u32, 0, known);
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
/// A queue type also gets a real overflow as its last descriptor. Checks: a typed error or a value, no panic, no allocation beyond the input's size.
pub fn codec(data: &[u8], known: Known) {
    let mut inp = Input::new(data);
    let which = usize::from(inp.u8()) % CODEC_TYPES.len();
    let (kind, tag) = expects(which);
    let mut fds = make_fds(&mut inp, kind, tag, known);
    if (9..=11).contains(&which) {
        // A queue is four descriptors, and an input makes at most three: a real overflow
        // comes last, so a queue can decode and the descriptors the input made are in question.
        fds.push(sys::mman::create_growable(c"fuzz-overflow").expect("memfd"));
    }
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
    use crate::{Connection, JoinableQueue, Lock, Queue, SimpleQueue};
    match which {
        0..=8 => decode_and_use_sync(which, bytes, fds),
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

/// [`decode_and_use`] for the synchronization primitives and shared values (0 to 8).
fn decode_and_use_sync(which: usize, bytes: &[u8], fds: Vec<OwnedFd>) {
    use crate::codec::decode;
    use crate::{
        Array, Barrier, BoundedSemaphore, Condition, Event, Lock, RLock, Semaphore, Value,
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
        _ => {
            if let Ok(a) = decode::<Array<u32>>(bytes, fds) {
                let _ = a.len();
                drop(a.try_lock());
            }
        }
    }
}

// ------------------------------------------------------------------ segments

/// Decodes a handle (the first byte picks one of the first 12 [`CODEC_TYPES`]) whose segment
/// is built from the rest of `data` by [`make_segment`]: the check every received handle
/// goes through (`ShmBox::open`, then the type's own checks), then the handle is used as in
/// [`codec`]. Queues get a real side socket and overflow, so only their segment is in
/// question.
pub fn segment(data: &[u8], known: Known) {
    let mut inp = Input::new(data);
    let which = usize::from(inp.u8()) % 12;
    let (kind, tag) = expects(which);
    let Some(seg) = make_segment(&mut inp, kind, tag, known) else {
        return;
    };
    let mut fds = vec![seg];
    let mut bytes = vec![0u8];
    if (9..=11).contains(&which) {
        let (tx, rx) = sys::socket::socketpair().expect("socketpair");
        let overflow = sys::mman::create_growable(c"fuzz-overflow").expect("memfd");
        fds.extend([tx, rx, overflow]);
        bytes.extend([1, 2, 3]);
    }
    let ((), largest) = largest_alloc(|| decode_and_use(which, &bytes, fds));
    assert!(
        largest <= ALLOC_LIMIT + 4 * data.len(),
        "a {} on a generated segment allocated {largest} bytes at once",
        CODEC_TYPES[which]
    );
}

// ------------------------------------------------------------------ queue ring

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
        put(at, &known.tame(name, inp.u64()).to_le_bytes());
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
