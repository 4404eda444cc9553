//! The futex mutex floor: the classic three-state futex mutex (0 free, 1 held, 2 held with
//! possible sleepers) on a word in shared memory.
//!
//! No spinning and no owner-death detection: the least a process-shared mutex can do.
//!
//! # Memory ordering
//! Taking the lock is an `Acquire` read-modify-write and releasing it a `Release` one, so the
//! critical section's writes are visible to the next holder.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use super::Deadline;
use crate::outcome::Error;
use crate::sys::shm::{futex_wait, futex_wake};

/// A mutex living in a word of shared memory.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FutexMutex<'a> {
    word: &'a AtomicU32,
}

impl<'a> FutexMutex<'a> {
    /// The mutex whose state is `word` (zero: unlocked).
    pub(crate) fn new(word: &'a AtomicU32) -> Self {
        Self { word }
    }

    /// Takes the mutex, sleeping on the futex while another process holds it.
    pub(crate) fn lock(self) -> Result<(), Error> {
        let Err(mut state) = self
            .word
            .compare_exchange(0, 1, Ordering::Acquire, Ordering::Relaxed)
        else {
            return Ok(());
        };
        if state != 2 {
            state = self.word.swap(2, Ordering::Acquire);
        }
        let mut deadline = Deadline::default();
        while state != 0 {
            futex_wait(self.word, 2, Duration::from_millis(100));
            deadline.check("the futex mutex")?;
            state = self.word.swap(2, Ordering::Acquire);
        }
        Ok(())
    }

    /// Releases the mutex, waking one sleeper if there may be one.
    pub(crate) fn unlock(self) {
        if self.word.fetch_sub(1, Ordering::Release) != 1 {
            self.word.store(0, Ordering::Release);
            futex_wake(self.word, 1);
        }
    }
}
