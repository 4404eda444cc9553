//! Who this process is: its name, daemon flag, position in the process tree, and its parent.

use std::sync::{PoisonError, RwLock};

use super::StartMethod;
use crate::sys;
use crate::sys::fork_hook::{ForkHook, ReleaseBoth};

/// The identity a child is given by its parent.
#[derive(Debug, Clone)]
pub(crate) struct Identity {
    pub(crate) name: String,
    pub(crate) daemon: bool,
    /// Python's `_identity`: the path of child counters from the main process (`[2, 1]` is the
    /// first child of the main process's second child).
    pub(crate) path: Vec<u32>,
}

#[derive(Debug)]
pub(crate) struct Current {
    identity: Identity,
    parent: Option<ParentProcess>,
    method: StartMethod,
}

static CURRENT: RwLock<Option<Current>> = RwLock::new(None);

/// The main process's name, as in Python.
const MAIN_NAME: &str = "MainProcess";

/// How this process was created: `None` in the main process.
pub(crate) fn started_by() -> Option<StartMethod> {
    let guard = CURRENT.read().unwrap_or_else(PoisonError::into_inner);
    guard.as_ref().map(|c| c.method)
}

/// The identity lock, held across `fork()` so a forked child never finds it held by a thread
/// that does not exist in the child (which then installs its own identity).
pub(crate) static FORK_HOOK: ForkHook = ForkHook {
    guards: &[concat!(module_path!(), "::CURRENT")],
    prepare: || {
        let held = CURRENT.write().unwrap_or_else(PoisonError::into_inner);
        Ok(Some(Box::new(ReleaseBoth::new(held))))
    },
};

/// Installs the identity of a freshly started child (which has a single thread).
pub(crate) fn install_child(
    identity: Identity,
    parent_pid: libc::pid_t,
    parent_name: String,
    method: StartMethod,
) {
    let current = Current {
        identity,
        parent: Some(ParentProcess {
            pid: parent_pid,
            name: parent_name,
        }),
        method,
    };
    *CURRENT.write().unwrap_or_else(PoisonError::into_inner) = Some(current);
}

/// This process's identity (the main process's when none was installed).
pub(crate) fn current_identity() -> Identity {
    let guard = CURRENT.read().unwrap_or_else(PoisonError::into_inner);
    guard.as_ref().map_or_else(
        || Identity {
            name: MAIN_NAME.to_owned(),
            daemon: false,
            path: Vec::new(),
        },
        |c| c.identity.clone(),
    )
}

/// The default name of a child with identity path `path`: `Process-1`, `Process-2:1`, ...
pub(crate) fn default_name(path: &[u32]) -> String {
    let parts: Vec<String> = path.iter().map(u32::to_string).collect();
    format!("Process-{}", parts.join(":"))
}

/// The process running this code, as Python's `multiprocessing.current_process()`.
#[derive(Debug, Clone)]
pub struct CurrentProcess {
    pid: libc::pid_t,
    identity: Identity,
}

impl CurrentProcess {
    /// The process id.
    #[must_use]
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// The name: `MainProcess`, the name given at start, or `Process-N[:M...]`.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.identity.name
    }

    /// Whether this process is a daemon (ends when its parent ends).
    #[must_use]
    pub fn daemon(&self) -> bool {
        self.identity.daemon
    }

    /// The path of child counters from the main process (empty in the main process).
    #[must_use]
    pub fn identity(&self) -> &[u32] {
        &self.identity.path
    }

    /// The program authkey (Python's `current_process().authkey`): made once in the main
    /// process (32 random bytes) and inherited by every child before its function runs, under
    /// every start method, never through the environment or the command line. See
    /// [`crate::set_authkey`] to choose it.
    ///
    /// # Errors
    /// The OS error of `getrandom` when the key had to be made and could not be.
    pub fn authkey(&self) -> std::io::Result<crate::AuthKey> {
        crate::auth::authkey()
    }

    /// Replaces the program authkey of this process, as [`crate::set_authkey`] does (Python's
    /// `current_process().authkey = key`).
    ///
    /// # Errors
    /// As [`crate::set_authkey`]: an empty key, or one longer than
    /// [`crate::MAX_AUTHKEY_LEN`] bytes.
    pub fn set_authkey(&self, key: impl AsRef<[u8]>) -> Result<(), crate::AuthKeyError> {
        crate::auth::set_authkey(key)
    }
}

/// The process running this code.
#[must_use]
pub fn current_process() -> CurrentProcess {
    CurrentProcess {
        pid: sys::proc::getpid(),
        identity: current_identity(),
    }
}

/// The process that started this one, as Python's `multiprocessing.parent_process()`: `None`
/// in the main process.
#[must_use]
pub fn parent_process() -> Option<ParentProcess> {
    let guard = CURRENT.read().unwrap_or_else(PoisonError::into_inner);
    guard.as_ref().and_then(|c| c.parent.clone())
}

/// The parent of this process.
#[derive(Debug, Clone)]
pub struct ParentProcess {
    pid: libc::pid_t,
    name: String,
}

impl ParentProcess {
    /// The parent's process id.
    #[must_use]
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// The parent's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the parent is still running. A process whose parent ends is re-parented (to
    /// init or a sub-reaper), so this is exact and immune to pid reuse.
    #[must_use]
    pub fn is_alive(&self) -> bool {
        sys::proc::getppid() == self.pid
    }
}

/// How many CPUs this process may use: the size of its affinity mask, at least 1 (Python's
/// `os.process_cpu_count()`, which `Pool` uses by default since 3.13).
#[must_use]
pub fn cpu_count() -> usize {
    sys::proc::affinity_cpu_count()
}
