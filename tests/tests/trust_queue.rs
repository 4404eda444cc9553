//! A queue's shared memory written by a hostile (or broken) process: another process of the
//! program maps the queue's real segment and rewrites its indices and counters, and every
//! holder of the queue gets typed errors: no panic, no write outside the ring, no `put` that
//! returns `Ok` for an item nobody can take.

#![allow(
    clippy::needless_pass_by_value,
    reason = "process targets take their arguments by value: they arrive deserialized"
)]

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;

use integration_tests::{METHODS, TIMEOUT};
use mproc::prelude::*;

/// Offsets in the queue's segment: a 64-byte segment header, then the queue's state.
const STATE: u64 = 64;
const TAIL: u64 = STATE + 64;
const PUTS: u64 = STATE + 72;
const HEAD: u64 = STATE + 192;
const GETS: u64 = STATE + 200;
const MAXSIZE: u64 = STATE + 264;
/// The ring's first byte (after the 384 bytes of state).
const RING: u64 = STATE + 384;

/// The ring's size in these tests (its minimum; the builder is given the same).
const CAP: u64 = 4096;

/// The segment of the queue whose maxsize is `mark`, as this process has it open (a forked
/// child also holds the queues of the other tests running in the parent: the mark tells them
/// apart).
fn segment(mark: u64) -> File {
    for entry in std::fs::read_dir("/proc/self/fd").unwrap() {
        let path = entry.unwrap().path();
        let Ok(target) = std::fs::read_link(&path) else {
            continue; // the directory's own descriptor, closed by now
        };
        if !target.to_string_lossy().starts_with("/memfd:mproc-queue") {
            continue;
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .unwrap();
        let mut maxsize = [0; 8];
        if file.read_exact_at(&mut maxsize, MAXSIZE).is_ok() && u64::from_le_bytes(maxsize) == mark
        {
            return file;
        }
    }
    panic!("the queue's memfd is open in this process");
}

/// The hostile process: writes each `(offset, bytes)` into the segment of queue `q`.
fn scribble((q, writes): (Queue<u64>, Vec<(u64, Vec<u8>)>)) {
    let mark = q.maxsize().unwrap() as u64;
    let seg = segment(mark);
    for (offset, bytes) in writes {
        seg.write_all_at(&bytes, offset).unwrap();
    }
}

/// A queue with the smallest ring, and a maxsize that no test reaches, unique to the test.
fn queue(mark: usize) -> Queue<u64> {
    Queue::builder()
        .ring_bytes(4096)
        .maxsize(mark)
        .build()
        .unwrap()
}

fn word(offset: u64, value: u64) -> (u64, Vec<u8>) {
    (offset, value.to_le_bytes().to_vec())
}

fn run_scribbler(q: &Queue<u64>, method: StartMethod, writes: Vec<(u64, Vec<u8>)>) {
    let child = Process::new(scribble, (q.clone(), writes))
        .start_method(method)
        .start()
        .unwrap();
    child.join_timeout(TIMEOUT).unwrap();
}

#[test]
fn an_unaligned_tail_written_by_another_process_gives_typed_errors() {
    for method in METHODS {
        let q = queue(1_000_001);
        // Empty, with both indices 4 bytes before the end of the ring: a wrap header written
        // there would end 4 bytes past it.
        run_scribbler(
            &q,
            method,
            vec![word(TAIL, 3 * CAP - 4), word(HEAD, 3 * CAP - 4)],
        );
        assert!(matches!(q.try_put(&7), Err(QueueError::Corrupted)));
        // That put realigned the tail: consumers discard the bytes before it, then the queue
        // works again.
        assert!(matches!(q.try_get(), Err(QueueError::Corrupted)));
        q.put(&8).unwrap();
        assert_eq!(q.get_timeout(TIMEOUT).unwrap(), 8);
    }
}

#[test]
fn counters_at_their_maximum_written_by_another_process_give_typed_errors() {
    for method in METHODS {
        let q = queue(1_000_002);
        q.put(&1).unwrap();
        run_scribbler(&q, method, vec![word(PUTS, u64::MAX), word(GETS, u64::MAX)]);
        assert!(matches!(q.try_put(&2), Err(QueueError::Corrupted)));
        assert!(matches!(q.try_get(), Err(QueueError::Corrupted)));
        // The consumers discarded the ring; the counters cannot grow, so puts still report.
        assert!(matches!(q.try_put(&3), Err(QueueError::Corrupted)));
    }
}

#[test]
fn indices_out_of_range_written_by_another_process_are_discarded_and_the_queue_recovers() {
    for method in METHODS {
        let q = queue(1_000_003);
        for i in 0..3 {
            q.put(&i).unwrap();
        }
        // `head` past `tail`, near the end of u64 (`tail - head` is small modulo 2^64), at a
        // well-formed empty record in the ring's last 8 bytes.
        let record = [0, 0, 0, 0, 1, 0, 0, 0].to_vec();
        let writes = vec![word(HEAD, u64::MAX - 7), (RING + CAP - 8, record)];
        run_scribbler(&q, method, writes);
        assert!(matches!(q.try_get(), Err(QueueError::Corrupted)));
        assert!(q.is_empty(), "every item counts as taken");
        q.put(&10).unwrap();
        assert_eq!(q.get_timeout(TIMEOUT).unwrap(), 10);
        // `tail` a thousand rings ahead of `head`.
        run_scribbler(&q, method, vec![word(TAIL, 1000 * CAP)]);
        assert!(matches!(q.try_put(&11), Err(QueueError::Corrupted)));
        assert!(matches!(q.try_get(), Err(QueueError::Corrupted)));
        q.put(&12).unwrap();
        assert_eq!(q.get_timeout(TIMEOUT).unwrap(), 12);
    }
}
