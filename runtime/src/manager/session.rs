//! The client side: a [`Session`] is one process's connection to one manager, shared by every
//! proxy of that manager in the process; a [`Handle`] is a session plus an object id, the part
//! of a proxy that travels.

use std::cell::RefCell;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::error::ManagerError;
use super::protocol::{Kind, Op, Request, Response};
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
    /// The connection and the pid that made it: a forked child never uses its parent's.
    conn: Mutex<Option<(u32, Connection)>>,
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
            conn: Mutex::new(None),
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
            conn: Mutex::new(None),
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

    /// Connects now if not connected (to report a wrong address or key early).
    pub(crate) fn connect(&self) -> Result<(), ManagerError> {
        let mut slot = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        self.connected(&mut slot).map(|_| ())
    }

    fn connected<'a>(
        &self,
        slot: &'a mut Option<(u32, Connection)>,
    ) -> Result<&'a Connection, ManagerError> {
        let pid = std::process::id();
        if slot.as_ref().is_some_and(|(owner, _)| *owner != pid) {
            *slot = None;
        }
        if slot.is_none() {
            let options = Options::new()
                .authkey(self.auth())
                .handshake_timeout(self.timeout);
            *slot = Some((pid, Client::connect_with(&self.address, &options)?));
        }
        match slot {
            Some((_, conn)) => Ok(conn),
            None => Err(ManagerError::UnexpectedResponse),
        }
    }

    /// One round trip. A transport error drops the connection (the next call reconnects); a
    /// refusal by the server is [`ManagerError::Remote`].
    pub(crate) fn call(&self, request: &Request) -> Result<Response, ManagerError> {
        let mut slot = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        let conn = self.connected(&mut slot)?;
        let answer = conn
            .send_timeout(request, self.timeout)
            .and_then(|()| conn.recv_timeout::<Response>(self.timeout));
        match answer {
            Ok(Response::Failed(refusal)) => Err(ManagerError::Remote(refusal)),
            Ok(response) => Ok(response),
            Err(e) => {
                *slot = None;
                Err(e.into())
            }
        }
    }
}

/// A managed object: the session to its manager and its id. Serializes as the manager's
/// address, the id and the call timeout (never a descriptor or a key); a deserialized handle
/// connects on first use with the program authkey.
#[derive(Clone)]
pub(crate) struct Handle {
    pub(crate) session: Arc<Session>,
    pub(crate) id: u64,
    pub(crate) kind: Kind,
}

#[derive(Serialize, Deserialize)]
struct Wire {
    address: String,
    id: u64,
    kind: Kind,
    timeout_ms: u64,
}

impl Serialize for Handle {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Wire {
            address: self.session.address.to_string(),
            id: self.id,
            kind: self.kind,
            timeout_ms: u64::try_from(self.session.timeout.as_millis()).unwrap_or(u64::MAX),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Handle {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let wire = Wire::deserialize(deserializer)?;
        let timeout = Duration::from_millis(wire.timeout_ms);
        let session = Session::arrived(&wire.address, timeout).map_err(serde::de::Error::custom)?;
        Ok(Self {
            session,
            id: wire.id,
            kind: wire.kind,
        })
    }
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field("manager", &self.session.address)
            .field("id", &self.id)
            .field("kind", &self.kind)
            .finish()
    }
}

impl Handle {
    /// Creates an object on the manager.
    pub(crate) fn create(
        session: &Arc<Session>,
        kind: Kind,
        entries: Vec<(Vec<u8>, Vec<u8>)>,
        items: Vec<Vec<u8>>,
    ) -> Result<Self, ManagerError> {
        match session.call(&Request::Create {
            kind,
            entries,
            items,
        })? {
            Response::Created(id) => Ok(Self {
                session: Arc::clone(session),
                id,
                kind,
            }),
            _ => Err(ManagerError::UnexpectedResponse),
        }
    }

    pub(crate) fn call(&self, op: Op) -> Result<Response, ManagerError> {
        self.session.call(&Request::Call {
            id: self.id,
            kind: self.kind,
            op,
        })
    }

    pub(crate) fn bytes(&self, op: Op) -> Result<Option<Vec<u8>>, ManagerError> {
        match self.call(op)? {
            Response::Bytes(bytes) => Ok(bytes),
            _ => Err(ManagerError::UnexpectedResponse),
        }
    }

    pub(crate) fn done(&self, op: Op) -> Result<(), ManagerError> {
        match self.call(op)? {
            Response::Done => Ok(()),
            _ => Err(ManagerError::UnexpectedResponse),
        }
    }

    pub(crate) fn len(&self) -> Result<usize, ManagerError> {
        match self.call(Op::Len)? {
            Response::Len(n) => usize::try_from(n).map_err(|_| ManagerError::UnexpectedResponse),
            _ => Err(ManagerError::UnexpectedResponse),
        }
    }

    pub(crate) fn items(&self, op: Op) -> Result<Vec<Vec<u8>>, ManagerError> {
        match self.call(op)? {
            Response::Items(items) => Ok(items),
            _ => Err(ManagerError::UnexpectedResponse),
        }
    }

    /// Atomic read-modify-write of the entry under `key`, by compare-and-swap: `f` runs here,
    /// in the caller, on the current value, and its result is stored only if the entry is
    /// still what `f` saw; otherwise `f` runs again on the newer value.
    pub(crate) fn update_with<V: Serialize + DeserializeOwned>(
        &self,
        key: &[u8],
        mut f: impl FnMut(Option<V>) -> Result<V, ManagerError>,
    ) -> Result<V, ManagerError> {
        const ATTEMPTS: u32 = 10_000;
        let mut current = self.bytes(Op::Get(key.to_vec()))?;
        for _ in 0..ATTEMPTS {
            let old = current.as_deref().map(decode::<V>).transpose()?;
            let new = f(old)?;
            let new_bytes = encode(&new)?;
            match self.call(Op::CompareAndSwap {
                key: key.to_vec(),
                expected: current,
                new: Some(new_bytes),
            })? {
                Response::Swapped { swapped: true, .. } => return Ok(new),
                Response::Swapped {
                    swapped: false,
                    current: now,
                } => current = now,
                _ => return Err(ManagerError::UnexpectedResponse),
            }
        }
        Err(ManagerError::Contended { attempts: ATTEMPTS })
    }
}

pub(crate) fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, ManagerError> {
    postcard::to_stdvec(value).map_err(ManagerError::Encode)
}

pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ManagerError> {
    postcard::from_bytes(bytes).map_err(ManagerError::Decode)
}
