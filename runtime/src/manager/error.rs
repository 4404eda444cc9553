//! [`ManagerError`]: everything a manager, its server or a proxy can report.

use serde::{Deserialize, Serialize};

use super::object::ObjectError;
use super::protocol::Kind;
use crate::connection::ConnectionError;

/// An error from a [`Manager`](super::Manager), a [`Server`](super::Server) or a proxy.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManagerError {
    /// Talking to the manager failed: it is gone ([`ConnectionError::Eof`],
    /// [`ConnectionError::Disconnected`], a refused connect), it did not answer in time
    /// ([`ConnectionError::Timeout`]), or the authkey was wrong. The proxy reconnects on its
    /// next call.
    #[error("manager connection: {0}")]
    Connection(#[from] ConnectionError),
    /// The manager refused the request; the connection stays usable.
    #[error("manager refused the request: {0}")]
    Remote(#[from] RemoteError),
    /// A key or value could not be serialized; nothing was sent.
    #[error("cannot encode a managed value: {0}")]
    Encode(postcard::Error),
    /// A stored value did not decode as the proxy's type (another proxy of a different type
    /// wrote it).
    #[error("a managed value does not decode as the proxy's type: {0}")]
    Decode(postcard::Error),
    /// The manager answered with a response that does not fit the request.
    #[error("unexpected response from the manager")]
    UnexpectedResponse,
    /// [`DictProxy::update`](super::DictProxy::update) lost the race this many times in a row.
    #[error("atomic update gave up after {attempts} conflicting attempts")]
    Contended {
        /// How many compare-and-swap attempts failed.
        attempts: u32,
    },
    /// A `try_` call (`try_acquire`) would have had to wait: nothing was done (Python's
    /// `acquire(False)` returning `False`).
    #[error("the call would have had to wait")]
    WouldBlock,
    /// A `_timeout` call's time ran out before it could happen (Python's `acquire(timeout=t)`
    /// or `wait(t)` returning `False`).
    #[error("the time ran out")]
    Timeout,
    /// A queue proxy's `try_get`/`get_timeout` found no item in time (Python's `queue.Empty`).
    #[error("the managed queue is empty")]
    Empty,
    /// A bounded queue proxy's `try_put`/`put_timeout` found no room in time (Python's
    /// `queue.Full`); the item was not stored.
    #[error("the managed queue is full")]
    Full,
    /// A [`SharedMemoryManager`](super::SharedMemoryManager) could not create a block.
    #[error(transparent)]
    SharedMemory(#[from] crate::shared_memory::SharedMemoryError),
    /// A [`SharedMemoryManager`](super::SharedMemoryManager) could not create a list.
    #[error(transparent)]
    ShareableList(#[from] crate::shared_memory::ShareableListError),
    /// The manager's process could not be started.
    #[error("cannot start the manager process: {0}")]
    Spawn(#[from] crate::SpawnError),
    /// The manager's process did not report its address.
    #[error("the manager process did not start: {0}")]
    Start(String),
    /// The manager's process failed or did not end in time after `shutdown`.
    #[error("manager process: {0}")]
    Process(#[from] crate::ProcessError),
    /// Two different managed types were registered under the same name.
    #[error("two managed types are registered as `{0}`")]
    DuplicateName(String),
}

impl ManagerError {
    /// Whether this is a timeout waiting for the manager.
    #[must_use]
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Connection(ConnectionError::Timeout))
    }
}

/// Why the manager refused a request (sent back to the one client that made it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[non_exhaustive]
pub enum RemoteError {
    /// No object has this id on the manager.
    #[error("no managed object with id {id}")]
    UnknownObject {
        /// The id asked for.
        id: u64,
    },
    /// The object exists but is of another kind (a list id used by a dict proxy).
    #[error("managed object {id} is a {found:?}, not a {expected:?}")]
    WrongKind {
        /// The id asked for.
        id: u64,
        /// The kind the request needs.
        expected: Kind,
        /// The kind stored.
        found: Kind,
    },
    /// A list index past the end (Python's `IndexError`).
    #[error("index {index} out of range for a list of {len}")]
    IndexOutOfRange {
        /// The index asked for.
        index: u64,
        /// The list's length.
        len: u64,
    },
    /// `pop` from an empty list, or `remove` of a value not in the list (Python's
    /// `IndexError`/`ValueError`).
    #[error("no such item")]
    NotFound,
    /// `add` on a stored value that is not an integer of the proxy's type.
    #[error("stored value is not an integer of the requested type")]
    NotAnInteger,
    /// `append` on a stored value that is not a sequence.
    #[error("stored value is not a sequence")]
    NotASequence,
    /// An integer `add` would overflow.
    #[error("integer overflow")]
    Overflow,
    /// The request did not decode (garbage, a wrong argument type, an unknown operation).
    #[error("malformed request")]
    Malformed,
    /// A call to a custom managed object failed (see [`ObjectError`]).
    #[error(transparent)]
    Object(#[from] ObjectError),
    /// Release of a lock nobody holds, or of an `RLock`/`Condition` held by another thread;
    /// a condition's `wait`/`notify` without its lock (Python's `RuntimeError`).
    #[error("the lock is not held by the caller")]
    NotHeld,
    /// A bounded semaphore released more often than acquired, or `task_done` called more
    /// often than items were put (Python's `ValueError`).
    #[error("released more often than acquired")]
    OverReleased,
    /// The barrier is broken: aborted, reset while this party waited, or a party timed out
    /// or left (Python's `BrokenBarrierError`).
    #[error("the barrier is broken")]
    BrokenBarrier,
    /// The manager already serves its maximum number of connections.
    #[error("the manager already serves {limit} connections")]
    TooManyConnections {
        /// The manager's limit.
        limit: u32,
    },
}
