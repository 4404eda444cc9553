//! How children are created, and how the method is chosen: per process
//! ([`Process::start_method`](super::Process::start_method)), program-wide
//! ([`set_start_method`]), or by the `MPROC_START_METHOD` environment variable.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::process::StartMethodError;

/// How a child process is created.
///
/// Arguments and results are serialized under every method, so a function behaves the same
/// whichever method runs it, and every handle (pipe end, lock, queue...) works in children of
/// every method, whatever method made the process that created it.
///
/// The method used when none is given: [`get_start_method`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub enum StartMethod {
    /// `fork()`: the child is a copy of the parent; the fastest start.
    ///
    /// In a program with several threads, the child has only the thread that forked, and any
    /// lock another thread held at that moment stays locked in the child. mproc holds its own
    /// locks and stdio across the fork, but cannot do so for locks inside std or other
    /// libraries: the environment lock of `std::env`, a logger's, an allocator other than
    /// glibc's, and std's panic machinery (a child that panics while another thread of the
    /// parent was printing a panic at the moment of the fork waits forever). Python 3.14
    /// moved away from fork as default for this reason; `ForkServer` and `Spawn` children start
    /// from a single-threaded process and have none of these hazards.
    ///
    /// The child's value comes back through a page of memory it shares with the parent (no
    /// socket per child). A value over about 4 KiB, or one holding handles, goes on a
    /// connection of its own to a listening socket the program opens at its first `Fork` start
    /// (an abstract Unix address, gone with the program).
    Fork,
    /// Re-execution of this program's executable (`/proc/self/exe`). The child starts clean,
    /// single-threaded, and is intercepted before `main` runs (nothing to add to `main`, also
    /// in test binaries). Slower to start than `Fork`. The target must be in the main
    /// executable, not a shared library.
    Spawn,
    /// A fork server forks the child: a process started once per program, as `Spawn` starts a
    /// child (before `main`, single-threaded), which then forks one child per request. Sound in
    /// multithreaded programs like `Spawn`, nearly as fast as `Fork`; the default, as in
    /// Python 3.14 on Linux.
    ///
    /// The child is still a child of this program (it is reaped, signalled and waited for as
    /// with `Fork`), and a daemon child still dies with the program. It starts from the
    /// server's state, that is this program's state when the server started: environment
    /// variables set, or a working directory changed, after the first `ForkServer` start do not
    /// reach it. The target must be in the main executable, as with `Spawn`.
    #[default]
    ForkServer,
}

/// The environment variable that changes the default start method of a program (`fork`,
/// `spawn` or `forkserver`); [`set_start_method`] and per-process choices take precedence.
/// Meant for test matrices: run a whole test suite under each method.
pub const START_METHOD_ENV: &str = "MPROC_START_METHOD";

impl StartMethod {
    /// Every method, the default first (Python's `get_all_start_methods()`).
    pub const ALL: [StartMethod; 3] = [
        StartMethod::ForkServer,
        StartMethod::Fork,
        StartMethod::Spawn,
    ];

    /// Python's name for the method: `"fork"`, `"spawn"` or `"forkserver"`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            StartMethod::Fork => "fork",
            StartMethod::Spawn => "spawn",
            StartMethod::ForkServer => "forkserver",
        }
    }
}

impl std::fmt::Display for StartMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for StartMethod {
    type Err = StartMethodError;

    /// Parses Python's names (`fork`, `spawn`, `forkserver`).
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        StartMethod::ALL
            .into_iter()
            .find(|m| m.name() == name)
            .ok_or_else(|| StartMethodError::Unknown {
                name: name.to_owned(),
            })
    }
}

/// The program's start method, once fixed.
static CHOSEN: OnceLock<StartMethod> = OnceLock::new();

/// Sets the start method of every process this program starts without naming one (Python's
/// `multiprocessing.set_start_method`). Call it once, early in `main`: the method is fixed by
/// the first call, or by the first use of the default (a process started without a method, or
/// [`get_start_method`]), whichever comes first. It overrides `MPROC_START_METHOD`.
///
/// # Errors
/// [`StartMethodError::AlreadySet`] if the method was already fixed (Python's
/// `RuntimeError("context has already been set")`); the method in force does not change.
pub fn set_start_method(method: StartMethod) -> Result<(), StartMethodError> {
    CHOSEN
        .set(method)
        .map_err(|_| StartMethodError::AlreadySet {
            current: CHOSEN.get().copied().unwrap_or(method),
        })
}

/// The start method used for processes started without one (Python's
/// `multiprocessing.get_start_method()`): the one given to [`set_start_method`], else the
/// `MPROC_START_METHOD` environment variable's, else [`StartMethod::default`]. Asking fixes it.
///
/// # Errors
/// [`StartMethodError::Environment`] if `MPROC_START_METHOD` names no method (nothing is fixed
/// then).
pub fn get_start_method() -> Result<StartMethod, StartMethodError> {
    if let Some(method) = CHOSEN.get() {
        return Ok(*method);
    }
    let method = from_environment()?.unwrap_or_default();
    Ok(*CHOSEN.get_or_init(|| method))
}

/// The method named by the environment variable, if it is set and not empty.
fn from_environment() -> Result<Option<StartMethod>, StartMethodError> {
    let Some(value) = std::env::var_os(START_METHOD_ENV) else {
        return Ok(None);
    };
    if value.is_empty() {
        return Ok(None);
    }
    value
        .to_str()
        .and_then(|v| v.parse().ok())
        .map(Some)
        .ok_or_else(|| StartMethodError::Environment {
            value: value.to_string_lossy().into_owned(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_refused() {
        for method in StartMethod::ALL {
            assert_eq!(method.to_string().parse::<StartMethod>().unwrap(), method);
        }
        assert_eq!(StartMethod::ALL[0], StartMethod::default());
        match "threads".parse::<StartMethod>() {
            Err(StartMethodError::Unknown { name }) => assert_eq!(name, "threads"),
            other => panic!("{other:?}"),
        }
        assert!("Fork".parse::<StartMethod>().is_err(), "names are exact");
    }
}
