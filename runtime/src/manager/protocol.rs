//! The manager's wire protocol: one postcard-encoded [`Request`] per message, one [`Response`]
//! back. Keys and values travel as opaque postcard bytes; the server never knows their types.

use serde::{Deserialize, Serialize};

use super::error::RemoteError;
use super::sync::wire::{SyncOp, SyncSpec};

/// What a managed object is. Values and namespaces are maps too (a value has one entry under
/// the empty key; a namespace maps field names), but a proxy of one kind never reaches an
/// object of another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    /// A `dict`: postcard(K) -> postcard(V).
    Dict,
    /// A `list` of postcard(T).
    List,
    /// A single value (`Manager::value`): one postcard(T) under the empty key. (Not named
    /// `Value`: a public item of that name would make rustc spell `mproc::Value` in full in
    /// every diagnostic.)
    Single,
    /// A `Namespace`: postcard(field name) -> postcard(value).
    Namespace,
    /// A `Lock` (any client may release it).
    Lock,
    /// An `RLock` (owned by one thread of one client, re-entrant).
    RLock,
    /// A `Semaphore`.
    Semaphore,
    /// A `BoundedSemaphore`.
    BoundedSemaphore,
    /// An `Event`.
    Event,
    /// A `Condition` with its own re-entrant lock.
    Condition,
    /// A `Barrier`.
    Barrier,
    /// A `Queue` of postcard(T).
    Queue,
    /// A `JoinableQueue` of postcard(T).
    JoinableQueue,
    /// A custom object (`#[managed]`), reached through its generated proxy.
    Custom,
}

/// The integer types the manager adds to ([`ManagedInt`](super::ManagedInt)); the server
/// decodes and encodes them itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[allow(
    missing_docs,
    reason = "one variant per Rust integer type, named after it"
)]
pub enum IntKind {
    I8,
    I16,
    I32,
    I64,
    I128,
    U8,
    U16,
    U32,
    U64,
    U128,
}

/// One request from a proxy.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Request {
    /// Creates an object; its entries, if any, start as given. Answer: [`Response::Created`].
    Create {
        kind: Kind,
        entries: Vec<(Vec<u8>, Vec<u8>)>,
        items: Vec<Vec<u8>>,
    },
    /// An operation on object `id`, which must be of kind `kind`.
    Call { id: u64, kind: Kind, op: Op },
    /// Stops the server (answer [`Response::Done`] first).
    Shutdown,
    /// A request to a custom (`#[managed]`) object.
    Object(super::object::ObjectRequest),
    /// Names the client process this connection belongs to (sent once, first): the unit the
    /// server counts references and lock holders by. Answer: [`Response::Done`].
    Hello { client: u64 },
    /// Creates a synchronization object. Answer: [`Response::Created`].
    CreateSync(SyncSpec),
    /// An operation on synchronization object `id`, from thread `thread` of this connection's
    /// client; it may wait in the server (never longer than its own timeout).
    Sync {
        id: u64,
        kind: Kind,
        thread: u64,
        op: SyncOp,
    },
    /// A reference count change. Answer: [`Response::Done`].
    Ref(RefOp),
    /// How many objects the manager holds. Answer: [`Response::Len`].
    Count,
    /// Records a named shared-memory block to unlink when the server stops
    /// ([`SharedMemoryManager`](super::SharedMemoryManager)). Answer: [`Response::Done`].
    Track(String),
    /// Forgets a tracked name (the client unlinked it). Answer: [`Response::Done`].
    Untrack(String),
}

/// How references to an object come and go (Python's `incref`/`decref`).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(crate) enum RefOp {
    /// A proxy is being serialized: hold one reference for the copy in transit, under
    /// `token`, until a process claims it.
    Mint { id: u64, token: u64 },
    /// A proxy arrived: a new reference of this client, taking over the transit reference
    /// `token` if it is still unclaimed.
    Claim { id: u64, token: Option<u64> },
    /// A proxy was stored inside another managed object: the object lives until the manager
    /// stops (the server never looks inside stored values).
    Pin { id: u64 },
    /// This client dropped its last proxy of `id`.
    Drop { id: u64 },
}

/// An operation on a map (dict, value, namespace) or on a list.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Op {
    // Maps.
    Get(Vec<u8>),
    Insert(Vec<u8>, Vec<u8>),
    Remove(Vec<u8>),
    Contains(Vec<u8>),
    Keys,
    Values,
    Items,
    Update(Vec<(Vec<u8>, Vec<u8>)>),
    /// Replaces the entry if its bytes equal `expected` (`None`: absent); `new: None` removes it.
    CompareAndSwap {
        key: Vec<u8>,
        expected: Option<Vec<u8>>,
        new: Option<Vec<u8>>,
    },
    /// Adds `delta` to the integer under `key` (absent: zero). Answer: the new value.
    Add {
        key: Vec<u8>,
        int: IntKind,
        delta: Vec<u8>,
    },
    /// Appends the encoded item to the sequence under `key` (absent: empty).
    Append {
        key: Vec<u8>,
        item: Vec<u8>,
    },
    // Lists.
    Push(Vec<u8>),
    Pop(Option<u64>),
    Index(u64),
    Set(u64, Vec<u8>),
    InsertAt(u64, Vec<u8>),
    RemoveValue(Vec<u8>),
    Extend(Vec<Vec<u8>>),
    Snapshot,
    // Both.
    Len,
    Clear,
}

/// The server's answer.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Response {
    Done,
    Created(u64),
    Bytes(Option<Vec<u8>>),
    Flag(bool),
    Len(u64),
    Items(Vec<Vec<u8>>),
    Pairs(Vec<(Vec<u8>, Vec<u8>)>),
    Swapped {
        swapped: bool,
        current: Option<Vec<u8>>,
    },
    Failed(RemoteError),
}

impl RefOp {
    /// The object concerned.
    pub(crate) fn id(&self) -> u64 {
        match *self {
            Self::Mint { id, .. }
            | Self::Claim { id, .. }
            | Self::Pin { id }
            | Self::Drop { id } => id,
        }
    }
}
