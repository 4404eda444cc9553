//! [`EventProxy`] and [`BarrierProxy`].

use std::time::Duration;

use super::super::error::ManagerError;
use super::super::handle::Handle;
use super::sync_proxy;
use super::wire::SyncOp;

/// An event held by a manager (Python's `manager.Event()`).
pub struct EventProxy {
    handle: Handle,
}

/// A barrier held by a manager (`manager.Barrier(parties)`). A party that times out, or
/// whose process dies while it waits, breaks it for everyone, as in Python.
pub struct BarrierProxy {
    handle: Handle,
}

sync_proxy!(EventProxy);
sync_proxy!(BarrierProxy);

const NOW: Option<Duration> = Some(Duration::ZERO);

impl EventProxy {
    pub(crate) fn from_handle(handle: Handle) -> Self {
        Self { handle }
    }

    /// Sets the flag and wakes every waiter (`set()`).
    ///
    /// # Errors
    /// [`ManagerError::Connection`] if the manager cannot be reached in time.
    pub fn set(&self) -> Result<(), ManagerError> {
        self.handle.sync_done(SyncOp::Set)
    }

    /// Clears the flag (`clear()`).
    ///
    /// # Errors
    /// As [`set`](Self::set).
    pub fn clear(&self) -> Result<(), ManagerError> {
        self.handle.sync_done(SyncOp::Clear)
    }

    /// Whether the flag is set (`is_set()`).
    ///
    /// # Errors
    /// As [`set`](Self::set).
    pub fn is_set(&self) -> Result<bool, ManagerError> {
        self.handle.sync_flag(SyncOp::IsSet, NOW)
    }

    /// Waits until the flag is set (`wait()`).
    ///
    /// # Errors
    /// As [`set`](Self::set), or if the manager goes away.
    pub fn wait(&self) -> Result<(), ManagerError> {
        self.handle.sync_flag(SyncOp::Wait(None), None).map(|_| ())
    }

    /// Waits at most `timeout` until the flag is set (`wait(timeout)`).
    ///
    /// # Errors
    /// [`ManagerError::Timeout`] if it was not set in time, or as [`set`](Self::set).
    pub fn wait_timeout(&self, timeout: Duration) -> Result<(), ManagerError> {
        let set = self
            .handle
            .sync_flag(SyncOp::Wait(Some(timeout)), Some(timeout))?;
        if set {
            Ok(())
        } else {
            Err(ManagerError::Timeout)
        }
    }
}

impl BarrierProxy {
    pub(crate) fn from_handle(handle: Handle) -> Self {
        Self { handle }
    }

    /// Waits until every party arrived; this party's arrival index, from 0 to `parties - 1`
    /// (`wait()`).
    ///
    /// # Errors
    /// [`RemoteError::BrokenBarrier`](super::super::RemoteError::BrokenBarrier) if the
    /// barrier is or becomes broken; [`ManagerError::Connection`].
    pub fn wait(&self) -> Result<u64, ManagerError> {
        self.handle.sync_len(SyncOp::Wait(None), None)
    }

    /// [`wait`](Self::wait) for at most `timeout`; on timeout the barrier breaks for every
    /// party and this one gets
    /// [`RemoteError::BrokenBarrier`](super::super::RemoteError::BrokenBarrier).
    ///
    /// # Errors
    /// As [`wait`](Self::wait).
    pub fn wait_timeout(&self, timeout: Duration) -> Result<u64, ManagerError> {
        self.handle
            .sync_len(SyncOp::Wait(Some(timeout)), Some(timeout))
    }

    /// Breaks the barrier: waiting and later parties fail until [`reset`](Self::reset)
    /// (`abort()`).
    ///
    /// # Errors
    /// [`ManagerError::Connection`] if the manager cannot be reached in time.
    pub fn abort(&self) -> Result<(), ManagerError> {
        self.handle.sync_done(SyncOp::Abort)
    }

    /// Back to the initial state; parties waiting now fail (`reset()`).
    ///
    /// # Errors
    /// As [`abort`](Self::abort).
    pub fn reset(&self) -> Result<(), ManagerError> {
        self.handle.sync_done(SyncOp::Reset)
    }

    /// How many parties it waits for (`parties`).
    ///
    /// # Errors
    /// As [`abort`](Self::abort).
    pub fn parties(&self) -> Result<u64, ManagerError> {
        self.handle.sync_len(SyncOp::Capacity, NOW)
    }

    /// How many parties wait now (`n_waiting`).
    ///
    /// # Errors
    /// As [`abort`](Self::abort).
    pub fn n_waiting(&self) -> Result<u64, ManagerError> {
        self.handle.sync_len(SyncOp::Count, NOW)
    }

    /// Whether it is broken (`broken`).
    ///
    /// # Errors
    /// As [`abort`](Self::abort).
    pub fn is_broken(&self) -> Result<bool, ManagerError> {
        self.handle.sync_flag(SyncOp::Broken, NOW)
    }
}
