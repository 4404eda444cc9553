//! How a worker rank finds the code of a task: an authenticated code offset.
//!
//! For a task type `T`, rank 0 sends the code offset (`crate::codeptr`) of
//! [`run_chunk::<M, T>`](run_chunk), a trampoline monomorphized for `T`: it decodes a chunk of
//! arguments, runs them on the rank's local [`Pool`] (so a crash stays in a local worker
//! process), and encodes one outcome per task. Every offset travels with an HMAC-SHA256 under
//! the *job key*, a random key rank 0 makes at start-up and gives only to the ranks that proved
//! they run the same executable; a worker rank rebuilds a code address only from an offset
//! whose code checks out, so no message, garbled or forged without the key, makes it call an
//! address the sender chose.
//!
//! The key travels over MPI, which neither encrypts nor authenticates its transports (TCP
//! between hosts): it is as secret as the job's traffic, as MPI itself requires a network the
//! job trusts.

use serde::Serialize;

use super::wire::Failure;
use crate::auth::{self, Tag};
use crate::codec;
use crate::codeptr;
use crate::pool::{Pool, Task, TaskError};

/// What a worker rank runs for one chunk: `(local pool, argument bytes) -> outcome bytes`
/// (a postcard `Vec<Result<Output, Failure>>`), or a message when the chunk cannot run.
pub(super) type ChunkFn = fn(&Pool, &[u8]) -> Result<Vec<u8>, String>;

/// The domain of the job key's codes over trampoline offsets.
const DOMAIN: &[u8] = b"mproc mpi chunk trampoline v1";

/// A task type ready to send: its name and its trampoline's offset.
#[derive(Debug, Clone, Copy)]
pub(super) struct TaskEntry {
    pub(super) name: &'static str,
    pub(super) entry: i64,
}

impl TaskEntry {
    /// The entry of task type `T`; `None` if its code is outside the main executable.
    ///
    /// A `T` that is not zero-sized (a capturing closure) is refused when the program is
    /// built, as the local pool refuses it.
    pub(super) fn of<M: 'static, T: Task<M>>() -> Option<Self> {
        const {
            assert!(
                size_of::<T>() == 0,
                "a pool task must be a function item or a closure that captures nothing: \
                 captured values cannot reach another host"
            );
        };
        let chunk: ChunkFn = run_chunk::<M, T>;
        Some(Self {
            name: std::any::type_name::<T>(),
            entry: codeptr::code_offset(chunk as usize).ok()?,
        })
    }
}

/// The code that authenticates `entry` under `key`.
pub(super) fn tag(key: &[u8], entry: i64) -> Tag {
    auth::mac(
        key,
        DOMAIN,
        &[
            &entry.to_le_bytes(),
            &codeptr::layout_marker().to_le_bytes(),
        ],
    )
}

/// The trampoline at `entry`, if `tag` authenticates it under `key`; `None` otherwise (and
/// nothing is called).
pub(super) fn resolve(key: &[u8], entry: i64, tag: &Tag) -> Option<ChunkFn> {
    let layout = codeptr::layout_marker().to_le_bytes();
    if !auth::verify(key, DOMAIN, &[&entry.to_le_bytes(), &layout], tag) {
        return None;
    }
    // SAFETY: the code proves that a holder of the job key made the pair with `tag` from
    // `TaskEntry::of`, the only place that computes codes under `DOMAIN`, over the offset of a
    // `ChunkFn`; the key goes only to ranks whose executable hash and layout marker equal
    // rank 0's (`super::identity`), so the offset names the same function here.
    Some(unsafe { codeptr::code_at::<ChunkFn>(entry) })
}

/// Runs one chunk of task `T` on the local pool: decode the arguments, run them as one local
/// chunk, encode one `Result<Output, Failure>` per task, in order.
fn run_chunk<M: 'static, T: Task<M>>(pool: &Pool, args: &[u8]) -> Result<Vec<u8>, String> {
    // SAFETY: `TaskEntry::of::<M, T>` asserted that `T` is zero-sized, and `Task` is
    // implemented only for `Fn` types, which on stable Rust are function items and closures:
    // a zero-sized one is a function item or a closure capturing nothing (no invariant to
    // break). This is the local pool's own argument (`pool::task`).
    let task: T = unsafe { codeptr::conjure() };
    let items: Vec<T::Args> = codec::decode(args, Vec::new()).map_err(|e| e.to_string())?;
    let n = items.len();
    let got: Vec<Result<T::Output, TaskError>> =
        pool.imap(task, items).chunksize(n.max(1)).collect();
    encode_outcomes(n, got)
}

/// One outcome per task: the local pool gives one per task, or a single error when the whole
/// (local) chunk failed, such as a worker lost while it held the chunk.
fn encode_outcomes<R: Serialize>(
    n: usize,
    got: Vec<Result<R, TaskError>>,
) -> Result<Vec<u8>, String> {
    let outcomes: Vec<Result<R, Failure>> = if got.len() == n {
        got.into_iter()
            .map(|r| r.map_err(Failure::from_task_error))
            .collect()
    } else {
        let failure = got.into_iter().find_map(Result::err).map_or_else(
            || Failure::Refused {
                message: format!("the local pool gave fewer than {n} results"),
            },
            Failure::from_task_error,
        );
        (0..n).map(|_| Err(failure.clone())).collect()
    };
    postcard::to_allocvec(&outcomes).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn double(x: u32) -> u32 {
        x * 2
    }

    fn entry_of<M: 'static, T: Task<M>>(_: T) -> TaskEntry {
        TaskEntry::of::<M, T>().unwrap()
    }

    fn trampoline_of<M: 'static, T: Task<M>>(_: T) -> ChunkFn {
        run_chunk::<M, T>
    }

    #[test]
    fn an_authenticated_offset_resolves_to_its_trampoline() {
        let key = [3u8; 32];
        let entry = entry_of(double);
        let good = tag(&key, entry.entry);
        let resolved = resolve(&key, entry.entry, &good).unwrap();
        assert_eq!(resolved as usize, trampoline_of(double) as usize);
    }

    #[test]
    fn a_forged_or_moved_offset_is_refused() {
        let key = [3u8; 32];
        let entry = entry_of(double).entry;
        let good = tag(&key, entry);
        assert!(resolve(&key, entry + 16, &good).is_none());
        let mut garbled = good;
        garbled[0] ^= 1;
        assert!(resolve(&key, entry, &garbled).is_none());
        assert!(resolve(&[4u8; 32], entry, &good).is_none());
    }

    #[test]
    fn a_whole_chunk_failure_fails_each_task() {
        let got: Vec<Result<u8, TaskError>> = vec![Err(TaskError::WorkerLost {
            task: "t",
            pid: 1,
            signal: Some(9),
            code: None,
        })];
        let bytes = encode_outcomes(3, got).unwrap();
        let back: Vec<Result<u8, Failure>> = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back.len(), 3);
        assert!(
            back.iter()
                .all(|r| matches!(r, Err(Failure::WorkerLost { pid: 1, .. })))
        );
    }
}
