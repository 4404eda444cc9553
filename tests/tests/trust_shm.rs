//! What a reader of shared memory trusts: a peer process that writes a segment's bytes
//! directly (through the memfd, ignoring the lock and the types) can make a read of a shared
//! bool return a typed error, never an invalid `bool`.
//!
//! `bool` is not `ShmSafe` (see `ui-tests/tests/fail/shm_safe/bool-field.rs`); `ShmBool`
//! stands for it. Before that change, the same peer write into a `bool` field read back, in
//! a release build, as a `bool` for which `b` and `!b` were both true.

#![allow(
    clippy::needless_pass_by_value,
    reason = "`#[process]` functions receive their arguments by value, deserialized"
)]

use integration_tests::TIMEOUT;
use std::collections::HashSet;
use std::os::unix::fs::{FileExt, MetadataExt};

use integration_tests::sync_support::LIMIT;
use mproc::prelude::*;
use mproc::{InvalidBool, ShmBool};

/// A shared bool between a tag the peer searches for and some more bytes.
#[derive(Clone, Copy, Debug, PartialEq, ShmSafe)]
#[repr(C)]
struct Probe {
    tag: [u8; 16],
    flag: ShmBool,
    rest: [u8; 7],
}

fn probe(tag: [u8; 16], flag: bool) -> Probe {
    Probe {
        tag,
        flag: flag.into(),
        rest: [7; 7],
    }
}

/// What a hostile or buggy peer can do: open each mproc segment this process holds
/// (`/proc/self/fd/N` reopens the memfd) and write `byte` just after every copy of `tag`,
/// that is into the `flag` of the probe carrying it. Returns how many flags it overwrote (a
/// forked child may hold one segment under two descriptors: each file counts once).
fn overwrite_flags(tag: [u8; 16], byte: u8) -> usize {
    let mut written = 0;
    let mut seen = HashSet::new();
    for entry in std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .flatten()
    {
        let Ok(target) = std::fs::read_link(entry.path()) else {
            continue;
        };
        let target = target.to_string_lossy();
        if !(target.starts_with("/memfd:mproc-value") || target.starts_with("/memfd:mproc-array")) {
            continue;
        }
        let Ok(file) = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(entry.path())
        else {
            continue;
        };
        let meta = file.metadata().expect("stat the segment");
        if !seen.insert((meta.dev(), meta.ino())) {
            continue;
        }
        let bytes = std::fs::read(entry.path()).expect("read the segment");
        for (at, window) in bytes.windows(tag.len()).enumerate() {
            if window == tag {
                let flag_at = u64::try_from(at + tag.len()).expect("small offset");
                file.write_at(&[byte], flag_at).expect("write the flag");
                written += 1;
            }
        }
    }
    written
}

/// The peer, given the value (so that its segment is open in the child under every start
/// method). Returns how many flags it overwrote and the flag byte its own mapping then shows.
#[process]
fn scribble_value(value: Value<Probe>, tag: [u8; 16], byte: u8) -> (usize, u8) {
    let written = overwrite_flags(tag, byte);
    (written, value.get().flag.to_byte())
}

/// The peer, given the array; returns as [`scribble_value`] does, for element 1.
#[process]
fn scribble_array(array: Array<Probe>, tag: [u8; 16], byte: u8) -> (usize, u8) {
    let written = overwrite_flags(tag, byte);
    (written, array.get(1).expect("element 1").flag.to_byte())
}

/// A tag no other test's segment holds (tests of one binary run in parallel, and a forked
/// child inherits every segment of the parent).
fn tag(test: u8, method: StartMethod, byte: u8) -> [u8; 16] {
    let mut tag = *b"trust-shm-probe-";
    tag[13] = test;
    tag[14] = method as u8;
    tag[15] = byte;
    tag
}

#[test]
fn a_peer_writing_2_or_255_into_a_shared_bool_gives_a_typed_error() {
    for method in integration_tests::METHODS {
        for byte in [2u8, 255] {
            let tag = tag(b'v', method, byte);
            let v = Value::new(probe(tag, true)).unwrap();
            let written = scribble_value::builder()
                .start_method(method)
                .spawn(v.clone(), tag, byte)
                .unwrap()
                .join_timeout(LIMIT)
                .unwrap();
            assert_eq!(written, (1, byte), "{method:?}: the peer wrote the flag");

            let read = v.get();
            assert_eq!(read.tag, tag, "{method:?}: only the flag changed");
            assert_eq!(read.rest, [7; 7]);
            let err = read.flag.to_bool().unwrap_err();
            assert_eq!(err.byte(), byte, "{method:?}");
            assert!(bool::try_from(read.flag).is_err());
            assert_ne!(read.flag, ShmBool::TRUE);
            assert_ne!(read.flag, ShmBool::FALSE);
            assert_eq!(read.flag.to_byte(), byte);

            // Through a guard, the same typed error.
            let guard = v.lock_timeout(TIMEOUT).unwrap();
            assert_eq!(
                guard
                    .get()
                    .flag
                    .to_bool()
                    .map_err(|e: InvalidBool| e.byte()),
                Err(byte)
            );
            drop(guard);

            // The error does not stick: a valid write reads back.
            v.set(probe(tag, false));
            assert_eq!(v.get().flag.to_bool(), Ok(false));
        }
    }
}

#[test]
fn a_peer_writing_into_a_shared_array_of_bools_gives_typed_errors() {
    let method = StartMethod::Spawn;
    let tag = tag(b'a', method, 255);
    let other = *b"an-untouched-tag";
    let a =
        Array::from_slice(&[probe(other, true), probe(tag, false), probe(other, false)]).unwrap();
    let written = scribble_array::builder()
        .start_method(method)
        .spawn(a.clone(), tag, 255)
        .unwrap()
        .join_timeout(LIMIT)
        .unwrap();
    assert_eq!(written, (1, 255));

    assert_eq!(
        a.get(1).unwrap().flag.to_bool().map_err(|e| e.byte()),
        Err(255)
    );
    let all = a.to_vec().unwrap();
    let read: Vec<_> = all.iter().map(|p| p.flag.to_bool()).collect();
    assert_eq!(read[0], Ok(true));
    assert!(read[1].is_err());
    assert_eq!(read[2], Ok(false));

    // Through the guard's slice as well.
    let slots = a.lock_timeout(TIMEOUT).unwrap();
    assert_eq!(slots[1].flag.to_bool().map_err(|e| e.byte()), Err(255));
    assert_eq!(slots[0].flag.to_bool(), Ok(true));
}
