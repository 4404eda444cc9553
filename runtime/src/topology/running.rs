//! [`Topology`] (declared, not started) and [`Running`] (started, until joined).

use std::collections::HashSet;
use std::fmt;
use std::time::{Duration, Instant};

use super::TopologyError;
use super::finish::Finish;
use super::launcher::{Launcher, Started};
use super::supervisor::Supervisor;
use crate::process::ProcessHandle;
use crate::sync::deadline;

/// How long a stopped process has to end after `SIGTERM` before it gets `SIGKILL`.
const GRACE: Duration = Duration::from_secs(2);

/// A topology declared with [`process!`](super::process): nothing runs until
/// [`run`](Topology::run) or [`start`](Topology::start).
#[must_use = "a topology does nothing until `run()` or `start()`"]
pub struct Topology<F> {
    build: F,
}

impl<F> fmt::Debug for Topology<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Topology").finish_non_exhaustive()
    }
}

impl<F, J, T> Topology<F>
where
    F: FnOnce(&mut Launcher) -> Result<J, TopologyError>,
    J: FnOnce(&Finish) -> T,
{
    #[doc(hidden)]
    pub fn new(build: F) -> Self {
        Self { build }
    }

    /// Creates the channels and starts every process. Queues start closing (as their writers
    /// end) only once every process is started.
    ///
    /// # Errors
    /// A channel or a process could not be created; what was started is stopped.
    pub fn start(self) -> Result<Running<J>, TopologyError> {
        let mut launcher = Launcher::default();
        let finish = match (self.build)(&mut launcher) {
            Ok(finish) => finish,
            Err(e) => {
                stop(&launcher.started, &mut HashSet::new());
                return Err(e);
            }
        };
        let Launcher { queues, started } = launcher;
        match Supervisor::start(&started, queues) {
            Ok(supervisor) => Ok(Running {
                finish: Some(finish),
                supervisor: Some(supervisor),
                started,
                stopped: HashSet::new(),
            }),
            Err(e) => {
                stop(&started, &mut HashSet::new());
                Err(e)
            }
        }
    }

    /// Starts the topology and waits for it: [`start`](Topology::start) then
    /// [`Running::join`].
    ///
    /// # Errors
    /// As [`start`](Topology::start).
    pub fn run(self) -> Result<T, TopologyError> {
        self.start()?.join()
    }
}

/// A started topology. [`join`](Running::join) waits for its processes and returns their
/// results; dropping it without joining stops every process still running.
pub struct Running<J> {
    finish: Option<J>,
    supervisor: Option<Supervisor>,
    started: Vec<Started>,
    stopped: HashSet<i32>,
}

impl<J> fmt::Debug for Running<J> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let processes: Vec<_> = self
            .started
            .iter()
            .map(|s| (s.process, s.handle.pid()))
            .collect();
        f.debug_struct("Running")
            .field("processes", &processes)
            .field("stopped", &self.stopped)
            .field("joined", &self.finish.is_none())
            .finish_non_exhaustive()
    }
}

impl<J> Running<J> {
    /// The topology's processes: each one's name in the topology, and a handle to it (its pid,
    /// whether it is alive; `terminate` and `kill` act on it as on any child).
    #[must_use]
    pub fn processes(&self) -> Vec<(&'static str, ProcessHandle)> {
        self.started
            .iter()
            .map(|s| (s.process, s.handle.clone()))
            .collect()
    }
}

impl<J, T> Running<J>
where
    J: FnOnce(&Finish) -> T,
{
    /// Waits until every non-daemon process has ended, stops the daemons still running, and
    /// returns the results.
    ///
    /// # Errors
    /// [`TopologyError::AlreadyJoined`] the second time.
    pub fn join(&mut self) -> Result<T, TopologyError> {
        self.join_until(None)
    }

    /// [`join`](Running::join), waiting at most `timeout`.
    ///
    /// # Errors
    /// [`TopologyError::Timeout`] if processes still run then (join again later);
    /// [`TopologyError::AlreadyJoined`].
    pub fn join_timeout(&mut self, timeout: Duration) -> Result<T, TopologyError> {
        self.join_until(deadline::after(timeout))
    }

    fn join_until(&mut self, deadline: Option<Instant>) -> Result<T, TopologyError> {
        let supervisor = self
            .supervisor
            .as_ref()
            .ok_or(TopologyError::AlreadyJoined)?;
        supervisor.wait_until(deadline, |_, workers| workers == 0)?;
        // Only daemons are left: stop them, and wait for them to end.
        let daemons: Vec<_> = self.started.iter().filter(|s| s.daemon).collect();
        for s in &daemons {
            if matches!(s.handle.exit_status(), Ok(None)) {
                self.stopped.insert(s.handle.pid());
                let _ = s.handle.terminate();
            }
        }
        let grace = Instant::now() + GRACE;
        let first = deadline.map_or(grace, |d| d.min(grace));
        if let Err(TopologyError::Timeout) =
            supervisor.wait_until(Some(first), |running, _| running == 0)
        {
            for s in &daemons {
                let _ = s.handle.kill();
            }
            supervisor.wait_until(deadline, |running, _| running == 0)?;
        }
        self.supervisor = None;
        let finish = Finish {
            stopped: std::mem::take(&mut self.stopped),
        };
        let results = self.finish.take().ok_or(TopologyError::AlreadyJoined)?;
        Ok(results(&finish))
    }
}

impl<J> Drop for Running<J> {
    fn drop(&mut self) {
        if self.supervisor.is_some() {
            stop(&self.started, &mut self.stopped);
        }
    }
}

/// Stops the processes of `started` still running: `SIGTERM`, then `SIGKILL` after the grace
/// period; waits for each.
fn stop(started: &[Started], stopped: &mut HashSet<i32>) {
    for s in started {
        if matches!(s.handle.exit_status(), Ok(None)) {
            stopped.insert(s.handle.pid());
            let _ = s.handle.terminate();
        }
    }
    let grace = Instant::now() + GRACE;
    for s in started {
        let left = grace.saturating_duration_since(Instant::now());
        if s.handle.wait_timeout(left).is_err() {
            let _ = s.handle.kill();
            let _ = s.handle.wait();
        }
    }
}
