//! [`TopologyError`]: what starting or joining a topology reports.

use crate::pipe::PipeError;
use crate::process::SpawnError;
use crate::queue::QueueError;
use crate::sys::OsError;

/// A topology could not be started, or its processes did not end in time. What the processes
/// themselves returned, failures included, is in the topology's results instead.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TopologyError {
    /// A queue could not be created. Nothing was started.
    #[error("cannot create queue `{channel}`")]
    Queue {
        /// The queue's name in the topology.
        channel: &'static str,
        /// Why.
        #[source]
        source: QueueError,
    },
    /// A pipe could not be created. The processes started before were stopped.
    #[error("cannot create pipe `{channel}`")]
    Pipe {
        /// The name of the pipe's first end.
        channel: &'static str,
        /// Why.
        #[source]
        source: PipeError,
    },
    /// A process could not be started. The processes started before were stopped.
    #[error("cannot start process `{process}`{}", replica.map(|i| format!(" [{i}]")).unwrap_or_default())]
    Spawn {
        /// The process's name in the topology.
        process: &'static str,
        /// Which replica, for a replicated process.
        replica: Option<usize>,
        /// Why.
        #[source]
        source: SpawnError,
    },
    /// A replica count of 0 (a count computed at run time; a literal 0 does not compile).
    #[error("process `{process}` has 0 replicas")]
    NoReplicas {
        /// The process's name in the topology.
        process: &'static str,
    },
    /// `join_timeout` ran out of time with processes still running; join again later.
    #[error("timed out waiting for the topology's processes")]
    Timeout,
    /// The topology was already joined: its results were handed out then.
    #[error("the topology was already joined")]
    AlreadyJoined,
    /// Watching the processes failed.
    #[error(transparent)]
    Os(#[from] OsError),
}
