//! Managers: shared state held by a server process behind typed proxies, Python's
//! `multiprocessing.Manager()` — locally over a Unix socket, or across hosts over TCP, on
//! [`crate::connection`] and its authkey handshake.
//!
//! ```
//! use mproc::manager::Manager;
//!
//! # fn main() -> Result<(), mproc::manager::ManagerError> {
//! let manager = Manager::start()?;
//! let counts = manager.dict::<String, u64>()?;
//! counts.add(&"apple".to_owned(), 2)?;          // atomic, in the manager
//! counts.add(&"apple".to_owned(), 3)?;
//! assert_eq!(counts.get(&"apple".to_owned())?, Some(5));
//! let log = manager.list::<String>()?;
//! log.push(&"hello".to_owned())?;
//! assert_eq!(log.snapshot()?, ["hello"]);
//! manager.shutdown()?;
//! # Ok(())
//! # }
//! ```
//!
//! # Proxies
//! [`DictProxy`], [`ListProxy`], [`ValueProxy`] and [`NamespaceProxy`] are cheap to clone
//! (one connection per manager per process, shared) and serializable: give them to processes,
//! pool tasks, queues, or store them inside another managed object. A proxy serializes as the
//! manager's address and the object's id — never a descriptor or a key — and connects on
//! first use in the receiving process: with the key of a [`Manager::connect`] that the
//! calling thread made to the same address, else with the program authkey (as Python's
//! proxies do). So a proxy of a manager with its own key works in a process that connected to
//! it with that key (from the thread that uses the proxy).
//!
//! Locally, mproc's shared-memory [`Value`](crate::Value), [`Lock`](crate::Lock),
//! [`Queue`](crate::Queue) and friends are much faster than any manager (no round trip) and
//! travel between processes themselves; a manager is for dict/list-shaped state and for
//! processes that share no memory, such as another host. For those, the `SyncManager` types
//! are proxies too — [`LockProxy`], [`QueueProxy`] and the rest, see [`Manager::lock`] and
//! the module `sync`'s notes on waiting and on clients that die (in [`LockProxy`]'s docs).
//! [`SharedMemoryManager`] unlinks the named blocks made through it when it shuts down.
//!
//! # Custom objects
//! Python's `BaseManager.register('Counter', Counter)`, checked by the compiler:
//! [`#[managed]`](crate::managed) on a type's `impl` block generates a proxy with the same
//! methods, each one round trip in which the manager runs the method on its object. Register
//! the type ([`Manager::builder`], or [`Server::register`] for a server you run yourself), then
//! [`Manager::create`] makes an object:
//!
//! ```
//! use mproc::manager::Manager;
//!
//! struct Counter {
//!     n: u64,
//! }
//!
//! #[mproc::managed]
//! impl Counter {
//!     pub fn new(start: u64) -> Self {
//!         Self { n: start }
//!     }
//!
//!     pub fn add(&mut self, by: u64) -> u64 {
//!         self.n += by;
//!         self.n
//!     }
//! }
//!
//! # fn main() -> Result<(), mproc::manager::ManagerError> {
//! let manager = Manager::builder().register::<Counter>().start()?;
//! let counter: CounterProxy = manager.create::<Counter>(10)?; // runs `Counter::new(10)` there
//! assert_eq!(counter.add(5)?, 15);
//! manager.shutdown()
//! # }
//! ```
//!
//! Calls to one object run one at a time, so `&mut self` methods need no lock (Python runs
//! them concurrently). A method's own error (`Result<_, E>`) arrives typed inside the proxy's
//! `Result`; a method that panics fails its call with [`ObjectError::Panicked`], and the manager
//! and the object keep serving (the object keeps what the method changed before it panicked).
//! A call names its method by a stable id ([`method_id`]: a hash of the type's and the method's
//! names), so a client and a server built separately from the same source interoperate. The
//! manager decodes each call's arguments as the method's exact types: anything else a peer
//! sends (an unknown method id, missing or extra bytes) is an [`ObjectError`] for that call.
//!
//! A custom object lives as long as a proxy of it exists in some process, as in Python's
//! `BaseManager`, and exactly as the built-in objects do (see [Lifetime](#lifetime)): the
//! process that created it holds one reference, shared by the proxy's clones; a proxy sent to
//! another process (as a process argument, through a queue, as a method's argument or result)
//! holds a reference in transit that the receiving process takes over when it deserializes
//! it; a process that exits or is killed gives its references back when its connections
//! close. When the last reference is gone the manager drops the object: its `Drop` runs in
//! the manager process, outside the manager's locks (so it may use proxies itself; a panic
//! there is caught), and [`Manager::number_of_objects`] no longer counts it. A proxy that
//! still names a freed object (forged, or kept serialized without its reference) gets
//! [`ObjectError::UnknownObject`]. Objects still alive when the manager stops are dropped
//! then. Custom and built-in objects share one id space.
//!
//! # Atomic updates
//! Python's `d[k] += 1` reads and writes in two round trips (updates are lost under
//! contention), and `d[k].append(x)` mutates a copy (the write is lost). mproc offers:
//! - typed operations run by the manager in one round trip: [`DictProxy::add`] and
//!   [`ValueProxy::add`] on integers ([`ManagedInt`], checked for overflow),
//!   [`DictProxy::append`] on a `Vec<T>` value (the manager appends to the encoded sequence
//!   without knowing `T`);
//! - [`DictProxy::update_with`] and [`ValueProxy::update_with`] for anything else: the
//!   closure runs in the caller and the manager stores its result by compare-and-swap on the
//!   encoded bytes, retrying on conflict. No code address ever travels to the manager, so a
//!   peer — even one on another host — cannot make the server call anything it chose
//!   (see [`crate::trust`]).
//!
//! # How values are stored
//! The server stores keys and values as opaque postcard bytes keyed by object id; it never
//! knows `K` or `V`. A dict key is the postcard encoding of `K`, which is deterministic for a
//! given value of a given type (avoid keys containing `HashMap`/`HashSet`, whose encoding
//! follows iteration order). Entries are therefore ordered by encoded key, not by insertion.
//!
//! # Lifetime
//! Objects, built-in and custom, are reference-counted per client process, as in Python: the
//! clones of a proxy in one process share one reference, a proxy that travels to another
//! process holds a reference in transit until it arrives, and an object is freed when no
//! process refers to it any more ([`Manager::number_of_objects`] shows it). A client process
//! that is gone — exited, killed, or every connection it had broke — drops its references
//! with it, and the locks its threads held are released. A proxy stored inside a dict, list,
//! value or namespace keeps its object until the manager stops (the manager never looks
//! inside stored values), and a serialized proxy that is never deserialized keeps its
//! transit reference that long too. A proxy that a custom object holds (given to its `new`
//! or to a method) is a reference of the manager's own process, given back when that object
//! is dropped. The manager connects to itself for it with the program authkey: in a
//! [`Server`] bound with another key such a proxy cannot claim its reference or call, and its
//! object stays until the server stops.
//!
//! # Limits and failures
//! - Every call waits at most the call timeout ([`DEFAULT_CALL_TIMEOUT`], see
//!   [`Manager::set_timeout`]) and then fails with [`ManagerError::Connection`]; a manager
//!   that died fails calls at once (the connection ends, and reconnecting is refused).
//! - A request above the server's limit ([`DEFAULT_MAX_REQUEST_LEN`]) is refused before
//!   anything is allocated for it, and that client's connection is closed; garbage, an unknown
//!   object id or operation, or a wrong kind is a [`RemoteError`] to that client only. The
//!   server serves at most [`DEFAULT_MAX_CONNECTIONS`] connections at once. A wrong authkey is
//!   refused by the handshake, before any request is read.
//! - What the server stores is bounded only by what authenticated clients send: a peer with
//!   the key can fill its memory with well-formed requests, as in Python (see
//!   [`crate::trust`], "What is not defended").
//! - A manager started with [`Manager::start`] is a daemon child: it ends with its owner,
//!   however the owner ends, and [`Manager::shutdown`] (or dropping the `Manager`) stops it.

mod error;
mod handle;
pub(crate) mod object;
mod protocol;
mod proxy;
mod refs;
mod registry;
mod server;
mod session;
mod shm;
mod store;
mod sync;
mod value;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

pub use error::{ManagerError, RemoteError};
pub use mproc_macros::managed;
pub use object::{ManagedObject, MethodId, ObjectError, ObjectHandle, method_id};
pub use protocol::{IntKind, Kind};
pub use proxy::{DictProxy, ListProxy};
pub use registry::{Builder, TypeList};
pub use server::{DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_REQUEST_LEN, HANDSHAKE_TIMEOUT, Server};
pub use session::DEFAULT_CALL_TIMEOUT;
pub use shm::SharedMemoryManager;
pub use sync::{
    BarrierProxy, ConditionProxy, EventProxy, JoinableQueueProxy, LockGuard, LockProxy, QueueProxy,
    RLockProxy, SemaphoreProxy,
};
pub use value::{ManagedInt, NamespaceProxy, ValueProxy};

use crate::connection::{Address, Auth, ToAddress};
use crate::pipe::Sender;
use crate::{Child, Pipe, Process, StartMethod};
use handle::{Handle, encode};
use protocol::Request;
use session::Session;

/// How long [`Manager::start`] waits for the server process to listen, and
/// [`Manager::shutdown`] for it to end.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A connection to a manager server, and the server process itself if this handle started it
/// (Python's `SyncManager`). Makes the proxies.
#[derive(Debug)]
pub struct Manager {
    session: Arc<Session>,
    server: Option<Child<()>>,
}

#[allow(
    clippy::needless_pass_by_value,
    reason = "a process target takes its argument by value: it arrives deserialized"
)]
/// Runs in the manager's process: listens on a fresh abstract name with the types of `L`
/// registered, reports the name, serves.
fn manager_process<L: TypeList>(report: Sender<Result<String, String>>) {
    let name = format!(
        "@mproc-manager-{}-{:x}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos())
    );
    match Server::bind(name.as_str(), Auth::Program).and_then(Server::register_list::<L>) {
        Ok(server) => {
            if report.send(&Ok(server.address().to_string())).is_ok() {
                // Nothing can fail after setup; a failed report means the owner is gone.
                let _ = server.serve_forever();
            }
        }
        Err(e) => {
            let _ = report.send(&Err(e.to_string()));
        }
    }
}

impl Manager {
    /// Starts a manager server in a daemon child process (the default start method) and
    /// connects to it, over an abstract Unix socket, with the program authkey.
    ///
    /// # Errors
    /// [`ManagerError::Spawn`] if the process cannot start; [`ManagerError::Start`] if it does
    /// not listen within 30 s; [`ManagerError::Connection`] if connecting fails.
    pub fn start() -> Result<Self, ManagerError> {
        Self::start_listing::<()>(None)
    }

    /// A manager that can also hold custom objects: register their types, then start it
    /// (Python's `BaseManager` subclass with `register` calls). See [`Builder`] and
    /// [`create`](Self::create).
    #[must_use]
    pub fn builder() -> Builder<()> {
        Builder::new()
    }

    /// [`start`](Self::start) with a given start method.
    ///
    /// # Errors
    /// As [`start`](Self::start).
    pub fn start_method(method: StartMethod) -> Result<Self, ManagerError> {
        Self::start_listing::<()>(Some(method))
    }

    /// Starts a server that knows the types of `L`.
    fn start_listing<L: TypeList>(method: Option<StartMethod>) -> Result<Self, ManagerError> {
        let start = |e: crate::PipeError| ManagerError::Start(e.to_string());
        let (rx, tx) = Pipe::<Result<String, String>>::simplex().map_err(start)?;
        let mut process = Process::new(manager_process::<L>, tx).daemon(true);
        if let Some(method) = method {
            process = process.start_method(method);
        }
        let child = process.start()?;
        let address = match rx.recv_timeout(START_TIMEOUT) {
            Ok(Ok(address)) => address,
            Ok(Err(reason)) => return Err(ManagerError::Start(reason)),
            Err(e) => {
                let _ = child.kill();
                let _ = child.join_timeout(START_TIMEOUT);
                return Err(start(e));
            }
        };
        let session = Session::new(
            address.as_str().to_address()?,
            Auth::Program,
            DEFAULT_CALL_TIMEOUT,
        );
        let manager = Self {
            session,
            server: Some(child),
        };
        manager.session.connect()?;
        Ok(manager)
    }

    /// Serves a manager in this process until a client calls [`shutdown`](Self::shutdown)
    /// (Python's `manager.get_server().serve_forever()`); see [`Server`] to learn the address
    /// first, for `"127.0.0.1:0"`.
    ///
    /// # Errors
    /// [`ManagerError::Connection`] if `address` cannot be bound.
    pub fn serve(address: impl ToAddress, authkey: impl Into<Auth>) -> Result<(), ManagerError> {
        Server::bind(address, authkey)?.serve_forever()
    }

    /// Connects to a running manager (Python's `manager.connect()`), local or remote.
    ///
    /// # Errors
    /// [`ManagerError::Connection`]: the address is invalid, nobody listens, or the authkey
    /// is refused.
    pub fn connect(
        address: impl ToAddress,
        authkey: impl Into<Auth>,
    ) -> Result<Self, ManagerError> {
        let session = Session::new(address.to_address()?, authkey.into(), DEFAULT_CALL_TIMEOUT);
        session.connect()?;
        Ok(Self {
            session,
            server: None,
        })
    }

    /// Sets how long each call of the proxies made from now on waits for the manager
    /// (default [`DEFAULT_CALL_TIMEOUT`]).
    ///
    /// # Errors
    /// [`ManagerError::Connection`] if reconnecting with the new timeout fails.
    pub fn set_timeout(&mut self, timeout: Duration) -> Result<(), ManagerError> {
        let address = self.session.address().clone();
        let session = Session::new(address, self.auth(), timeout);
        session.connect()?;
        self.session = session;
        Ok(())
    }

    fn auth(&self) -> Auth {
        self.session.auth()
    }

    /// The manager's address (Python's `manager.address`).
    #[must_use]
    pub fn address(&self) -> &Address {
        self.session.address()
    }

    /// The server process's pid, if this handle started it.
    #[must_use]
    pub fn pid(&self) -> Option<i32> {
        self.server.as_ref().map(Child::pid)
    }

    /// A new, empty dict (Python's `manager.dict()`).
    ///
    /// # Errors
    /// [`ManagerError::Connection`] if the manager cannot be reached in time.
    pub fn dict<K, V>(&self) -> Result<DictProxy<K, V>, ManagerError> {
        Handle::create(&self.session, Kind::Dict, Vec::new(), Vec::new())
            .map(DictProxy::from_handle)
    }

    /// A new, empty list (Python's `manager.list()`).
    ///
    /// # Errors
    /// As [`dict`](Self::dict).
    pub fn list<T>(&self) -> Result<ListProxy<T>, ManagerError> {
        Handle::create(&self.session, Kind::List, Vec::new(), Vec::new())
            .map(ListProxy::from_handle)
    }

    /// A new value holding `initial` (Python's `manager.Value(typecode, initial)`).
    ///
    /// # Errors
    /// As [`dict`](Self::dict); [`ManagerError::Encode`] if `initial` cannot be serialized.
    pub fn value<T: serde::Serialize>(&self, initial: &T) -> Result<ValueProxy<T>, ManagerError> {
        let entries = vec![(Vec::new(), encode(initial)?)];
        Handle::create(&self.session, Kind::Single, entries, Vec::new())
            .map(ValueProxy::from_handle)
    }

    /// A new, empty namespace (Python's `manager.Namespace()`).
    ///
    /// # Errors
    /// As [`dict`](Self::dict).
    pub fn namespace(&self) -> Result<NamespaceProxy, ManagerError> {
        Handle::create(&self.session, Kind::Namespace, Vec::new(), Vec::new())
            .map(NamespaceProxy::from_handle)
    }

    /// A new custom object of a type the manager registered (Python's `manager.Counter(..)`
    /// for a registered `Counter`), made in the manager from `init`: the arguments of the
    /// type's `fn new` (`()` for none, a tuple for several), or the value itself for a type
    /// without `new`. Returns the proxy `#[managed]` generated.
    ///
    /// # Errors
    /// [`ManagerError::Connection`] if the manager cannot be reached in time;
    /// [`ManagerError::Encode`] if `init` cannot be serialized; [`ManagerError::Remote`] with
    /// [`ObjectError::UnknownType`] if the manager did not register `T`, or
    /// [`ObjectError::Panicked`] if `new` panicked.
    #[allow(
        clippy::needless_pass_by_value,
        reason = "`init` is the constructor's arguments, given as a call gives them"
    )]
    pub fn create<T: ManagedObject>(&self, init: T::Init) -> Result<T::Proxy, ManagerError> {
        ObjectHandle::create::<T>(&self.session, &init).map(T::proxy)
    }

    /// How many objects the manager holds now, built-in and custom, for every client
    /// (Python's `manager._number_of_objects()`): objects are freed when every proxy of them,
    /// in every process, is dropped, or when the processes holding them are gone.
    ///
    /// # Errors
    /// [`ManagerError::Connection`] if the manager cannot be reached in time.
    pub fn number_of_objects(&self) -> Result<u64, ManagerError> {
        match self.session.call(&Request::Count)? {
            protocol::Response::Len(n) => Ok(n),
            _ => Err(ManagerError::UnexpectedResponse),
        }
    }

    /// Stops the server (every client's later calls fail), and waits for its process if this
    /// handle started it.
    ///
    /// # Errors
    /// [`ManagerError::Connection`] if the server cannot be reached;
    /// [`ManagerError::Process`] if the server process failed or did not end within 30 s (it
    /// is then killed).
    pub fn shutdown(mut self) -> Result<(), ManagerError> {
        self.stop()
    }

    fn stop(&mut self) -> Result<(), ManagerError> {
        let asked = self.session.call(&Request::Shutdown).map(|_| ());
        let Some(child) = self.server.take() else {
            return asked;
        };
        match child.join_timeout(START_TIMEOUT) {
            Ok(()) => Ok(()),
            Err(e) => {
                let _ = child.kill();
                let _ = child.join_timeout(START_TIMEOUT);
                asked.and(Err(e.into()))
            }
        }
    }
}

impl Drop for Manager {
    /// Stops a server this handle started (as Python's manager finalizer does).
    fn drop(&mut self) {
        if self.server.is_some() {
            let _ = self.stop();
        }
    }
}
