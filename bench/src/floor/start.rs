//! A start line in shared memory: forked children get ready, the parent starts the clock and
//! fires, each child records when it finished.
//!
//! This keeps process creation out of the timed region, as the Python side does with a
//! `Barrier`, and measures up to the last child's own end time rather than its exit.

use std::sync::atomic::Ordering;

use super::{futex_wait_until, spin_until};
use crate::outcome::{Error, fail};
use crate::sys::cpu::mono_ns;
use crate::sys::shm::{ShmRegion, futex_wake};

const READY: usize = 0;
const GO: usize = 64;
const ENDS: usize = 128;
/// Most children a start line serves.
const MAX_CHILDREN: usize = 16;

/// Ready counter, go flag and one end time per child.
#[derive(Debug)]
pub(crate) struct StartLine {
    shm: ShmRegion,
    children: usize,
}

impl StartLine {
    /// A start line for `children` children (at most 16).
    pub(crate) fn new(children: usize) -> Result<Self, Error> {
        if children == 0 || children > MAX_CHILDREN {
            return Err(fail(format!("start line for {children} children")));
        }
        Ok(Self {
            shm: ShmRegion::new(ENDS + 8 * MAX_CHILDREN)?,
            children,
        })
    }

    /// In a child: reports ready and waits for the start signal.
    pub(crate) fn ready_and_wait(&self) -> Result<(), Error> {
        self.shm.u32_at(READY).fetch_add(1, Ordering::AcqRel);
        futex_wait_until(self.shm.u32_at(GO), |go| go != 0, "go")
    }

    /// In a child: records that child `index` finished its work now.
    pub(crate) fn finished(&self, index: usize) {
        self.shm
            .u64_at(ENDS + 8 * index)
            .store(mono_ns(), Ordering::Release);
    }

    /// In the parent: waits until every child is ready, then starts them; returns the start
    /// time.
    pub(crate) fn fire(&self) -> Result<u64, Error> {
        let ready = self.shm.u32_at(READY);
        let want = u32::try_from(self.children).map_err(Error::from)?;
        spin_until(
            || ready.load(Ordering::Acquire) == want,
            "children to be ready",
        )?;
        let start = mono_ns();
        self.shm.u32_at(GO).store(1, Ordering::Release);
        futex_wake(self.shm.u32_at(GO), i32::MAX);
        Ok(start)
    }

    /// In the parent, after reaping every child: nanoseconds from `start` to the last end.
    pub(crate) fn elapsed_since(&self, start: u64) -> Result<u64, Error> {
        let mut last = 0;
        for index in 0..self.children {
            let end = self.shm.u64_at(ENDS + 8 * index).load(Ordering::Acquire);
            if end == 0 {
                return Err(fail(format!("child {index} never finished")));
            }
            last = last.max(end);
        }
        Ok(last.saturating_sub(start).max(1))
    }
}
