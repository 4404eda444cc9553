//! Building blocks of the hardware floors: waiting with a deadline, a start line for several
//! forked children, a futex mutex and a single-producer single-consumer ring.
//!
//! A floor is the same hand-off as the workload, done with the fewest system calls we can
//! write by hand. Nothing here may hang: every wait has a deadline, after which the floor
//! fails with an error instead. The deadline is only computed once a wait actually blocks, so
//! it costs nothing on the fast path.

pub(crate) mod mutex;
pub(crate) mod ring;
pub(crate) mod start;

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::outcome::{Error, fail};
use crate::sys::shm::futex_wait;

/// How long any single wait inside a floor may block before the floor gives up.
pub(crate) const PATIENCE: Duration = Duration::from_mins(2);

/// The moment a blocked wait gives up; set when the wait first blocks.
#[derive(Debug, Default)]
struct Deadline(Option<Instant>);

impl Deadline {
    fn check(&mut self, what: &str) -> Result<(), Error> {
        let limit = *self.0.get_or_insert_with(|| Instant::now() + PATIENCE);
        if Instant::now() > limit {
            Err(fail(format!(
                "floor stuck for {PATIENCE:?} waiting for {what}"
            )))
        } else {
            Ok(())
        }
    }
}

/// Sleeps on the futex `word` until `done(value)` holds. No spinning: this is the futex floor.
pub(crate) fn futex_wait_until(
    word: &AtomicU32,
    done: impl Fn(u32) -> bool,
    what: &str,
) -> Result<(), Error> {
    let mut deadline = Deadline::default();
    loop {
        let value = word.load(Ordering::Acquire);
        if done(value) {
            return Ok(());
        }
        futex_wait(word, value, Duration::from_millis(100));
        deadline.check(what)?;
    }
}

/// Busy-waits until `done()` holds: a short spin, then `sched_yield` so that a waiter sharing
/// a CPU with the process it waits for lets that process run.
pub(crate) fn spin_until(mut done: impl FnMut() -> bool, what: &str) -> Result<(), Error> {
    let mut deadline = Deadline::default();
    let mut round: u32 = 0;
    while !done() {
        round = round.wrapping_add(1);
        if round < 64 {
            std::hint::spin_loop();
        } else {
            std::thread::yield_now();
            if round.is_multiple_of(1024) {
                deadline.check(what)?;
            }
        }
    }
    Ok(())
}
