//! The `SyncManager` types as proxies: [`LockProxy`], [`RLockProxy`], [`SemaphoreProxy`]
//! (bounded or not), [`EventProxy`], [`ConditionProxy`], [`BarrierProxy`], [`QueueProxy`]
//! and [`JoinableQueueProxy`] — Python's `manager.Lock()`, `manager.Queue()` and the rest,
//! for processes that share no memory with each other, such as processes on other hosts.
//!
//! On one host, mproc's own [`Lock`](crate::Lock), [`Queue`](crate::Queue) and friends live
//! in shared memory, travel to other processes themselves and are far faster (no round
//! trip): use them there. These proxies are for what they cannot reach.
//!
//! # Waiting
//! A blocking operation waits *in the manager*, on the thread serving the caller's
//! connection: a proxy call takes a connection of its own from the process's pool, so a
//! thread blocked in [`QueueProxy::get`] never blocks another thread's
//! [`QueueProxy::put`], nor another client. Every blocking operation has three forms:
//! blocking, `try_` (never waits) and `_timeout`; a `_timeout` call's answer is awaited for
//! its timeout plus the call timeout. A blocking call waits as long as it takes, and ends with
//! [`ManagerError::Connection`] if the manager goes away.
//!
//! # A client that dies
//! When the last connection of a client process closes (it exited, was killed, or every
//! connection it had broke), the manager:
//! - releases every [`LockProxy`], [`RLockProxy`] and [`ConditionProxy`] lock a thread of
//!   that client held, so the next acquirer proceeds (Python leaks them, and its other
//!   clients hang). The next acquirer is not told: what the dead client left half-done under
//!   the lock is the program's to check.
//! - breaks a [`BarrierProxy`] the client was waiting at (as a timeout does);
//! - takes nothing from a queue for a `get` it was waiting in;
//! - leaves semaphores as they are: they have no owner, as in Python.

mod locks;
mod queue;
pub(crate) mod serve;
mod signals;
pub(crate) mod state;
pub(crate) mod wire;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub use locks::{ConditionProxy, LockGuard, LockProxy, RLockProxy, SemaphoreProxy};
pub use queue::{JoinableQueueProxy, QueueProxy};
pub(crate) use serve::SyncObject;
pub use signals::{BarrierProxy, EventProxy};
pub(crate) use state::Owner;
pub(crate) use wire::SyncSpec;

use super::Manager;
use super::error::ManagerError;
use super::handle::Handle;
use super::protocol::{Request, Response};
use wire::SyncOp;

/// This thread's number, unique in the process: with the client id, the owner of an `RLock`.
fn thread_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    thread_local! {
        static ID: u64 = NEXT.fetch_add(1, Ordering::Relaxed);
    }
    ID.with(|id| *id)
}

impl Handle {
    /// One operation on a synchronization object, which may wait in the manager up to `wait`.
    fn sync(&self, op: SyncOp, wait: Option<Duration>) -> Result<Response, ManagerError> {
        let request = Request::Sync {
            id: self.id,
            kind: self.kind,
            thread: thread_id(),
            op,
        };
        self.session.call_waiting(&request, wait)
    }

    fn sync_done(&self, op: SyncOp) -> Result<(), ManagerError> {
        match self.sync(op, Some(Duration::ZERO))? {
            Response::Done => Ok(()),
            _ => Err(ManagerError::UnexpectedResponse),
        }
    }

    fn sync_flag(&self, op: SyncOp, wait: Option<Duration>) -> Result<bool, ManagerError> {
        match self.sync(op, wait)? {
            Response::Flag(flag) => Ok(flag),
            _ => Err(ManagerError::UnexpectedResponse),
        }
    }

    fn sync_len(&self, op: SyncOp, wait: Option<Duration>) -> Result<u64, ManagerError> {
        match self.sync(op, wait)? {
            Response::Len(n) => Ok(n),
            _ => Err(ManagerError::UnexpectedResponse),
        }
    }
}

/// The common part of every synchronization proxy: clone, debug, serde, construction.
macro_rules! sync_proxy {
    ($name:ident) => {
        impl Clone for $name {
            fn clone(&self) -> Self {
                Self {
                    handle: self.handle.clone(),
                }
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.handle.fmt(f)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                self.handle.serialize(serializer)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                Ok(Self {
                    handle: $crate::manager::handle::Handle::deserialize(deserializer)?,
                })
            }
        }
    };
}
pub(crate) use sync_proxy;

impl Manager {
    fn create_sync(&self, spec: SyncSpec) -> Result<Handle, ManagerError> {
        let created = self.session.call(&Request::CreateSync(spec))?;
        Handle::created(&self.session, spec.kind(), &created)
    }

    /// A new lock (Python's `manager.Lock()`): any client may release it.
    ///
    /// # Errors
    /// [`ManagerError::Connection`] if the manager cannot be reached in time.
    pub fn lock(&self) -> Result<LockProxy, ManagerError> {
        self.create_sync(SyncSpec::Lock).map(LockProxy::from_handle)
    }

    /// A new re-entrant lock (`manager.RLock()`), owned by one thread of one process.
    ///
    /// # Errors
    /// As [`lock`](Self::lock).
    pub fn rlock(&self) -> Result<RLockProxy, ManagerError> {
        self.create_sync(SyncSpec::RLock)
            .map(RLockProxy::from_handle)
    }

    /// A new semaphore with `value` permits (`manager.Semaphore(value)`).
    ///
    /// # Errors
    /// As [`lock`](Self::lock).
    pub fn semaphore(&self, value: u64) -> Result<SemaphoreProxy, ManagerError> {
        let spec = SyncSpec::Semaphore {
            value,
            bounded: false,
        };
        self.create_sync(spec).map(SemaphoreProxy::from_handle)
    }

    /// A new bounded semaphore (`manager.BoundedSemaphore(value)`): releasing it above
    /// `value` is refused.
    ///
    /// # Errors
    /// As [`lock`](Self::lock).
    pub fn bounded_semaphore(&self, value: u64) -> Result<SemaphoreProxy, ManagerError> {
        let spec = SyncSpec::Semaphore {
            value,
            bounded: true,
        };
        self.create_sync(spec).map(SemaphoreProxy::from_handle)
    }

    /// A new event, clear (`manager.Event()`).
    ///
    /// # Errors
    /// As [`lock`](Self::lock).
    pub fn event(&self) -> Result<EventProxy, ManagerError> {
        self.create_sync(SyncSpec::Event)
            .map(EventProxy::from_handle)
    }

    /// A new condition with its own re-entrant lock (`manager.Condition()`).
    ///
    /// # Errors
    /// As [`lock`](Self::lock).
    pub fn condition(&self) -> Result<ConditionProxy, ManagerError> {
        self.create_sync(SyncSpec::Condition)
            .map(ConditionProxy::from_handle)
    }

    /// A new barrier for `parties` parties (`manager.Barrier(parties)`; no action: code never
    /// travels to the manager).
    ///
    /// # Errors
    /// As [`lock`](Self::lock); [`RemoteError::Malformed`](super::RemoteError::Malformed) for
    /// 0 parties.
    pub fn barrier(&self, parties: u64) -> Result<BarrierProxy, ManagerError> {
        self.create_sync(SyncSpec::Barrier { parties })
            .map(BarrierProxy::from_handle)
    }

    /// A new unbounded queue of `T` (`manager.Queue()`).
    ///
    /// # Errors
    /// As [`lock`](Self::lock).
    pub fn queue<T>(&self) -> Result<QueueProxy<T>, ManagerError> {
        self.make_queue(None, false).map(QueueProxy::from_handle)
    }

    /// A new queue of `T` holding at most `maxsize` items (`manager.Queue(maxsize)`; 0 is
    /// unbounded, as in Python).
    ///
    /// # Errors
    /// As [`lock`](Self::lock).
    pub fn bounded_queue<T>(&self, maxsize: u64) -> Result<QueueProxy<T>, ManagerError> {
        self.make_queue(Some(maxsize), false)
            .map(QueueProxy::from_handle)
    }

    /// A new unbounded joinable queue of `T` (`manager.JoinableQueue()`).
    ///
    /// # Errors
    /// As [`lock`](Self::lock).
    pub fn joinable_queue<T>(&self) -> Result<JoinableQueueProxy<T>, ManagerError> {
        self.make_queue(None, true)
            .map(JoinableQueueProxy::from_handle)
    }

    fn make_queue(&self, maxsize: Option<u64>, joinable: bool) -> Result<Handle, ManagerError> {
        self.create_sync(SyncSpec::Queue { maxsize, joinable })
    }
}
