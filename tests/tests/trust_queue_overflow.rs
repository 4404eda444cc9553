//! An unbounded queue's overflow written by a hostile (or broken) process: another holder
//! rewrites the overflow's positions in the queue's segment, or the records in the overflow
//! file itself. Every consumer, in a process of its own under each start method (so that
//! the queue travels to it, and its peak memory is its own), gets
//! [`QueueError::Corrupted`]: no panic, no allocation of a size the peer wrote; then the
//! queue works again.

#![allow(
    clippy::needless_pass_by_value,
    reason = "process targets take their arguments by value: they arrive deserialized"
)]
#![allow(
    clippy::cast_possible_truncation,
    reason = "test patterns are numbers taken modulo 256"
)]

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;

use integration_tests::{METHODS, procs};
use mproc::prelude::*;

/// Offsets in the queue's segment: a 64-byte segment header, then the queue's state.
const STATE: u64 = 64;
const OVF_TAIL: u64 = STATE + 80;
const OVF_HEAD: u64 = STATE + 216;
const CAPACITY: u64 = STATE + 256;

/// The ring's size in these tests: no other test of this binary uses it, so the segment is
/// found by it.
const CAP: usize = 8192;

/// How many items each test puts: the ring holds about 37, the rest go to the overflow.
const ITEMS: u64 = 100;

/// The first memfd of this process whose name starts with `name` and whose content passes
/// `pick`.
fn memfd(name: &str, pick: impl Fn(&File) -> bool) -> File {
    for entry in std::fs::read_dir("/proc/self/fd").unwrap() {
        let path = entry.unwrap().path();
        let Ok(target) = std::fs::read_link(&path) else {
            continue; // the directory's own descriptor, closed by now
        };
        if !target.to_string_lossy().starts_with(name) {
            continue;
        }
        let Ok(file) = OpenOptions::new().read(true).write(true).open(&path) else {
            continue;
        };
        if pick(&file) {
            return file;
        }
    }
    panic!("no {name} memfd fits");
}

fn read_u64(file: &File, at: u64) -> u64 {
    let mut word = [0; 8];
    file.read_exact_at(&mut word, at).unwrap();
    u64::from_le_bytes(word)
}

fn write_u64(file: &File, at: u64, value: u64) {
    file.write_all_at(&value.to_le_bytes(), at).unwrap();
}

/// Item `i`: 200 bytes starting with `mark`, then `i`.
fn item(mark: &[u8], i: u64) -> Vec<u8> {
    let mut bytes = vec![i as u8; 200];
    bytes[..mark.len()].copy_from_slice(mark);
    bytes[mark.len()..mark.len() + 8].copy_from_slice(&i.to_le_bytes());
    bytes
}

/// A queue holding [`ITEMS`] items, part in the overflow, and its segment and overflow as a
/// peer opens them.
fn setup(round: u64) -> (Queue<Vec<u8>>, File, File, Vec<u8>) {
    let mut mark = b"hostile-".to_vec();
    mark.extend_from_slice(&round.to_le_bytes());
    let q = Queue::builder().ring_bytes(CAP).build().unwrap();
    for i in 0..ITEMS {
        q.try_put(&item(&mark, i)).unwrap();
    }
    let seg = memfd("/memfd:mproc-queue (", |f| {
        read_u64(f, CAPACITY) == CAP as u64
    });
    let ovf = memfd("/memfd:mproc-queue-overflow", |f| {
        let mut head = [0; 64];
        let n = f.read_at(&mut head, 0).unwrap_or(0);
        head[..n].windows(mark.len()).any(|w| w == mark)
    });
    assert!(read_u64(&seg, OVF_TAIL) > 0, "items in the overflow");
    (q, seg, ovf, mark)
}

/// The consumer: takes items until an error; returns it, and how much its peak resident
/// memory grew meanwhile.
fn take_until_error(q: Queue<Vec<u8>>) -> (String, u64) {
    let peak = || {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
        let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
        kib << 10
    };
    let before = peak();
    let error = loop {
        if let Err(e) = q.try_get() {
            break e;
        }
    };
    (format!("{error:?}"), peak().saturating_sub(before))
}

/// What a hostile peer writes, given the segment, the overflow and the overflow's head.
type Scribble = fn(&File, &File, u64);

const SCRIBBLES: [(&str, Scribble); 7] = [
    ("an unaligned tail", |seg, _, _| {
        write_u64(seg, OVF_TAIL, read_u64(seg, OVF_TAIL) + 3);
    }),
    ("a head past the tail", |seg, _, _| {
        write_u64(seg, OVF_HEAD, read_u64(seg, OVF_TAIL) + 4096);
    }),
    ("a tail far past the file", |seg, _, _| {
        write_u64(seg, OVF_TAIL, 1 << 40);
    }),
    ("a record length near u32::MAX", |_, ovf, head| {
        ovf.write_all_at(&[0xF8, 0xFF, 0xFF, 0xFF, 1, 0, 0, 0], head)
            .unwrap();
    }),
    (
        "a 512 MiB record in a sparse 1 GiB file",
        |seg, ovf, head| {
            ovf.write_all_at(&[0, 0, 0, 0x20, 1, 0, 0, 0], head)
                .unwrap();
            ovf.set_len(1 << 30).unwrap();
            write_u64(seg, OVF_TAIL, head + (512 << 20) + 8);
        },
    ),
    ("a wrap record", |_, ovf, head| {
        ovf.write_all_at(&[32, 0, 0, 0, 2, 0, 0, 0], head).unwrap();
    }),
    ("a side message's number missing", |_, ovf, head| {
        ovf.write_all_at(&[4, 0, 0, 0, 1, 1, 0, 0], head).unwrap();
    }),
];

#[test]
fn an_overflow_written_by_another_process_gives_typed_errors_and_recovers() {
    let mut round = 0;
    for method in METHODS {
        for (what, scribble) in SCRIBBLES {
            round += 1;
            let (q, seg, ovf, mark) = setup(round);
            scribble(&seg, &ovf, read_u64(&seg, OVF_HEAD));
            let child = Process::new(take_until_error, q.clone())
                .start_method(method)
                .start()
                .unwrap();
            let (error, grown) = procs::join(&child).unwrap();
            assert_eq!(error, "Corrupted", "{method:?}, {what}");
            assert!(
                grown < 64 << 20,
                "{method:?}, {what}: {grown} bytes more resident"
            );
            assert_eq!(
                q.qsize(),
                0,
                "{method:?}, {what}: every item counts as taken"
            );
            assert!(works_again(&q, &mark), "{method:?}, {what}");
        }
    }
}

/// Whether the queue works again, through the ring and the overflow, after at most one more
/// `Corrupted` on each side (a producer that finds an unaligned tail publishes it aligned,
/// with no item, for consumers to discard, as in the ring).
fn works_again(q: &Queue<Vec<u8>>, mark: &[u8]) -> bool {
    for _ in 0..2 {
        while !matches!(q.try_get(), Err(QueueError::Empty)) {}
        match (0..ITEMS).try_for_each(|i| q.try_put(&item(mark, i))) {
            Err(QueueError::Corrupted) => continue,
            other => other.unwrap(),
        }
        for i in 0..ITEMS {
            assert!(q.try_get().unwrap() == item(mark, i), "item {i}");
        }
        return matches!(q.try_get(), Err(QueueError::Empty));
    }
    false
}
