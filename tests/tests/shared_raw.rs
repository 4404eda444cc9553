//! `RawValue` and `RawArray` (Python's `sharedctypes.RawValue`/`RawArray`: shared memory with
//! no lock) across real processes: the scenarios of the `CPython` tests `test_rawvalue`,
//! `test_rawarray` and `test_array_from_size`, exact concurrent counts through the atomics,
//! and a peer writing bytes no `ShmBool` may hold.

#![allow(
    clippy::needless_pass_by_value,
    reason = "`#[process]` functions receive their arguments by value, deserialized"
)]

use std::os::unix::fs::FileExt;

use integration_tests::METHODS;
use integration_tests::sync_support::LIMIT;
use mproc::prelude::*;
use mproc::{RawArray, RawValue};

/// One raw value per element type Python's test uses (`i`, `d`, `h`, `q`, `c`).
type Raws = (
    RawValue<i32>,
    RawValue<f64>,
    RawValue<i16>,
    RawValue<i64>,
    RawValue<u8>,
);

/// The child's side of Python's `test_value(raw=True)`: overwrite every value.
#[process]
fn overwrite(raws: Raws) {
    raws.0.set(24_234);
    raws.1.set(-4.25);
    raws.2.set(234);
    raws.3.set(1 << 34);
    raws.4.set(b'y');
}

#[test]
fn raw_values_written_by_a_child_are_seen_by_the_parent() {
    for method in METHODS {
        let raws: Raws = (
            RawValue::new(4343).unwrap(),
            RawValue::new(3.625).unwrap(),
            RawValue::new(-232).unwrap(),
            RawValue::new(1 << 33).unwrap(),
            RawValue::new(b'x').unwrap(),
        );
        assert_eq!(raws.0.get(), 4343);
        assert_eq!(raws.1.get().to_bits(), 3.625f64.to_bits());
        assert_eq!(raws.2.get(), -232);
        assert_eq!(raws.3.get(), 1 << 33);
        assert_eq!(raws.4.get(), b'x');
        overwrite::builder()
            .start_method(method)
            .daemon(true)
            .spawn(raws.clone())
            .unwrap()
            .join_timeout(LIMIT)
            .unwrap();
        assert_eq!(raws.0.get(), 24_234, "{method:?}");
        assert_eq!(raws.1.get().to_bits(), (-4.25f64).to_bits());
        assert_eq!(raws.2.get(), 234);
        assert_eq!(raws.3.get(), 1 << 34);
        assert_eq!(raws.4.get(), b'y');
        assert_eq!(format!("{:?}", raws.2), "RawValue(234)");
    }
}

/// Python's `f`: running sums in place, `seq[i] += seq[i - 1]`.
fn running_sums(seq: &mut [i32]) {
    for i in 1..seq.len() {
        seq[i] += seq[i - 1];
    }
}

/// The same on the shared array, element by element as Python's child does.
#[process]
fn running_sums_shared(arr: RawArray<i32>) {
    for i in 1..arr.len() {
        let sum = arr.get(i).unwrap() + arr.get(i - 1).unwrap();
        arr.set(i, sum).unwrap();
    }
}

#[test]
fn a_raw_array_updated_by_a_child_matches_the_same_work_done_locally() {
    for method in METHODS {
        let mut seq = vec![680, 626, 934, 821, 150, 233, 548, 982, 714, 831];
        let arr = RawArray::from_slice(&seq).unwrap();
        assert_eq!(arr.len(), seq.len());
        assert_eq!(arr.get(3), Ok(seq[3]));
        assert_eq!(arr.to_vec()[2..7], seq[2..7]);
        // Python's `arr[4:8] = seq[4:8] = [1, 2, 3, 4]`.
        for (i, x) in (4..8).zip([1, 2, 3, 4]) {
            arr.set(i, x).unwrap();
            seq[i] = x;
        }
        assert_eq!(arr.to_vec(), seq);
        running_sums(&mut seq);
        running_sums_shared::builder()
            .start_method(method)
            .daemon(true)
            .spawn(arr.clone())
            .unwrap()
            .join_timeout(LIMIT)
            .unwrap();
        assert_eq!(arr.to_vec(), seq, "{method:?}");
    }
}

#[test]
fn a_raw_array_made_from_a_size_is_zeroed_every_time() {
    // As Python's test: repeated, so that a reused page would show a stale byte.
    for _ in 0..3 {
        let arr = RawArray::<i32>::new(10).unwrap();
        assert_eq!(arr.len(), 10);
        assert_eq!(arr.to_vec(), [0; 10]);
        let items: Vec<i32> = (0..10).collect();
        arr.copy_from_slice(&items).unwrap();
        assert_eq!(arr.to_vec(), items);
        drop(arr);
    }
    let empty = RawArray::<u64>::new(0).unwrap();
    assert!(empty.is_empty());
    assert_eq!(empty.to_vec(), []);
}

#[test]
fn raw_array_errors() {
    let arr = RawArray::from_slice(&[1u16, 2, 3]).unwrap();
    assert_eq!(
        arr.get(3),
        Err(ArrayError::IndexOutOfRange { index: 3, len: 3 })
    );
    assert_eq!(
        arr.set(7, 0),
        Err(ArrayError::IndexOutOfRange { index: 7, len: 3 })
    );
    assert_eq!(
        arr.copy_from_slice(&[1, 2]),
        Err(ArrayError::LengthMismatch {
            expected: 3,
            got: 2
        })
    );
    assert_eq!(arr.to_vec(), [1, 2, 3], "nothing changed");
    assert!(matches!(
        RawArray::<u64>::new(usize::MAX / 4),
        Err(ShmError::ArrayTooLarge { elem_size: 8, .. })
    ));
    assert_eq!(format!("{arr:?}"), "RawArray([1, 2, 3])");
}

const N: u32 = 20_000;

/// Adds 1 `N` times with `fetch_add`, or with a `compare_exchange` loop.
#[process]
fn add_raw(v: RawValue<u32>, cas: bool, start: Barrier) {
    start.wait_timeout(LIMIT).unwrap();
    for _ in 0..N {
        if cas {
            let mut seen = v.get();
            while let Err(now) = v.compare_exchange(seen, seen + 1) {
                seen = now;
            }
        } else {
            v.fetch_add(1);
        }
    }
}

#[test]
fn concurrent_atomic_adds_on_a_raw_value_are_exact() {
    let v = RawValue::new(0u32).unwrap();
    let start = Barrier::new(3).unwrap();
    let kids = [false, true, false].map(|cas| {
        add_raw::builder()
            .start_method(StartMethod::Spawn)
            .spawn(v.clone(), cas, start.clone())
            .unwrap()
    });
    for k in kids {
        k.join_timeout(LIMIT).unwrap();
    }
    assert_eq!(v.get(), 3 * N);
    assert_eq!(v.fetch_sub(N), 3 * N);
    assert_eq!(v.swap(1), 2 * N);
    assert_eq!(v.get(), 1);
}

/// Where an element area starts in a raw segment: after the 64-byte header and the 64-byte
/// state line. The peer checks the byte it expects there before writing, so a layout change
/// fails this test instead of writing elsewhere.
const DATA_AT: u64 = 128;

/// The hostile peer: in every raw segment it holds (under `Spawn`, only those it was given),
/// replaces the byte at element `index`, which must hold `expected`, with `byte`. Returns how
/// many segments it wrote.
fn scribble(name: &str, index: u64, expected: u8, byte: u8) -> usize {
    let mut written = 0;
    for entry in std::fs::read_dir("/proc/self/fd").unwrap().flatten() {
        let Ok(target) = std::fs::read_link(entry.path()) else {
            continue;
        };
        if !target.to_string_lossy().starts_with(name) {
            continue;
        }
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(entry.path())
            .unwrap();
        let mut found = [0u8];
        file.read_exact_at(&mut found, DATA_AT + index).unwrap();
        assert_eq!(found[0], expected, "the element is where the peer looks");
        file.write_all_at(&[byte], DATA_AT + index).unwrap();
        written += 1;
    }
    written
}

#[process]
fn scribble_bools(v: RawValue<ShmBool>, a: RawArray<ShmBool>, byte: u8) -> (usize, usize) {
    let wrote = (
        scribble("/memfd:mproc-rawvalue", 0, 1, byte),
        scribble("/memfd:mproc-rawarray", 1, 1, byte),
    );
    // Keep the handles (and so the segments) open until the writes are done.
    drop((v, a));
    wrote
}

#[test]
fn a_peer_writing_a_bad_byte_into_raw_bools_gives_typed_errors() {
    for byte in [2u8, 255] {
        let v = RawValue::new(ShmBool::TRUE).unwrap();
        let a = RawArray::from_slice(&[ShmBool::FALSE, ShmBool::TRUE, ShmBool::FALSE]).unwrap();
        let wrote = scribble_bools::builder()
            .start_method(StartMethod::Spawn)
            .spawn(v.clone(), a.clone(), byte)
            .unwrap()
            .join_timeout(LIMIT)
            .unwrap();
        assert_eq!(wrote, (1, 1));

        let read = v.get();
        assert_eq!(read.to_bool().map_err(|e| e.byte()), Err(byte));
        assert_ne!(read, ShmBool::TRUE);
        // Compared bit for bit: neither `TRUE` nor `FALSE` matches the bad byte.
        assert_eq!(
            v.compare_exchange(ShmBool::TRUE, ShmBool::FALSE)
                .map_err(ShmBool::to_byte),
            Err(byte)
        );
        assert_eq!(v.swap(ShmBool::FALSE).to_byte(), byte);
        assert_eq!(v.get().to_bool(), Ok(false), "a valid write reads back");

        let all: Vec<_> = a.to_vec().iter().map(|b| b.to_bool()).collect();
        assert_eq!(all[0], Ok(false));
        assert_eq!(all[1].map_err(|e| e.byte()), Err(byte));
        assert_eq!(all[2], Ok(false));
        assert!(a.get(1).unwrap().to_bool().is_err());
    }
}
