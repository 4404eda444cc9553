//! Issue #17: a chunk's results travel as one sequence. Handles in several items of one chunk
//! come back to the right items; an item whose value cannot travel fails alone, the others of
//! its chunk come back.

#![allow(
    clippy::needless_pass_by_value,
    reason = "task arguments arrive by value: they are deserialized in the worker"
)]

use integration_tests::pools::{self, collect};
use integration_tests::{METHODS, TIMEOUT};
use mproc::prelude::*;

fn pipe_with_greeting(n: u32) -> mproc::pipe::Receiver<String> {
    let (rx, tx) = Pipe::<String>::simplex().unwrap();
    tx.send(&format!("hello {n}")).unwrap();
    rx
}

#[test]
fn handles_in_many_items_of_one_chunk_reach_their_own_items() {
    for method in METHODS {
        let p = pools::pool(2, method);
        let ends = p.map_chunked(pipe_with_greeting, 0..9, 4).unwrap();
        for (n, end) in ends.into_iter().enumerate() {
            assert_eq!(
                end.recv_timeout(TIMEOUT).unwrap(),
                format!("hello {n}"),
                "{method:?}"
            );
        }
        // And arguments carrying handles, several to a chunk.
        let ends: Vec<_> = (0..6).map(pipe_with_greeting).collect();
        let greetings = p
            .map_chunked(
                |end: mproc::pipe::Receiver<String>| end.recv_timeout(TIMEOUT).unwrap(),
                ends,
                3,
            )
            .unwrap();
        let expected: Vec<String> = (0..6).map(|n| format!("hello {n}")).collect();
        assert_eq!(greetings, expected, "{method:?}");
    }
}

/// Serializes only when even.
#[derive(Debug, serde::Deserialize)]
struct EvenOnly(u32);

impl serde::Serialize for EvenOnly {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.is_multiple_of(2) {
            s.serialize_u32(self.0)
        } else {
            Err(serde::ser::Error::custom("odd values refuse to travel"))
        }
    }
}

fn even_only(x: u32) -> EvenOnly {
    EvenOnly(x)
}

#[test]
fn an_item_that_cannot_travel_fails_alone_in_its_chunk() {
    let p = pools::pool(1, StartMethod::default());
    let results = collect(p.imap(even_only, 0..6).chunksize(6));
    assert_eq!(results.len(), 6);
    for (x, result) in (0..).zip(results) {
        match result {
            Ok(EvenOnly(v)) => assert_eq!((x % 2, v), (0, x)),
            Err(TaskError::EncodeResult { message, .. }) => {
                assert_eq!(x % 2, 1);
                assert!(message.contains("refuse to travel"), "{message}");
            }
            Err(other) => panic!("{x}: {other:?}"),
        }
    }
}

/// Frees an 8 MiB buffer it filled, then says how many bytes the allocator holds free for
/// reuse (glibc's `mallinfo2().fordblks`).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn free_heap_after_a_large_buffer(_: ()) -> u64 {
    let buffer = std::hint::black_box(vec![1u8; 8 << 20]);
    drop(buffer);
    // SAFETY: mallinfo2 only reads the allocator's statistics.
    let info = unsafe { libc::mallinfo2() };
    info.fordblks as u64
}

/// A worker keeps what a chunk freed for the next chunk (it does not fault and zero every page
/// of its buffers again): an 8 MiB buffer freed stays in its heap. Under glibc's defaults it
/// would be a mapping of its own, returned to the kernel when freed.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn a_worker_keeps_the_memory_a_chunk_freed_for_the_next() {
    for method in METHODS {
        let p = pools::pool(1, method);
        let kept = p.apply(free_heap_after_a_large_buffer, ()).unwrap();
        assert!(
            kept >= 8 << 20,
            "{method:?}: {kept} bytes free in the worker's heap"
        );
    }
}
