//! Same binary, checked: what every rank proves about its executable before any task is sent.
//!
//! Tasks name code by its offset in the executable (`crate::codeptr`), so every rank must run
//! the very same file. Each worker rank sends rank 0 a [`Hello`]: the SHA-256 of
//! `/proc/self/exe`, the code layout marker, its host and how many local workers it runs.
//! Rank 0 compares them with its own and answers each with a [`Verdict`]: the job key (see
//! `super::trampoline`), or a refusal, after which every rank leaves.

use std::io::Read;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::codeptr;

/// What a worker rank tells rank 0 about itself.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Hello {
    pub(super) exe_hash: [u8; 32],
    pub(super) layout: i64,
    pub(super) processes: u32,
    pub(super) host: String,
}

/// Rank 0's answer to a [`Hello`].
#[derive(Debug, Serialize, Deserialize)]
pub(super) enum Verdict {
    /// Serve tasks authenticated with this key.
    Accept { job_key: [u8; 32] },
    /// Leave: the job cannot run (a rank runs another executable).
    Refuse { reason: String },
}

/// The SHA-256 of this process's executable file (read in 1 MiB blocks).
pub(super) fn exe_hash() -> std::io::Result<[u8; 32]> {
    let mut file = std::fs::File::open("/proc/self/exe")?;
    let mut hasher = Sha256::new();
    let mut block = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut block)?;
        if n == 0 {
            break;
        }
        hasher.update(&block[..n]);
    }
    Ok(hasher.finalize().into())
}

/// This process's greeting.
pub(super) fn hello(processes: usize, host: String) -> std::io::Result<Hello> {
    Ok(Hello {
        exe_hash: exe_hash()?,
        layout: codeptr::layout_marker(),
        processes: u32::try_from(processes).unwrap_or(u32::MAX),
        host,
    })
}

/// What differs between `theirs` and `ours`, if anything.
pub(super) fn mismatch(ours: &Hello, theirs: &Hello) -> Option<&'static str> {
    if ours.exe_hash != theirs.exe_hash {
        Some("the executable's SHA-256 differs")
    } else if ours.layout != theirs.layout {
        Some("the code layout marker differs")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_greeting_matches_itself_and_not_another_file() {
        let ours = hello(2, "here".into()).unwrap();
        let same = hello(3, "there".into()).unwrap();
        assert_eq!(mismatch(&ours, &same), None);
        let mut other = hello(2, "here".into()).unwrap();
        other.exe_hash[0] ^= 1;
        assert!(mismatch(&ours, &other).is_some());
        let mut moved = hello(2, "here".into()).unwrap();
        moved.layout += 16;
        assert!(mismatch(&ours, &moved).is_some());
    }
}
