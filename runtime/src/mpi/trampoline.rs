//! How a worker rank finds the code of a task: authenticated code offsets.
//!
//! Rank 0 sends a task's [`TaskCode`] (`crate::codeptr` offsets of the task's `fn(A) -> R` and
//! of the local pool's trampoline for `A` and `R`) with each chunk. A worker rank gives it, with
//! the chunk's argument bytes as they came, to its local [`Pool`](crate::Pool): the chunk
//! decodes and runs in a local worker process (so a crash stays there), and the outcomes come
//! back as that worker encoded them. A worker rank moves a chunk's bytes without decoding
//! them.
//!
//! Every code travels with an HMAC-SHA256 under the *job key*, a random key rank 0 makes at
//! start-up and gives only to the ranks that proved they run the same executable; a worker
//! rank hands on only a code that checks out, so no message, garbled or forged without the
//! key, makes a local worker call an address the sender chose.
//!
//! The key travels over MPI, which neither encrypts nor authenticates its transports (TCP
//! between hosts): it is as secret as the job's traffic, as MPI itself requires a network the
//! job trusts.

use crate::auth::{self, Tag};
use crate::codeptr;
use crate::pool::{EncodedTask, TaskCode, TaskName};

/// The domain of the job key's codes over task code offsets.
const DOMAIN: &[u8] = b"mproc mpi task code v2";

/// What a worker rank's local pool names the tasks it runs for rank 0 (a code offset carries
/// no name; rank 0 reports failures under the task's own name).
const NAME: TaskName = TaskName::described("a task of rank 0");

/// The code that authenticates `code` under `key`.
pub(super) fn tag(key: &[u8], code: TaskCode) -> Tag {
    let [a, b, c] = parts(code);
    auth::mac(key, DOMAIN, &[&a, &b, &c])
}

/// The local pool's reference for `code`, if `tag` authenticates it under `key`; `None`
/// otherwise (and nothing is run).
pub(super) fn resolve(key: &[u8], code: TaskCode, tag: &Tag) -> Option<EncodedTask> {
    // A code that checks out was made by a holder of the job key from `TaskRef::of` (the only
    // codes rank 0 computes under `DOMAIN`); the key goes only to ranks whose executable hash
    // and layout marker equal rank 0's (`super::identity`), so the offsets name the same
    // functions here, as the local pool's `TaskRef::run` requires.
    let [a, b, c] = parts(code);
    auth::verify(key, DOMAIN, &[&a, &b, &c], tag).then_some(EncodedTask { name: NAME, code })
}

/// The authenticated bytes: both offsets and the layout marker of this executable.
fn parts(code: TaskCode) -> [[u8; 8]; 3] {
    [
        code.trampoline.to_le_bytes(),
        code.target.to_le_bytes(),
        codeptr::layout_marker().to_le_bytes(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn double(x: u32) -> u32 {
        x * 2
    }

    fn code() -> TaskCode {
        EncodedTask::of(double, NAME).unwrap().code
    }

    #[test]
    fn an_authenticated_code_resolves_to_itself() {
        let key = [3u8; 32];
        let good = tag(&key, code());
        assert_eq!(resolve(&key, code(), &good).unwrap().code, code());
    }

    #[test]
    fn a_forged_or_moved_code_is_refused() {
        let key = [3u8; 32];
        let good = tag(&key, code());
        let moved = |trampoline: i64, target: i64| TaskCode {
            trampoline: code().trampoline + trampoline,
            target: code().target + target,
        };
        assert!(resolve(&key, moved(16, 0), &good).is_none());
        assert!(resolve(&key, moved(0, 16), &good).is_none());
        let mut garbled = good;
        garbled[0] ^= 1;
        assert!(resolve(&key, code(), &garbled).is_none());
        assert!(resolve(&[4u8; 32], code(), &good).is_none());
    }
}
