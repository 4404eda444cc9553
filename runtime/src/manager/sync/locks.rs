//! [`LockProxy`], [`RLockProxy`], [`SemaphoreProxy`] and [`ConditionProxy`].

use std::time::Duration;

use super::super::error::ManagerError;
use super::super::handle::Handle;
use super::sync_proxy;
use super::wire::SyncOp;

/// A lock held by a manager (Python's `manager.Lock()`). Any client may release it, as in
/// Python. Cheap to clone and serializable, as every proxy.
///
/// # Waiting
/// A blocking operation of any synchronization proxy waits *in the manager*, on the thread
/// serving the caller's connection: each call takes a connection of its own from the
/// process's pool, so a thread blocked in [`QueueProxy::get`](super::QueueProxy::get) never
/// blocks another thread's `put`, nor another client. Every blocking operation has three
/// forms: blocking, `try_` (never waits) and `_timeout` (its answer is awaited for its
/// timeout plus the call timeout). A blocking call waits as long as it takes, and fails with
/// [`ManagerError::Connection`] if the manager goes away.
///
/// # A client that dies
/// When the last connection of a client process closes (it exited, was killed, or every
/// connection it had broke), the manager releases every [`LockProxy`], [`RLockProxy`] and
/// [`ConditionProxy`] lock a thread of that client held, so the next acquirer proceeds
/// (Python leaks them and its other clients hang). The next acquirer is not told: checking
/// what the dead client left half-done under the lock is the program's job. A barrier the
/// client waited at breaks (as a timeout does); a queue `get` it waited in takes nothing;
/// semaphores stay as they are (they have no owner, as in Python).
pub struct LockProxy {
    handle: Handle,
}

/// A re-entrant lock held by a manager (`manager.RLock()`): owned by the thread that
/// acquired it (one thread of one process), which may acquire it again and must release it
/// as often; anyone else's release is refused with
/// [`RemoteError::NotHeld`](super::super::RemoteError::NotHeld).
pub struct RLockProxy {
    handle: Handle,
}

/// A semaphore held by a manager (`manager.Semaphore(n)` or `manager.BoundedSemaphore(n)`);
/// a bounded one refuses a release above its initial value with
/// [`RemoteError::OverReleased`](super::super::RemoteError::OverReleased).
pub struct SemaphoreProxy {
    handle: Handle,
}

/// A condition variable held by a manager, with its own re-entrant lock
/// (`manager.Condition()`). [`wait`](Self::wait) and the notifications need the lock held
/// by the calling thread.
pub struct ConditionProxy {
    handle: Handle,
}

sync_proxy!(LockProxy);
sync_proxy!(RLockProxy);
sync_proxy!(SemaphoreProxy);
sync_proxy!(ConditionProxy);

/// The acquire/release half every lock-like proxy shares.
macro_rules! acquirer {
    ($name:ident) => {
        impl $name {
            pub(crate) fn from_handle(handle: Handle) -> Self {
                Self { handle }
            }

            /// Waits until acquired (Python's `acquire()`).
            ///
            /// # Errors
            /// [`ManagerError::Connection`] if the manager cannot be reached, or goes away.
            pub fn acquire(&self) -> Result<(), ManagerError> {
                self.handle
                    .sync_flag(SyncOp::Acquire(None), None)
                    .map(|_| ())
            }

            /// Acquires if that needs no wait (`acquire(False)`).
            ///
            /// # Errors
            /// [`ManagerError::WouldBlock`] if it would have had to wait (not acquired), or
            /// as [`acquire`](Self::acquire).
            pub fn try_acquire(&self) -> Result<(), ManagerError> {
                self.acquire_within(Duration::ZERO, ManagerError::WouldBlock)
            }

            /// Waits at most `timeout` to acquire (`acquire(timeout=t)`).
            ///
            /// # Errors
            /// [`ManagerError::Timeout`] if the time ran out (not acquired), or as
            /// [`acquire`](Self::acquire).
            pub fn acquire_timeout(&self, timeout: Duration) -> Result<(), ManagerError> {
                self.acquire_within(timeout, ManagerError::Timeout)
            }

            fn acquire_within(
                &self,
                timeout: Duration,
                missed: ManagerError,
            ) -> Result<(), ManagerError> {
                let acquired = self
                    .handle
                    .sync_flag(SyncOp::Acquire(Some(timeout)), Some(timeout))?;
                if acquired { Ok(()) } else { Err(missed) }
            }
        }
    };
}

acquirer!(LockProxy);
acquirer!(RLockProxy);
acquirer!(SemaphoreProxy);
acquirer!(ConditionProxy);

/// Held for as long as it lives; dropping it releases the lock (errors ignored: see
/// [`LockGuard::release`] to see them).
#[derive(Debug)]
#[must_use = "the lock is released when the guard is dropped"]
pub struct LockGuard<'a> {
    handle: Option<&'a Handle>,
}

impl LockGuard<'_> {
    /// Releases now, reporting errors.
    ///
    /// # Errors
    /// [`ManagerError::Connection`] if the manager cannot be reached.
    pub fn release(mut self) -> Result<(), ManagerError> {
        match self.handle.take() {
            Some(handle) => handle.sync_done(SyncOp::Release { n: 1 }),
            None => Ok(()),
        }
    }
}

impl Drop for LockGuard<'_> {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            let _ = handle.sync_done(SyncOp::Release { n: 1 });
        }
    }
}

/// Release, `is_locked` and the guard of the lock proxies.
macro_rules! lock_like {
    ($name:ident) => {
        impl $name {
            /// Releases (Python's `release()`).
            ///
            /// # Errors
            /// [`RemoteError::NotHeld`](super::super::RemoteError::NotHeld) if not held (by
            /// the calling thread, for a re-entrant lock); [`ManagerError::Connection`].
            pub fn release(&self) -> Result<(), ManagerError> {
                self.handle.sync_done(SyncOp::Release { n: 1 })
            }

            /// Acquires and returns a guard that releases when dropped (Python's `with`).
            ///
            /// # Errors
            /// As [`acquire`](Self::acquire).
            pub fn lock(&self) -> Result<LockGuard<'_>, ManagerError> {
                self.acquire()?;
                Ok(LockGuard {
                    handle: Some(&self.handle),
                })
            }

            /// Whether anyone holds it now (a snapshot).
            ///
            /// # Errors
            /// [`ManagerError::Connection`] if the manager cannot be reached in time.
            pub fn is_locked(&self) -> Result<bool, ManagerError> {
                self.handle.sync_flag(SyncOp::IsSet, Some(Duration::ZERO))
            }
        }
    };
}

lock_like!(LockProxy);
lock_like!(RLockProxy);
lock_like!(ConditionProxy);

impl SemaphoreProxy {
    /// Gives one permit back (Python's `release()`).
    ///
    /// # Errors
    /// [`RemoteError::OverReleased`](super::super::RemoteError::OverReleased) above a bounded
    /// semaphore's initial value; [`ManagerError::Connection`].
    pub fn release(&self) -> Result<(), ManagerError> {
        self.release_many(1)
    }

    /// Gives `n` permits back at once (`release(n)`); a bounded semaphore refuses all of them
    /// if they do not all fit.
    ///
    /// # Errors
    /// As [`release`](Self::release).
    pub fn release_many(&self, n: u64) -> Result<(), ManagerError> {
        self.handle.sync_done(SyncOp::Release { n })
    }

    /// The permits available now (Python's `get_value()`; a snapshot).
    ///
    /// # Errors
    /// [`ManagerError::Connection`] if the manager cannot be reached in time.
    pub fn value(&self) -> Result<u64, ManagerError> {
        self.handle.sync_len(SyncOp::Capacity, Some(Duration::ZERO))
    }
}

impl ConditionProxy {
    /// Releases the lock, waits for a notification, then takes the lock back (Python's
    /// `wait()`).
    ///
    /// # Errors
    /// [`RemoteError::NotHeld`](super::super::RemoteError::NotHeld) if the calling thread
    /// does not hold the lock; [`ManagerError::Connection`].
    pub fn wait(&self) -> Result<(), ManagerError> {
        self.handle.sync_flag(SyncOp::Wait(None), None).map(|_| ())
    }

    /// [`wait`](Self::wait) for at most `timeout` before taking the lock back
    /// (`wait(timeout)`). Taking the lock back may take longer, as in Python; the lock is
    /// held again when this returns, whatever it returns but a connection error.
    ///
    /// # Errors
    /// [`ManagerError::Timeout`] if no notification came in time, or as [`wait`](Self::wait).
    pub fn wait_timeout(&self, timeout: Duration) -> Result<(), ManagerError> {
        // The answer also waits for the lock: no bound on the client side beyond the
        // manager's own (a holder that dies releases it).
        let notified = self.handle.sync_flag(SyncOp::Wait(Some(timeout)), None)?;
        if notified {
            Ok(())
        } else {
            Err(ManagerError::Timeout)
        }
    }

    /// Waits until `ready()` holds, checking it with the lock held after each notification
    /// (Python's `wait_for(predicate)`).
    ///
    /// # Errors
    /// As [`wait`](Self::wait).
    pub fn wait_for(&self, mut ready: impl FnMut() -> bool) -> Result<(), ManagerError> {
        while !ready() {
            self.wait()?;
        }
        Ok(())
    }

    /// [`wait_for`](Self::wait_for) for at most `timeout` in all (Python's
    /// `wait_for(predicate, timeout)`).
    ///
    /// # Errors
    /// [`ManagerError::Timeout`] if `ready()` still fails when the time is up, or as
    /// [`wait`](Self::wait).
    pub fn wait_for_timeout(
        &self,
        mut ready: impl FnMut() -> bool,
        timeout: Duration,
    ) -> Result<(), ManagerError> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if ready() {
                return Ok(());
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Err(ManagerError::Timeout);
            }
            match self.wait_timeout(left) {
                Ok(()) | Err(ManagerError::Timeout) => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Wakes up to `n` waiters, longest waiting first (`notify(n)`).
    ///
    /// # Errors
    /// As [`wait`](Self::wait).
    pub fn notify(&self, n: u64) -> Result<(), ManagerError> {
        self.handle.sync_done(SyncOp::Notify { n })
    }

    /// Wakes every waiter (`notify_all()`).
    ///
    /// # Errors
    /// As [`wait`](Self::wait).
    pub fn notify_all(&self) -> Result<(), ManagerError> {
        self.handle.sync_done(SyncOp::NotifyAll)
    }
}
