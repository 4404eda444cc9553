//! The client side: a [`Session`] is one process's connections to one manager, shared by
//! every proxy of that manager in the process.

use std::cell::RefCell;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use super::error::ManagerError;
use super::protocol::{Request, Response};
use crate::connection::{Address, Auth, Client, Connection, Options};

/// How long a proxy call waits for the manager by default (connect, send and answer each).
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// One connection to a manager, made on first use and remade after an error or a fork.
pub(crate) struct Session {
    address: Address,
    /// `None` for a session made for a proxy that arrived: it authenticates as a session of
    /// this process that the user connected to the same address does, else with the program
    /// authkey.
    auth: Option<Auth>,
    timeout: Duration,
    /// The process that made this session.
    pid: u32,
    /// Random: with the pid, names this client to the server (see [`Session::client`]).
    nonce: u64,
    /// Idle connections and the pid that made each: a forked child never uses its parent's.
    /// A call takes one (or makes one) and puts it back after the answer, so a thread
    /// waiting in the server (`queue.get()`) never blocks the other threads.
    idle: Mutex<Vec<(u32, Connection)>>,
}

thread_local! {
    /// The live sessions this thread made, by address: proxies that arrive in this thread share
    /// the session of their manager, and learn its key from it. Per thread, not a process-wide
    /// lock, so a fork can never leave it held; entries made before a fork (another pid) are
    /// never used by the child, whose connection locks may have been held by a thread it lacks.
    static SESSIONS: RefCell<Vec<(Address, Weak<Session>)>> = const { RefCell::new(Vec::new()) };
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("address", &self.address)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// A session with a given key, registered so that proxies arriving later find it.
    pub(crate) fn new(address: Address, auth: Auth, timeout: Duration) -> Arc<Self> {
        Self::register(Self {
            address,
            auth: Some(auth),
            timeout,
            pid: std::process::id(),
            nonce: nonce(),
            idle: Mutex::new(Vec::new()),
        })
    }

    fn register(session: Self) -> Arc<Self> {
        let session = Arc::new(session);
        SESSIONS.with_borrow_mut(|sessions| {
            let pid = std::process::id();
            sessions.retain(|(_, weak)| weak.upgrade().is_some_and(|s| s.pid == pid));
            sessions.push((session.address.clone(), Arc::downgrade(&session)));
        });
        session
    }

    pub(crate) fn address(&self) -> &Address {
        &self.address
    }

    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The key to authenticate with (see [`Session::auth`]'s field).
    pub(crate) fn auth(&self) -> Auth {
        if let Some(auth) = &self.auth {
            return auth.clone();
        }
        Self::mine(&self.address, |session| session.auth.clone()).unwrap_or(Auth::Program)
    }

    /// The session for a proxy that arrived: an existing one for its address, else a new one.
    pub(crate) fn arrived(address: &str, timeout: Duration) -> Result<Arc<Self>, String> {
        let address: Address = address.parse().map_err(|e| format!("{e}"))?;
        if let Some(session) = Self::mine(&address, |s| (s.timeout == timeout).then(|| s.clone())) {
            return Ok(session);
        }
        Ok(Self::register(Self {
            address,
            auth: None,
            timeout,
            pid: std::process::id(),
            nonce: nonce(),
            idle: Mutex::new(Vec::new()),
        }))
    }

    /// The first `Some` that `f` gives for a live session of this thread and process to
    /// `address`.
    fn mine<T>(address: &Address, mut f: impl FnMut(&Arc<Self>) -> Option<T>) -> Option<T> {
        let pid = std::process::id();
        SESSIONS.with_borrow(|sessions| {
            sessions
                .iter()
                .filter(|(a, _)| a == address)
                .filter_map(|(_, weak)| weak.upgrade())
                .filter(|s| s.pid == pid)
                .find_map(|s| f(&s))
        })
    }

    /// This process's id as a client of the manager: the server counts references and lock
    /// holders by it, and frees them when the last connection with it closes. Differs in a
    /// forked child, which shares this session's memory but not its connections.
    pub(crate) fn client(&self) -> u64 {
        let pid = u64::from(std::process::id());
        self.nonce ^ pid.wrapping_mul(0x9e37_79b9_7f4a_7c15)
    }

    /// Connects now if not connected (to report a wrong address or key early).
    pub(crate) fn connect(&self) -> Result<(), ManagerError> {
        let conn = self.take()?;
        self.put_back(conn);
        Ok(())
    }

    /// An idle connection of this process, or a new one (authenticated and introduced).
    fn take(&self) -> Result<Connection, ManagerError> {
        let pid = std::process::id();
        {
            let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
            // A forked child never uses its parent's connections; closing its copies of them
            // leaves the parent's open.
            idle.retain(|(owner, _)| *owner == pid);
            if let Some((_, conn)) = idle.pop() {
                return Ok(conn);
            }
        }
        let options = Options::new()
            .authkey(self.auth())
            .handshake_timeout(self.timeout);
        let conn = Client::connect_with(&self.address, &options)?;
        let hello = Request::Hello {
            client: self.client(),
        };
        conn.send_timeout(&hello, self.timeout)?;
        match conn.recv_timeout::<Response>(self.timeout)? {
            Response::Done => Ok(conn),
            Response::Failed(refusal) => Err(ManagerError::Remote(refusal)),
            _ => Err(ManagerError::UnexpectedResponse),
        }
    }

    fn put_back(&self, conn: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        idle.push((std::process::id(), conn));
    }

    /// One round trip. A transport error drops the connection (the next call makes another);
    /// a refusal by the server is [`ManagerError::Remote`].
    pub(crate) fn call(&self, request: &Request) -> Result<Response, ManagerError> {
        self.call_waiting(request, Some(Duration::ZERO))
    }

    /// One round trip for a request that may wait in the server up to `wait` (`None`: as long
    /// as it takes): the answer is awaited that long plus the call timeout.
    pub(crate) fn call_waiting(
        &self,
        request: &Request,
        wait: Option<Duration>,
    ) -> Result<Response, ManagerError> {
        let conn = self.take()?;
        let patience = wait.and_then(|w| w.checked_add(self.timeout));
        let answer = conn.send_timeout(request, self.timeout).and_then(|()| {
            match patience {
                Some(patience) => conn.recv_timeout::<Response>(patience),
                // Ends when the answer comes or the manager is gone (the connection ends).
                None => conn.recv::<Response>(),
            }
        });
        match answer {
            Ok(response) => {
                self.put_back(conn);
                match response {
                    Response::Failed(refusal) => Err(ManagerError::Remote(refusal)),
                    response => Ok(response),
                }
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// A random number (falls back to the clock, which is only less unique, never unsafe).
fn nonce() -> u64 {
    crate::sys::random::bytes::<8>().map_or_else(
        |_| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        },
        u64::from_ne_bytes,
    )
}
