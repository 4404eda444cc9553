//! [`SharedMemoryManager`]: Python's `multiprocessing.managers.SharedMemoryManager` — named
//! shared-memory blocks that are all unlinked when the manager shuts down.

use std::sync::{Mutex, PoisonError};

use super::Manager;
use super::error::ManagerError;
use super::protocol::{Request, Response};
use crate::StartMethod;
use crate::shared_memory::{Item, ShareableList, SharedMemory};

/// A manager that tracks the named [`SharedMemory`] blocks and [`ShareableList`]s created
/// through it and unlinks every one when it shuts down (Python's `SharedMemoryManager`).
/// It is also a [`Manager`] ([`manager`](Self::manager)) for proxies.
///
/// ```
/// use mproc::manager::SharedMemoryManager;
///
/// # fn main() -> Result<(), mproc::manager::ManagerError> {
/// let smm = SharedMemoryManager::start()?;
/// let block = smm.shared_memory(4096)?;
/// let name = block.name().to_owned();
/// smm.shutdown()?;
/// assert!(mproc::shared_memory::SharedMemory::attach(&name).is_err()); // unlinked
/// # Ok(())
/// # }
/// ```
///
/// # What survives what
/// - [`shutdown`](Self::shutdown), dropping this handle, or a client calling
///   [`Manager::shutdown`]: the server unlinks every block any client created through it,
///   and this handle unlinks the ones it created itself (in case the server could not).
/// - The server process killed (SIGKILL): this handle still unlinks the blocks *it*
///   created when it shuts down or is dropped; blocks other processes created through the
///   server stay until someone unlinks them.
/// - The owner process killed (SIGKILL): the server, a daemon child, is killed with it and
///   unlinks nothing; the blocks stay in `/dev/shm` until unlinked by name (Python's
///   resource tracker would unlink them; mproc has none).
///
/// The memory of an unlinked block stays valid for every process that still maps it; only
/// its name is gone.
#[derive(Debug)]
pub struct SharedMemoryManager {
    manager: Option<Manager>,
    /// The names this handle created and has not seen unlinked.
    created: Mutex<Vec<String>>,
}

/// Whether `name` is one a `SharedMemoryManager` creates: the server unlinks only such names,
/// so a client cannot have it unlink any block of its user.
pub(crate) fn trackable(name: &str) -> bool {
    name.strip_prefix(crate::shared_memory::NAME_PREFIX)
        .is_some_and(|rest| {
            !rest.is_empty() && rest.len() <= 64 && rest.bytes().all(|b| b.is_ascii_hexdigit())
        })
}

impl SharedMemoryManager {
    /// Starts the server in a daemon child process (Python's `SharedMemoryManager().start()`).
    ///
    /// # Errors
    /// As [`Manager::start`].
    pub fn start() -> Result<Self, ManagerError> {
        Ok(Self::owning(Manager::start()?))
    }

    /// [`start`](Self::start) with a given start method.
    ///
    /// # Errors
    /// As [`Manager::start`].
    pub fn start_method(method: StartMethod) -> Result<Self, ManagerError> {
        Ok(Self::owning(Manager::start_method(method)?))
    }

    /// Tracks blocks through a running manager's server (one started by another process's
    /// `SharedMemoryManager`, or served with [`Manager::serve`]).
    #[must_use]
    pub fn with_manager(manager: Manager) -> Self {
        Self::owning(manager)
    }

    fn owning(manager: Manager) -> Self {
        Self {
            manager: Some(manager),
            created: Mutex::new(Vec::new()),
        }
    }

    /// The manager, to make proxies or learn its address.
    ///
    /// # Panics
    /// Never: the manager is only taken by `shutdown`, which consumes `self`.
    #[must_use]
    pub fn manager(&self) -> &Manager {
        self.manager
            .as_ref()
            .expect("invariant: the manager lives until shutdown")
    }

    /// A new zero-filled block of `size` bytes under a fresh name (Python's
    /// `smm.SharedMemory(size)`), unlinked when the manager shuts down.
    ///
    /// # Errors
    /// [`ManagerError::SharedMemory`] if it cannot be created; [`ManagerError::Connection`]
    /// if the manager cannot be told (the block is then unlinked again).
    pub fn shared_memory(&self, size: usize) -> Result<SharedMemory, ManagerError> {
        let block = SharedMemory::create(size)?;
        self.track(block.name())?;
        Ok(block)
    }

    /// A new [`ShareableList`] holding `items` (Python's `smm.ShareableList(items)`),
    /// unlinked when the manager shuts down.
    ///
    /// # Errors
    /// [`ManagerError::ShareableList`] if it cannot be created; as
    /// [`shared_memory`](Self::shared_memory).
    pub fn shareable_list(&self, items: &[Item]) -> Result<ShareableList, ManagerError> {
        let list = ShareableList::create(items)?;
        self.track(list.shm().name())?;
        Ok(list)
    }

    fn track(&self, name: &str) -> Result<(), ManagerError> {
        match self
            .manager()
            .session
            .call(&Request::Track(name.to_owned()))
        {
            Ok(Response::Done) => {
                let mut created = self.created.lock().unwrap_or_else(PoisonError::into_inner);
                created.push(name.to_owned());
                Ok(())
            }
            other => {
                let _ = SharedMemory::unlink_name(name);
                Err(other.err().unwrap_or(ManagerError::UnexpectedResponse))
            }
        }
    }

    /// Stops the server, which unlinks every block created through it; then unlinks what
    /// this handle created and the server did not (if it was killed).
    ///
    /// # Errors
    /// As [`Manager::shutdown`]; the blocks are unlinked in any case.
    pub fn shutdown(mut self) -> Result<(), ManagerError> {
        self.stop()
    }

    fn stop(&mut self) -> Result<(), ManagerError> {
        let stopped = self.manager.take().map_or(Ok(()), Manager::shutdown);
        let created =
            std::mem::take(&mut *self.created.lock().unwrap_or_else(PoisonError::into_inner));
        for name in created {
            // Usually gone already: the server unlinked it.
            let _ = SharedMemory::unlink_name(&name);
        }
        stopped
    }
}

impl Drop for SharedMemoryManager {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}
