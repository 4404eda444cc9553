//! Property tests of mapping a segment received from a peer (issue #15): a header with any
//! magic, version, kind, tag, sizes and seals maps only when every field is what mproc writes
//! for the expected object, with state and data inside the segment; otherwise a typed error.

use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::atomic::AtomicU64;

use proptest::collection::vec;
use proptest::prelude::*;

use super::ShmError;
use super::segment::{Kind, ShmBox, ShmState};
use crate::__fuzz::{self, F_RING_MISALIGNED, F_RING_OVERFLOW, Known};

/// A state of 136 bytes: its data starts at 256.
#[repr(C)]
struct Probe([AtomicU64; 17]);

// SAFETY: atomics only: valid zero-filled and for any bits, shared access is sound.
unsafe impl ShmState for Probe {
    const KIND: Kind = Kind::Barrier;
}

const MAGIC: u64 = u64::from_le_bytes(*b"mprocSHM");
const VERSION: u32 = 4;
const DATA_OFFSET: u64 = 256;
const TAG: u64 = 0x1234_5679;

/// A header as a peer could write it, each field either right or arbitrary.
#[derive(Debug, Clone)]
struct Header {
    magic: u64,
    version: u32,
    kind: u32,
    size_field: Option<u64>,
    tag: u64,
    data_offset: u64,
    data_len: u64,
}

fn field<T: std::fmt::Debug + Clone + 'static>(
    right: T,
    any: impl Strategy<Value = T> + 'static,
) -> impl Strategy<Value = T> {
    prop_oneof![3 => Just(right), 1 => any]
}

fn header() -> impl Strategy<Value = Header> {
    (
        field(MAGIC, any::<u64>()),
        field(VERSION, any::<u32>()),
        field(Kind::Barrier as u32, 0u32..16),
        field(None, any::<u64>().prop_map(Some)),
        field(TAG, any::<u64>()),
        field(DATA_OFFSET, prop_oneof![0u64..512, any::<u64>()]),
        prop_oneof![0u64..8192, any::<u64>()],
    )
        .prop_map(
            |(magic, version, kind, size_field, tag, data_offset, data_len)| Header {
                magic,
                version,
                kind,
                size_field,
                tag,
                data_offset,
                data_len,
            },
        )
}

/// The memfd a peer sends: the header, `size` bytes long, sealed as mproc's segments are (or
/// not).
fn segment(h: &Header, size: u64, sealed: bool) -> OwnedFd {
    let fd = crate::sys::fd::sealable_memfd(c"proptest").unwrap();
    let mut file = std::fs::File::from(fd);
    let mut image = Vec::new();
    let size_field = h.size_field.unwrap_or(size);
    for word in [
        h.magic,
        u64::from(h.version) | u64::from(h.kind) << 32,
        size_field,
        h.tag,
        h.data_offset,
        h.data_len,
    ] {
        image.extend_from_slice(&word.to_le_bytes());
    }
    image.truncate(usize::try_from(size).unwrap());
    file.write_all(&image).unwrap();
    file.set_len(size).unwrap();
    let fd = OwnedFd::from(file);
    if sealed {
        let seals = libc::F_SEAL_GROW | libc::F_SEAL_SHRINK | libc::F_SEAL_SEAL;
        // SAFETY: F_ADD_SEALS on a memfd we own; no pointers involved.
        let added = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, seals) };
        assert_eq!(added, 0);
    }
    fd
}

proptest! {
    #![proptest_config(__fuzz::proptest_config(512))]

    #[test]
    fn a_segment_maps_only_when_its_header_is_right(
        h in header(),
        size in prop_oneof![0u64..64, 64u64..9000, Just(1u64 << 40), Just((1u64 << 40) + 4096)],
        sealed in prop_oneof![4 => Just(true), 1 => Just(false)],
    ) {
        let fd = segment(&h, size, sealed);
        let got = ShmBox::<Probe>::open(fd, TAG, "probe");
        let right = sealed
            && (64..=1 << 40).contains(&size)
            && h.magic == MAGIC
            && h.version == VERSION
            && h.kind == Kind::Barrier as u32
            && h.size_field.is_none_or(|s| s == size)
            && h.tag == TAG
            && h.data_offset == DATA_OFFSET
            && h.data_len.checked_add(DATA_OFFSET).is_some_and(|end| end <= size);
        match got {
            Ok(b) => {
                prop_assert!(right, "mapped with {:?}, {} bytes", h, size);
                prop_assert_eq!(b.data_len() as u64, h.data_len);
                // The state and the data are readable: the last data byte too.
                let _ = b.state().0[16].load(std::sync::atomic::Ordering::Relaxed);
                if b.data_len() > 0 {
                    // SAFETY: within the data area just checked to lie inside the segment.
                    let _ = unsafe { b.data().as_ptr().add(b.data_len() - 1).read_volatile() };
                }
            }
            Err(e) => {
                prop_assert!(!right, "refused a right header: {e}");
                prop_assert!(!matches!(e, ShmError::Os { .. }) || !sealed || size > 1 << 30, "{e}");
            }
        }
    }

    /// Every kind of handle on a generated segment (see `__fuzz::make_segment`).
    #[test]
    fn handles_on_generated_segments(data in vec(any::<u8>(), 0..900)) {
        __fuzz::segment(&data, Known::of(&[F_RING_OVERFLOW, F_RING_MISALIGNED]));
    }
}

#[test]
fn the_probe_layout_is_as_assumed() {
    assert_eq!(size_of::<Probe>(), 136);
    let b = ShmBox::<Probe>::create(TAG, 8, |_, _| {}).unwrap();
    assert_eq!(
        b.data().as_ptr() as usize - std::ptr::from_ref(b.state()) as usize + 64,
        usize::try_from(DATA_OFFSET).unwrap()
    );
    let fd = crate::sys::fd::dup_cloexec(b.fd().as_fd()).unwrap();
    assert!(ShmBox::<Probe>::open(fd, TAG, "probe").is_ok());
}
