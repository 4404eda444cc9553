//! How a worker rank finds the code of a task: an authenticated code offset.
//!
//! For a task type `T`, rank 0 sends the code offset (`crate::codeptr`) of
//! [`run_chunk::<M, T>`](run_chunk), a trampoline monomorphized for `T`: it gives the worker
//! rank the local [`Pool`](crate::Pool)'s reference for `T`, with which the rank submits the
//! chunk's argument bytes as they came (so a crash stays in a local worker process) and gets
//! the outcomes back as the local worker encoded them: a worker rank moves a chunk's bytes
//! without decoding them. Every offset travels with an HMAC-SHA256 under
//! the *job key*, a random key rank 0 makes at start-up and gives only to the ranks that proved
//! they run the same executable; a worker rank rebuilds a code address only from an offset
//! whose code checks out, so no message, garbled or forged without the key, makes it call an
//! address the sender chose.
//!
//! The key travels over MPI, which neither encrypts nor authenticates its transports (TCP
//! between hosts): it is as secret as the job's traffic, as MPI itself requires a network the
//! job trusts.

use super::wire::Failure;
use crate::auth::{self, Tag};
use crate::codeptr;
use crate::pool::{EncodedTask, Task};

/// What a worker rank calls for a chunk of task `T`: the reference its local pool runs `T`
/// by, or why it cannot (code outside the executable).
pub(super) type ChunkFn = fn() -> Result<EncodedTask, Failure>;

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

/// The local pool's reference for task `T`: the worker rank submits a chunk's argument bytes
/// with it as they came (they decode in a local worker, as the local pool's own chunks do),
/// and the outcome bytes come back as that worker wrote them.
fn run_chunk<M: 'static, T: Task<M>>() -> Result<EncodedTask, Failure> {
    EncodedTask::of::<M, T>().map_err(|e| Failure::Refused {
        message: e.to_string(),
    })
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
}
