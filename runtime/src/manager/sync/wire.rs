//! The synchronization objects' requests: what to create, and the operations on them.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::super::protocol::Kind;

/// What synchronization object to create.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(crate) enum SyncSpec {
    Lock,
    RLock,
    Semaphore {
        value: u64,
        bounded: bool,
    },
    Event,
    Condition,
    Barrier {
        parties: u64,
    },
    Queue {
        maxsize: Option<u64>,
        joinable: bool,
    },
}

impl SyncSpec {
    /// The kind of object this makes.
    pub(crate) fn kind(self) -> Kind {
        match self {
            Self::Lock => Kind::Lock,
            Self::RLock => Kind::RLock,
            Self::Semaphore { bounded: false, .. } => Kind::Semaphore,
            Self::Semaphore { bounded: true, .. } => Kind::BoundedSemaphore,
            Self::Event => Kind::Event,
            Self::Condition => Kind::Condition,
            Self::Barrier { .. } => Kind::Barrier,
            Self::Queue {
                joinable: false, ..
            } => Kind::Queue,
            Self::Queue { joinable: true, .. } => Kind::JoinableQueue,
        }
    }
}

/// How long an operation may wait in the server: `None` as long as it takes,
/// `Some(Duration::ZERO)` not at all.
pub(crate) type Wait = Option<Duration>;

/// An operation on a synchronization object. Each names the kinds it applies to; any other
/// kind refuses it as malformed.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum SyncOp {
    /// Lock, `RLock`, Semaphore, Condition. Answer: `Flag(acquired)`.
    Acquire(Wait),
    /// Lock, `RLock`, Condition (`n` = 1), Semaphore. Answer: `Done`.
    Release { n: u64 },
    /// Event. Answer: `Done`.
    Set,
    /// Event. Answer: `Done`.
    Clear,
    /// Event: `Flag(set)`; Lock, `RLock`, Condition: `Flag(held by anyone)`.
    IsSet,
    /// Event: `Flag(set before the wait ended)`; Condition (caller holds the lock):
    /// `Flag(notified)`; Barrier: `Len(arrival index)`; `JoinableQueue` (`join`): `Flag(all
    /// done)`.
    Wait(Wait),
    /// Condition (caller holds the lock). Answer: `Done`.
    Notify { n: u64 },
    /// Condition (caller holds the lock). Answer: `Done`.
    NotifyAll,
    /// Barrier. Answer: `Done`.
    Abort,
    /// Barrier. Answer: `Done`.
    Reset,
    /// Barrier: `Len(parties)`; Semaphore: `Len(value)`; queues: `Len(maxsize or 0)`.
    Capacity,
    /// Barrier: `Len(parties waiting)`; queues: `Len(items queued)`.
    Count,
    /// Barrier. Answer: `Flag(broken)`.
    Broken,
    /// Queues. Answer: `Flag(stored)`.
    Put { item: Vec<u8>, wait: Wait },
    /// Queues. Answer: `Bytes(Some(item))`, or `Bytes(None)` if none came in time.
    Get(Wait),
    /// `JoinableQueue`. Answer: `Done`.
    TaskDone,
}
