//! The pool thread's doorbell: how a worker that has just reported wakes the pool's thread,
//! with a system call only when that thread is asleep.
//!
//! Each worker reports on its own shared-memory [`Queue`](crate::Queue) (see `protocol`);
//! the pool's thread sleeps in `epoll`, which cannot watch a queue. So before it sleeps it
//! *arms* the bell (one flag in shared memory for all workers) and looks at the queues once
//! more; a worker, after each report, looks at the flag, and the one that finds it armed
//! disarms it and writes the thread's eventfd.
//!
//! # Memory ordering
//! Each side stores, then issues a `SeqCst` fence, then loads what the other side stores: the
//! thread stores the flag and loads the queues' counts; a worker stores its report (the queue's
//! publication) and loads the flag. By the fences' total order, at least one of the two loads
//! sees the other side's store: either the thread finds the report and does not sleep, or the
//! worker finds the flag armed and rings. No report is left unseen while the thread sleeps.
//! Several workers may find the flag armed; the swap lets exactly one of them ring.

use std::fmt;
use std::os::fd::BorrowedFd;
use std::sync::atomic::Ordering::{Relaxed, SeqCst};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::shm::{Kind, ShmBox, ShmError, ShmState};
use crate::sync::atomic::{AtomicU32, fence};

const ARMED: u32 = 1;

/// The shared flag.
#[repr(C)]
pub(crate) struct BellState {
    armed: AtomicU32,
}

// SAFETY: one atomic word; every value is meaningful (non-zero bits other than ARMED are
// ignored).
unsafe impl ShmState for BellState {
    const KIND: Kind = Kind::PoolBell;
}

impl BellState {
    #[cfg(loom)]
    pub(crate) fn new() -> Self {
        Self {
            armed: AtomicU32::new(0),
        }
    }

    /// The pool's thread is about to sleep: call, then check for reports, then sleep only if
    /// there are none.
    pub(crate) fn arm(&self) {
        self.armed.store(ARMED, Relaxed);
        fence(SeqCst);
    }

    /// The pool's thread is awake.
    pub(crate) fn disarm(&self) {
        self.armed.store(0, Relaxed);
    }

    /// A worker has published a report: whether it must ring (exactly one worker does per
    /// arming).
    pub(crate) fn must_ring(&self) -> bool {
        fence(SeqCst);
        self.armed.load(Relaxed) & ARMED != 0 && self.armed.swap(0, Relaxed) & ARMED != 0
    }
}

/// A handle to the flag, shared by the pool's thread and its workers.
#[derive(Clone)]
pub(crate) struct Bell {
    shm: ShmBox<BellState>,
}

impl Bell {
    pub(crate) fn new() -> Result<Self, ShmError> {
        Ok(Self {
            shm: ShmBox::create(0, 0, |_, _| {})?,
        })
    }

    pub(crate) fn state(&self) -> &BellState {
        self.shm.state()
    }

    /// After a report was published: wakes the pool's thread through `waker` (its eventfd) if
    /// it sleeps or is about to.
    pub(crate) fn ring_if_armed(&self, waker: BorrowedFd<'_>) {
        if self.state().must_ring() {
            // Only fails if the counter would overflow, which leaves it readable anyway.
            let _ = crate::sys::fd::eventfd_add_one(waker);
        }
    }
}

impl fmt::Debug for Bell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bell").finish_non_exhaustive()
    }
}

impl Serialize for Bell {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.shm.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Bell {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Self {
            shm: ShmBox::deserialize(d, 0, "pool bell")?,
        })
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::Bell;

    #[test]
    fn only_the_first_report_after_arming_rings() {
        let bell = Bell::new().unwrap();
        let state = bell.state();
        assert!(!state.must_ring(), "never armed");
        state.arm();
        assert!(state.must_ring());
        assert!(!state.must_ring(), "the first ring disarmed it");
        state.arm();
        state.disarm();
        assert!(!state.must_ring(), "the thread woke by itself");
    }
}

/// `loom` model of the arming protocol: whatever the interleaving, the pool's thread never
/// sleeps through a report, and one arming is rung at most once.
///
/// Run with `RUSTFLAGS="--cfg loom" cargo test -p mproc --lib --release loom`.
#[cfg(all(test, loom))]
mod loom_tests {
    use std::sync::atomic::Ordering::{Relaxed, Release};

    use loom::sync::Arc;
    use loom::thread;

    use super::BellState;
    use crate::sync::atomic::AtomicU64;
    use crate::sync::loom_tests::model;

    #[test]
    fn loom_bell_the_pool_thread_never_sleeps_through_a_report() {
        model(|| {
            let bell = Arc::new(BellState::new());
            // The report queue's count of published reports.
            let published = Arc::new(AtomicU64::new(0));
            let workers: Vec<_> = (0..2)
                .map(|_| {
                    let (bell, published) = (Arc::clone(&bell), Arc::clone(&published));
                    thread::spawn(move || {
                        published.fetch_add(1, Release);
                        bell.must_ring()
                    })
                })
                .collect();
            bell.arm();
            let sleeps = published.load(Relaxed) == 0;
            let rings = workers
                .into_iter()
                .map(|w| u32::from(w.join().unwrap()))
                .sum::<u32>();
            if sleeps {
                assert_eq!(rings, 1, "a sleeping pool thread is woken exactly once");
            } else {
                assert!(rings <= 1, "one arming, at most one ring");
            }
        });
    }
}
