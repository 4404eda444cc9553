//! Segments: a sealed memfd holding a [`Header`], an object's state and optional data.
//!
//! ```text
//! offset 0    Header (64 bytes): magic, version, kind, size, type tag, data offset/length
//! offset 64   the object's state `S` (atomics; #[repr(C)])
//! data_offset the object's data (Value/Array elements, barrier slots), 64-byte aligned
//! ```

use std::ffi::CStr;
use std::marker::PhantomData;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::Arc;

use serde::{Deserializer, Serializer};

use super::error::ShmError;
use crate::codec;
use crate::sys::mman::{self, Mapping};

const MAGIC: u64 = u64::from_le_bytes(*b"mprocSHM");
/// Bumped whenever any state layout changes.
const VERSION: u32 = 4;
/// Where the state starts; also the alignment of state and data.
const STATE_OFFSET: usize = 64;
/// The largest segment mproc creates (1 TiB): sizes beyond are certainly mistakes.
const MAX_SIZE: usize = 1 << 40;

/// What a segment holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub(crate) enum Kind {
    Lock = 1,
    RLock = 2,
    Semaphore = 3,
    Event = 4,
    Condition = 5,
    Barrier = 6,
    Value = 7,
    Array = 8,
    Queue = 9,
    PoolBell = 10,
    RawValue = 11,
    RawArray = 12,
    PoolTasks = 13,
}

impl Kind {
    const ALL: [Kind; 13] = [
        Kind::Lock,
        Kind::RLock,
        Kind::Semaphore,
        Kind::Event,
        Kind::Condition,
        Kind::Barrier,
        Kind::Value,
        Kind::Array,
        Kind::Queue,
        Kind::PoolBell,
        Kind::RawValue,
        Kind::RawArray,
        Kind::PoolTasks,
    ];

    fn name(self) -> &'static str {
        match self {
            Kind::Lock => "Lock",
            Kind::RLock => "RLock",
            Kind::Semaphore => "Semaphore",
            Kind::Event => "Event",
            Kind::Condition => "Condition",
            Kind::Barrier => "Barrier",
            Kind::Value => "Value",
            Kind::Array => "Array",
            Kind::Queue => "Queue",
            Kind::PoolBell => "pool bell",
            Kind::RawValue => "RawValue",
            Kind::RawArray => "RawArray",
            Kind::PoolTasks => "pool task ring",
        }
    }

    /// The memfd name, shown as `/memfd:mproc-<kind>` in `/proc/<pid>/maps`.
    fn memfd_name(self) -> &'static CStr {
        match self {
            Kind::Lock => c"mproc-lock",
            Kind::RLock => c"mproc-rlock",
            Kind::Semaphore => c"mproc-semaphore",
            Kind::Event => c"mproc-event",
            Kind::Condition => c"mproc-condition",
            Kind::Barrier => c"mproc-barrier",
            Kind::Value => c"mproc-value",
            Kind::Array => c"mproc-array",
            Kind::Queue => c"mproc-queue",
            Kind::PoolBell => c"mproc-pool-bell",
            Kind::RawValue => c"mproc-rawvalue",
            Kind::RawArray => c"mproc-rawarray",
            Kind::PoolTasks => c"mproc-pool-tasks",
        }
    }

    fn describe(raw: u32) -> &'static str {
        Self::ALL
            .into_iter()
            .find(|k| *k as u32 == raw)
            .map_or("unknown object", Kind::name)
    }
}

/// The first 64 bytes of every segment.
#[repr(C)]
struct Header {
    magic: u64,
    version: u32,
    kind: u32,
    /// The whole segment's size in bytes.
    size: u64,
    /// Which element type a `Value`/`Array` holds (see [`type_tag`]); 0 for other kinds.
    tag: u64,
    data_offset: u64,
    data_len: u64,
    reserved: [u64; 2],
}

const _: () = assert!(size_of::<Header>() == STATE_OFFSET);

/// The state of a shared object, stored at offset 64 of its segment.
///
/// # Safety
/// The type must be `#[repr(C)]`, contain only atomics (or arrays of them) so shared
/// references to it are sound while other processes write it, be valid when zero-filled and
/// for every bit pattern (another process may write anything), and be aligned to at most 64.
pub(crate) unsafe trait ShmState: Sync + Send + 'static {
    /// The kind of object this state belongs to.
    const KIND: Kind;
}

/// A 64-bit fingerprint of `T` (name, size, alignment), identical in every process running the
/// same executable; stops a `Value<u64>` from being received as a `Value<i32>`.
pub(crate) fn type_tag<T>() -> u64 {
    let name = std::any::type_name::<T>();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325; // FNV-1a
    let sizes = [size_of::<T>() as u64, align_of::<T>() as u64];
    for b in name
        .bytes()
        .chain(sizes.iter().flat_map(|s| s.to_le_bytes()))
    {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h | 1
}

/// An owned mapping of one segment, and its descriptor (what a handle sends).
#[derive(Debug)]
struct Segment {
    map: Mapping,
    fd: OwnedFd,
    data_offset: usize,
    data_len: usize,
}

/// A handle to a segment holding state `S`: clones share the mapping.
pub(crate) struct ShmBox<S> {
    seg: Arc<Segment>,
    _state: PhantomData<fn() -> S>,
}

impl<S> std::fmt::Debug for ShmBox<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShmBox").field("seg", &self.seg).finish()
    }
}

impl<S> Clone for ShmBox<S> {
    fn clone(&self) -> Self {
        Self {
            seg: Arc::clone(&self.seg),
            _state: PhantomData,
        }
    }
}

fn data_offset_for<S>() -> usize {
    (STATE_OFFSET + size_of::<S>()).next_multiple_of(STATE_OFFSET)
}

impl<S: ShmState> ShmBox<S> {
    /// Creates a zero-filled segment for `S` with `data_len` bytes of data, then lets `init`
    /// fill in the state and data before anyone else can see it.
    pub(crate) fn create(
        tag: u64,
        data_len: usize,
        init: impl FnOnce(&S, NonNull<u8>),
    ) -> Result<Self, ShmError> {
        const { assert!(align_of::<S>() <= STATE_OFFSET) };
        let data_offset = data_offset_for::<S>();
        let size = data_offset
            .checked_add(data_len)
            .filter(|s| *s <= MAX_SIZE)
            .ok_or(ShmError::TooLarge(data_len))?;
        let fd = mman::create_sealed(S::KIND.memfd_name(), size)
            .map_err(ShmError::os("creating a shared-memory segment"))?;
        let map = Mapping::map(fd.as_fd(), size).map_err(ShmError::os("mmap"))?;
        let header = Header {
            magic: MAGIC,
            version: VERSION,
            kind: S::KIND as u32,
            size: size as u64,
            tag,
            data_offset: data_offset as u64,
            data_len: data_len as u64,
            reserved: [0; 2],
        };
        // SAFETY: the mapping is at least 64 bytes, page aligned, and not yet shared with any
        // other process or thread, so this plain write races with nothing.
        unsafe { map.ptr().cast::<Header>().write(header) };
        let this = Self {
            seg: Arc::new(Segment {
                map,
                fd,
                data_offset,
                data_len,
            }),
            _state: PhantomData,
        };
        init(this.state(), this.data());
        Ok(this)
    }

    /// Maps a segment received from another process, checking it holds an `S` with element
    /// type tag `tag` (`type_name` names it in the error).
    pub(crate) fn open(fd: OwnedFd, tag: u64, type_name: &'static str) -> Result<Self, ShmError> {
        let size = mman::sealed_size(fd.as_fd())
            .map_err(ShmError::os("inspecting a received segment"))?
            .ok_or(ShmError::NotSealed)?;
        if size > MAX_SIZE {
            return Err(ShmError::TooLarge(size));
        }
        if size < STATE_OFFSET {
            return Err(ShmError::TooSmall {
                size,
                needed: STATE_OFFSET,
            });
        }
        let map = Mapping::map(fd.as_fd(), size).map_err(ShmError::os("mmap"))?;
        // SAFETY: the mapping is at least 64 bytes and page aligned; the header is plain
        // integers, so any content is a valid value. It is copied out once and validated.
        let h = unsafe { map.ptr().cast::<Header>().read_volatile() };
        if h.magic != MAGIC {
            return Err(ShmError::BadMagic);
        }
        if h.version != VERSION {
            return Err(ShmError::WrongVersion {
                found: h.version,
                expected: VERSION,
            });
        }
        if h.kind != S::KIND as u32 {
            return Err(ShmError::WrongKind {
                found: Kind::describe(h.kind),
                expected: S::KIND.name(),
            });
        }
        if h.tag != tag {
            return Err(ShmError::WrongType {
                expected: type_name,
            });
        }
        let data_offset = data_offset_for::<S>();
        let data_len = usize::try_from(h.data_len).unwrap_or(usize::MAX);
        let needed = data_offset.saturating_add(data_len);
        if h.data_offset != data_offset as u64 || h.size != size as u64 || needed > size {
            return Err(ShmError::TooSmall { size, needed });
        }
        Ok(Self {
            seg: Arc::new(Segment {
                map,
                fd,
                data_offset,
                data_len,
            }),
            _state: PhantomData,
        })
    }

    /// The object's state.
    pub(crate) fn state(&self) -> &S {
        // SAFETY: offset 64 of a segment checked (or made) to hold an `S` there; `S` is all
        // atomics (`ShmState`), valid for any content and for shared access across processes.
        unsafe { &*self.seg.map.ptr().as_ptr().add(STATE_OFFSET).cast::<S>() }
    }

    /// The start of the data area (64-byte aligned), valid for [`data_len`](Self::data_len)
    /// bytes for as long as this handle lives.
    pub(crate) fn data(&self) -> NonNull<u8> {
        // SAFETY: data_offset <= size was checked (or made), so the result stays inside (or at
        // the end of) the mapping.
        unsafe { self.seg.map.ptr().add(self.seg.data_offset) }
    }

    /// The length of the data area in bytes.
    pub(crate) fn data_len(&self) -> usize {
        self.seg.data_len
    }

    /// Whether two handles name the same segment (in this process).
    pub(crate) fn same(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.seg, &other.seg)
    }

    /// The segment's descriptor.
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.seg.fd.as_fd()
    }

    /// Serializes the handle as its descriptor (see [`codec::serialize_fd`]).
    pub(crate) fn serialize<Z: Serializer>(&self, s: Z) -> Result<Z::Ok, Z::Error> {
        codec::serialize_fd(self.fd(), s)
    }

    /// Deserializes a handle written by [`ShmBox::serialize`], checking the segment.
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
        tag: u64,
        type_name: &'static str,
    ) -> Result<Self, D::Error> {
        let fd = codec::deserialize_fd(d)?;
        Self::open(fd, tag, type_name).map_err(codec::invalid_handle)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[repr(C)]
    struct Dummy(AtomicU32);
    // SAFETY: one atomic; valid zeroed and for any bits.
    unsafe impl ShmState for Dummy {
        const KIND: Kind = Kind::Event;
    }
    #[repr(C)]
    struct Other(AtomicU32);
    // SAFETY: as for `Dummy`.
    unsafe impl ShmState for Other {
        const KIND: Kind = Kind::Lock;
    }

    fn dup(b: &ShmBox<Dummy>) -> OwnedFd {
        crate::sys::fd::dup_cloexec(b.fd()).unwrap()
    }

    #[test]
    fn a_segment_reopens_with_the_same_state() {
        let b = ShmBox::<Dummy>::create(7, 100, |s, data| {
            s.0.store(5, Ordering::Relaxed);
            // SAFETY: 100 data bytes were requested.
            unsafe { data.as_ptr().add(99).write(9) };
        })
        .unwrap();
        let c = ShmBox::<Dummy>::open(dup(&b), 7, "x").unwrap();
        assert_eq!(c.state().0.load(Ordering::Relaxed), 5);
        assert_eq!(c.data_len(), 100);
        // SAFETY: in bounds of the 100 data bytes.
        assert_eq!(unsafe { c.data().as_ptr().add(99).read() }, 9);
        assert_eq!(c.data().as_ptr() as usize % 64, 0);
        c.state().0.store(6, Ordering::Relaxed);
        assert_eq!(b.state().0.load(Ordering::Relaxed), 6, "same memory");
    }

    #[test]
    fn mismatches_are_typed_errors() {
        let b = ShmBox::<Dummy>::create(7, 0, |_, _| {}).unwrap();
        let e = ShmBox::<Other>::open(dup(&b), 7, "x").unwrap_err();
        assert_eq!(
            e.to_string(),
            "the segment holds an object of kind Event, not Lock"
        );
        let e = ShmBox::<Dummy>::open(dup(&b), 8, "u64").unwrap_err();
        assert!(matches!(e, ShmError::WrongType { expected: "u64" }), "{e}");
        let file = std::fs::File::open("/dev/null").unwrap();
        let e = ShmBox::<Dummy>::open(file.into(), 7, "x").unwrap_err();
        assert!(matches!(e, ShmError::NotSealed), "{e}");
        let raw = mman::create_sealed(c"foreign", 4096).unwrap();
        let e = ShmBox::<Dummy>::open(raw, 7, "x").unwrap_err();
        assert!(matches!(e, ShmError::BadMagic), "{e}");
        let tiny = mman::create_sealed(c"tiny", 10).unwrap();
        let e = ShmBox::<Dummy>::open(tiny, 7, "x").unwrap_err();
        assert!(matches!(e, ShmError::TooSmall { size: 10, .. }), "{e}");
    }

    #[test]
    fn type_tags_differ() {
        assert_ne!(type_tag::<u32>(), type_tag::<i32>());
        assert_eq!(type_tag::<[u8; 4]>(), type_tag::<[u8; 4]>());
    }
}
