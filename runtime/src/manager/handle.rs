//! A [`Handle`] is a session plus an object id and one reference to the object: the part of
//! a proxy that travels, built-in or custom ([`ObjectHandle`](super::ObjectHandle) wraps
//! one). Clones in one process share the reference; the last one dropped gives it back to the
//! manager (see [`super::refs`] for references in transit).

use std::cell::Cell;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::error::ManagerError;
use super::protocol::{Kind, Op, RefOp, Request, Response};
use super::session::Session;

/// A managed object: the session to its manager, its id and a reference. Serializes as the
/// manager's address, the id, the call timeout and a transit token (never a descriptor or a
/// key); a deserialized handle claims its reference on arrival and connects with the key of
/// a session of this thread to the same address, else the program authkey.
#[derive(Clone)]
pub(crate) struct Handle {
    pub(crate) session: Arc<Session>,
    pub(crate) id: u64,
    pub(crate) kind: Kind,
    /// Kept for its `Drop`: the last clone gives the reference back.
    _reference: Arc<Held>,
}

/// One reference of this process to an object, given back when dropped.
struct Held {
    session: Arc<Session>,
    id: u64,
    /// The process that holds it (`None`: the claim failed, nothing to give back): a forked
    /// child's copy gives nothing back, its parent's reference is not its own.
    pid: Option<u32>,
}

impl Drop for Held {
    fn drop(&mut self) {
        if self.pid == Some(std::process::id()) {
            // A manager that is gone freed everything already.
            let _ = self
                .session
                .call(&Request::Ref(RefOp::Drop { id: self.id }));
        }
    }
}

thread_local! {
    /// Set while a value is encoded to be stored in the manager: a proxy inside it pins its
    /// object instead of minting a transit reference nobody would claim.
    static STORING: Cell<bool> = const { Cell::new(false) };
}

#[derive(Serialize, Deserialize)]
struct Wire {
    address: String,
    id: u64,
    kind: Kind,
    timeout_ms: u64,
    /// The transit reference to claim on arrival (`None`: pinned, or none could be made).
    token: Option<u64>,
}

impl Serialize for Handle {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (op, token) = if STORING.get() {
            (RefOp::Pin { id: self.id }, None)
        } else {
            let token =
                u64::from_ne_bytes(crate::sys::random::bytes().map_err(|e| {
                    serde::ser::Error::custom(format!("no random transit token: {e}"))
                })?);
            (RefOp::Mint { id: self.id, token }, Some(token))
        };
        // A manager that cannot be reached: the copy holds no reference and its calls will
        // report the manager's state when they are made.
        let token = self.session.call(&Request::Ref(op)).ok().and(token);
        Wire {
            address: self.session.address().to_string(),
            id: self.id,
            kind: self.kind,
            timeout_ms: u64::try_from(self.session.timeout().as_millis()).unwrap_or(u64::MAX),
            token,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Handle {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let wire = Wire::deserialize(deserializer)?;
        let timeout = Duration::from_millis(wire.timeout_ms);
        let session = Session::arrived(&wire.address, timeout).map_err(serde::de::Error::custom)?;
        let claim = RefOp::Claim {
            id: wire.id,
            token: wire.token,
        };
        let claimed = session.call(&Request::Ref(claim)).is_ok();
        Ok(Self::with_reference(session, wire.id, wire.kind, claimed))
    }
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field("manager", self.session.address())
            .field("id", &self.id)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
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
        let created = session.call(&Request::Create {
            kind,
            entries,
            items,
        })?;
        Self::created(session, kind, &created)
    }

    /// The handle of an object the manager just created for this process (`created` is its
    /// answer), holding the creator's reference.
    pub(crate) fn created(
        session: &Arc<Session>,
        kind: Kind,
        created: &Response,
    ) -> Result<Self, ManagerError> {
        match *created {
            Response::Created(id) => Ok(Self::with_reference(Arc::clone(session), id, kind, true)),
            _ => Err(ManagerError::UnexpectedResponse),
        }
    }

    fn with_reference(session: Arc<Session>, id: u64, kind: Kind, held: bool) -> Self {
        let held = Arc::new(Held {
            session: Arc::clone(&session),
            id,
            pid: held.then(std::process::id),
        });
        Self {
            session,
            id,
            kind,
            _reference: held,
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

/// Encodes a value sent to the manager (a proxy inside it pins its object there).
pub(crate) fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, ManagerError> {
    let outer = STORING.replace(true);
    let encoded = postcard::to_stdvec(value).map_err(ManagerError::Encode);
    STORING.set(outer);
    encoded
}

pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ManagerError> {
    postcard::from_bytes(bytes).map_err(ManagerError::Decode)
}
