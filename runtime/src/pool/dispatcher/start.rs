//! Starting workers: filling the pool's empty slots, and everything one worker is given (its
//! socket, its report queue, its sleep bell, the task table, a duplicate of the initializer's
//! descriptors).

use std::os::fd::{AsFd, AsRawFd};
use std::time::Instant;

use super::{Dispatcher, REPORT_RING_BYTES, Worker, token};
use crate::codec::Fd;
use crate::pipe::inherited;
use crate::pool::WorkerStartError;
use crate::pool::bell::Bell;
use crate::pool::worker::{InitCall, Reporter, WorkerArgs, worker_main};
use crate::process::Process;
use crate::queue::Queue;
use crate::sys::{self, OsContext};

impl Dispatcher {
    /// Starts workers in empty slots (unless workers that ended before they were ready call
    /// for a pause first). `Err` only if no worker is alive afterwards.
    pub(super) fn fill_slots(&mut self) -> Result<(), WorkerStartError> {
        if let Some(at) = self.unready.respawn_at {
            if Instant::now() < at {
                return Ok(());
            }
            self.unready.respawn_at = None;
        }
        let mut last_error = None;
        for slot in 0..self.workers.len() {
            if self.workers[slot].is_none()
                && let Err(e) = self.spawn(slot)
            {
                last_error = Some(e);
            }
        }
        match last_error {
            Some(e) if self.workers.iter().all(Option::is_none) => Err(e),
            _ => Ok(()),
        }
    }

    /// Starts a worker in empty slot `slot`.
    fn spawn(&mut self, slot: usize) -> Result<(), WorkerStartError> {
        let (ours, theirs) =
            sys::socket::socketpair().map_err(WorkerStartError::os("socketpair"))?;
        let init = match &self.config.init {
            None => None,
            Some(init) => Some(InitCall {
                code: init.code,
                payload: init.payload.clone(),
                fds: init
                    .fds
                    .iter()
                    .map(|fd| sys::fd::dup_cloexec(fd.as_fd()).map(Fd::from))
                    .collect::<Result<_, _>>()
                    .map_err(WorkerStartError::os("dup"))?,
            }),
        };
        let queue = Queue::builder()
            .ring_bytes(REPORT_RING_BYTES)
            .build()
            .map_err(WorkerStartError::ReportQueue)?;
        let reports = Reporter {
            queue: queue.clone(),
            bell: self.bell.clone(),
            waker: sys::fd::dup_cloexec(self.shared.waker.as_fd())
                .map(Fd::from)
                .map_err(WorkerStartError::os("dup"))?,
        };
        let sleep = Bell::new().map_err(WorkerStartError::ReportBell)?;
        self.spawned += 1;
        // Ids are never 0 and fit the claim word's 31 bits.
        let id = u32::try_from(self.spawned % 0x7FFF_FFFF)
            .unwrap_or(1)
            .max(1);
        let args = WorkerArgs {
            id,
            ring: self.ring.clone(),
            sleep: sleep.clone(),
            sock: Fd::from(theirs),
            tasks: self.tasks.offsets(),
            reports,
            init,
            max_chunks: self.config.max_chunks,
        };
        let name = format!("PoolWorker-{}", self.spawned);
        let mut process = Process::new(worker_main, args)
            .daemon(true)
            .name(name.clone());
        if let Some(method) = self.config.method {
            process = process.start_method(method);
        }
        let child = process.start()?;
        // Later forks (of other workers) must not keep this socket open.
        inherited::register(ours.as_raw_fd());
        let generation = self.generations[slot].wrapping_add(1);
        self.generations[slot] = generation;
        let added = self
            .poller
            .add(child.handle().exit_fd(), token(slot, generation));
        if let Err(e) = added {
            let _ = child.kill();
            inherited::unregister(ours.as_raw_fd());
            return Err(WorkerStartError::os("epoll_ctl")(e));
        }
        crate::pool::trace::worker_started(child.pid(), slot, &name, generation > 1);
        self.workers[slot] = Some(Worker {
            id,
            child,
            sock: ours,
            sleep,
            reports: queue,
            ready: false,
            init_failure: None,
        });
        Ok(())
    }
}
