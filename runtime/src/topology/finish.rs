//! [`Finish`]: turns the ended processes of a topology into its results; and the
//! [`Failure`]s listed from those results.

use std::collections::HashSet;

use serde::de::DeserializeOwned;

use crate::process::Child;
use crate::process::ProcessError;

/// Given to the expansion's results closure once every process of the topology has ended.
#[derive(Debug)]
pub struct Finish {
    /// Daemons the topology stopped (by pid).
    pub(super) stopped: HashSet<i32>,
}

#[allow(
    clippy::needless_pass_by_value,
    reason = "each process is joined once, here: its handle is used up"
)]
impl Finish {
    /// What a process returned.
    ///
    /// # Errors
    /// How it failed (see [`Child::join`]).
    pub fn result<R: DeserializeOwned>(&self, child: Child<R>) -> Result<R, ProcessError> {
        child.join()
    }

    /// What each replica returned.
    #[must_use]
    pub fn results<R: DeserializeOwned>(
        &self,
        children: Vec<Child<R>>,
    ) -> Vec<Result<R, ProcessError>> {
        children.into_iter().map(|c| self.result(c)).collect()
    }

    /// What a daemon returned, or `None` if the topology stopped it (it was still running once
    /// the other processes had ended).
    #[must_use]
    pub fn daemon_result<R: DeserializeOwned>(
        &self,
        child: Child<R>,
    ) -> Option<Result<R, ProcessError>> {
        let stopped = self.stopped.contains(&child.pid())
            && matches!(child.exit_status(), Ok(Some(status)) if status.signal().is_some());
        (!stopped).then(|| child.join())
    }

    /// What each daemon replica returned (`None`: stopped by the topology).
    #[must_use]
    pub fn daemon_results<R: DeserializeOwned>(
        &self,
        children: Vec<Child<R>>,
    ) -> Vec<Option<Result<R, ProcessError>>> {
        children
            .into_iter()
            .map(|c| self.daemon_result(c))
            .collect()
    }
}

/// A process of a topology that failed: listed by the results' `failures()`.
#[derive(Debug)]
pub struct Failure<'a> {
    /// The process's name in the topology.
    pub process: &'static str,
    /// Which replica, for a replicated process.
    pub replica: Option<usize>,
    /// How it failed.
    pub error: &'a ProcessError,
}

/// A field of a topology's results: one outcome, a daemon's optional one, or one per replica.
pub trait Outcome {
    /// Appends the failures in `self` to `into`.
    fn failures<'a>(
        &'a self,
        process: &'static str,
        replica: Option<usize>,
        into: &mut Vec<Failure<'a>>,
    );
}

impl<R> Outcome for Result<R, ProcessError> {
    fn failures<'a>(
        &'a self,
        process: &'static str,
        replica: Option<usize>,
        into: &mut Vec<Failure<'a>>,
    ) {
        if let Err(error) = self {
            into.push(Failure {
                process,
                replica,
                error,
            });
        }
    }
}

impl<R> Outcome for Option<Result<R, ProcessError>> {
    fn failures<'a>(
        &'a self,
        process: &'static str,
        replica: Option<usize>,
        into: &mut Vec<Failure<'a>>,
    ) {
        if let Some(outcome) = self {
            outcome.failures(process, replica, into);
        }
    }
}

impl<O: Outcome> Outcome for Vec<O> {
    fn failures<'a>(
        &'a self,
        process: &'static str,
        _: Option<usize>,
        into: &mut Vec<Failure<'a>>,
    ) {
        for (i, outcome) in self.iter().enumerate() {
            outcome.failures(process, Some(i), into);
        }
    }
}

/// Appends the failures in the results field `outcome` of process `process` to `into`.
pub fn failures_of<'a, O: Outcome>(
    into: &mut Vec<Failure<'a>>,
    process: &'static str,
    outcome: &'a O,
) {
    outcome.failures(process, None, into);
}
