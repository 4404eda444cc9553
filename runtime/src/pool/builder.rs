//! [`PoolBuilder`]: the options of a pool (Python's `Pool(processes, initializer, initargs,
//! maxtasksperchild)`) and its start.

use std::sync::{Arc, Mutex};

use super::callbacks::Callbacks;
use super::dispatcher::{self, Config, Init};
use super::shared::Shared;
use super::{Pool, TaskValue, task, task_ref};
use crate::pool::{PoolError, WorkerStartError};
use crate::process::{StartMethod, cpu_count};
use crate::sys::OsContext;
use crate::sys::poller::Waker;

/// Options for a [`Pool`]: `Pool::builder().processes(4).maxtasksperchild(100).build()`.
#[derive(Debug, Default)]
#[must_use]
pub struct PoolBuilder {
    processes: Option<usize>,
    max_tasks: Option<u64>,
    init: Option<Result<Init, String>>,
    method: Option<StartMethod>,
}

#[allow(
    clippy::needless_pass_by_value,
    reason = "the initializer's arguments are taken by value, as Python's `initargs`; they \
              are serialized rather than consumed"
)]
impl PoolBuilder {
    /// The number of workers (default: [`cpu_count`], the CPUs this process may use).
    pub fn processes(mut self, processes: usize) -> Self {
        self.processes = Some(processes);
        self
    }

    /// Replace each worker after it ran this many tasks (chunks), as Python's
    /// `maxtasksperchild`.
    ///
    /// A worker keeps the memory its chunks freed (up to 32 MiB, with glibc's allocator) for
    /// the next chunk rather than returning it to the kernel after each one; replacing workers
    /// returns it, as it does whatever a task leaked.
    pub fn maxtasksperchild(mut self, tasks: u64) -> Self {
        self.max_tasks = Some(tasks);
        self
    }

    /// Runs `initializer(args)` once in each worker before it takes tasks (Python's
    /// `initializer` and `initargs`). A worker whose initializer panics or crashes is replaced;
    /// if that happens in `processes + 4` workers in a row, the pool stops taking tasks and
    /// they fail with [`PoolError::InitializerFailed`] (see [Crashes](crate::pool#crashes)).
    ///
    /// Like a task, the initializer is a `fn(A)`: one argument (a tuple for several, `()` for
    /// none), given with its value.
    pub fn initializer<A: TaskValue>(mut self, initializer: fn(A), args: A) -> Self {
        let init = task_ref(initializer)
            .map_err(|_| crate::process::SpawnError::TargetNotInExecutable.to_string())
            .and_then(|task| {
                let (mut payload, mut fds) = (Vec::new(), Vec::new());
                task::encode_chunk(std::slice::from_ref(&args), &mut payload, &mut fds)
                    .map_err(|e| e.to_string())?;
                Ok(Init {
                    code: task.code,
                    payload,
                    fds,
                })
            });
        self.init = Some(init);
        self
    }

    /// How workers are started (default: the program's default start method).
    pub fn start_method(mut self, method: StartMethod) -> Self {
        self.method = Some(method);
        self
    }

    /// Starts the pool and its workers.
    ///
    /// # Errors
    /// [`PoolError::NoProcesses`], [`PoolError::ZeroMaxTasks`], [`PoolError::InitializerFailed`]
    /// if the initializer's arguments cannot be serialized, [`PoolError::Spawn`] if no worker
    /// could be started.
    pub fn build(self) -> Result<Pool, PoolError> {
        let processes = self.processes.unwrap_or_else(cpu_count);
        if processes == 0 {
            return Err(PoolError::NoProcesses);
        }
        if self.max_tasks == Some(0) {
            return Err(PoolError::ZeroMaxTasks);
        }
        let init = self
            .init
            .transpose()
            .map_err(|message| PoolError::InitializerFailed { message })?;
        let waker = Waker::new().map_err(WorkerStartError::os("eventfd"))?;
        let shared = Arc::new(Shared::new(waker));
        let callbacks = Arc::new(Callbacks::default());
        let config = Config {
            processes,
            max_chunks: self.max_tasks,
            init,
            method: self.method,
        };
        let (started, startup) = std::sync::mpsc::channel();
        let thread = {
            let (shared, callbacks) = (Arc::clone(&shared), Arc::clone(&callbacks));
            std::thread::Builder::new()
                .name("mproc-pool".into())
                .spawn(move || dispatcher::run(shared, config, callbacks, &started))
                .map_err(WorkerStartError::os("starting the pool thread"))?
        };
        let pool = Pool {
            shared,
            thread: Mutex::new(Some(thread)),
            callbacks,
            processes,
        };
        match startup.recv() {
            Ok(Ok(())) => Ok(pool),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(WorkerStartError::ThreadEnded.into()),
        }
    }
}
