//! [`Server`]: accepts authenticated connections and serves each on its own thread.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::Duration;

use super::error::{ManagerError, RemoteError};
use super::object::{ManagedObject, ObjectRequest};
use super::protocol::{Request, Response};
use super::registry::{Objects, TypeList};
use super::store::Store;
use super::sync::Owner;
use crate::connection::{Address, Auth, Connection, ConnectionError, Listener, Options, ToAddress};

/// The default largest request a server accepts: 16 MiB. A longer one is refused, before
/// anything is allocated for it, by closing that client's connection (its proxy reports
/// [`ManagerError::Connection`]).
pub const DEFAULT_MAX_REQUEST_LEN: u64 = 16 << 20;

/// The default number of connections a server serves at once: 256. One more is answered with
/// [`RemoteError::TooManyConnections`] and closed.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 256;

/// How long an authentication handshake may take (a client that connects and says nothing
/// holds one of the server's acceptor threads this long).
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// How long the rest of a request may take to arrive once it started, and how long a
/// response may wait for the client to read it.
const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// How often idle threads look at the stop flag.
const POLL: Duration = Duration::from_millis(200);

/// Threads accepting connections: a client stalling its handshake blocks only one of them.
const ACCEPTORS: usize = 4;

/// A manager server: Python's `manager.get_server()`. Bind it, read its
/// [`address`](Self::address), then [`serve_forever`](Self::serve_forever) until a client
/// calls [`Manager::shutdown`](super::Manager::shutdown).
pub struct Server {
    listener: Arc<Listener>,
    store: Arc<Mutex<Store>>,
    objects: Objects,
    stop: Arc<AtomicBool>,
    max_request_len: u64,
    max_connections: u32,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("address", self.listener.address())
            .field("max_request_len", &self.max_request_len)
            .field("max_connections", &self.max_connections)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Listens on `address` (`"127.0.0.1:0"`, a socket path, `"@abstract-name"`); clients must
    /// prove `authkey` ([`Auth::Program`] is the program's authkey, as Python's default).
    ///
    /// # Errors
    /// [`ManagerError::Connection`] if the address is invalid or cannot be bound.
    pub fn bind(address: impl ToAddress, authkey: impl Into<Auth>) -> Result<Self, ManagerError> {
        let options = Options::new()
            .authkey(authkey)
            .handshake_timeout(HANDSHAKE_TIMEOUT);
        Ok(Self {
            listener: Arc::new(Listener::bind_with(address, options)?),
            store: Arc::default(),
            objects: Objects::default(),
            stop: Arc::default(),
            max_request_len: DEFAULT_MAX_REQUEST_LEN,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        })
    }

    /// The address clients connect to (with the port chosen, for `"127.0.0.1:0"`).
    #[must_use]
    pub fn address(&self) -> &Address {
        self.listener.address()
    }

    /// Sets the largest request accepted (default [`DEFAULT_MAX_REQUEST_LEN`]).
    #[must_use]
    pub fn max_request_len(mut self, max: u64) -> Self {
        self.max_request_len = max;
        self
    }

    /// Lets clients create `T`s (Python's `BaseManager.register('T', T)`), under
    /// [`ManagedObject::NAME`]; see [`Manager::create`](super::Manager::create).
    ///
    /// # Errors
    /// [`ManagerError::DuplicateName`] if another type was registered under that name.
    pub fn register<T: ManagedObject>(mut self) -> Result<Self, ManagerError> {
        self.objects.register::<T>()?;
        Ok(self)
    }

    /// Registers every type of a [`Builder`](super::Builder)'s list.
    pub(crate) fn register_list<L: TypeList>(mut self) -> Result<Self, ManagerError> {
        L::register_all(&mut self.objects)?;
        Ok(self)
    }

    /// Sets how many connections are served at once (default [`DEFAULT_MAX_CONNECTIONS`]).
    #[must_use]
    pub fn max_connections(mut self, max: u32) -> Self {
        self.max_connections = max;
        self
    }

    /// Serves until a client asks for shutdown. Every connection is served on its own thread;
    /// a client that sends garbage, too much or dies mid-request loses only its own
    /// connection (or gets a [`RemoteError`]), never the server.
    ///
    /// # Errors
    /// None today: failures are per connection. The `Result` leaves room for setup errors.
    pub fn serve_forever(self) -> Result<(), ManagerError> {
        let objects = Arc::new(self.objects);
        let active = Arc::new(AtomicU32::new(0));
        let served = Arc::new(Mutex::new(Vec::new()));
        let acceptors: Vec<_> = (0..ACCEPTORS)
            .map(|_| {
                let listener = Arc::clone(&self.listener);
                let shared = Shared {
                    store: Arc::clone(&self.store),
                    objects: Arc::clone(&objects),
                    stop: Arc::clone(&self.stop),
                    active: Arc::clone(&active),
                    served: Arc::clone(&served),
                    max_request_len: self.max_request_len,
                    max_connections: self.max_connections,
                };
                thread::spawn(move || accept_loop(&listener, &shared))
            })
            .collect();
        for acceptor in acceptors {
            // An acceptor only ends when told to stop; a panic there would be a bug, and the
            // others still stop, so the server does too.
            let _ = acceptor.join();
        }
        // Then the connection threads: each ends within `POLL` of the stop (or when its
        // request in progress completes), so no request is served after this returns.
        let served = std::mem::take(&mut *served.lock().unwrap_or_else(PoisonError::into_inner));
        for thread in served {
            let _ = thread.join();
        }
        // Then the shared-memory blocks a `SharedMemoryManager` created through this server.
        let tracked = self
            .store
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take_tracked();
        for name in tracked {
            // Already unlinked by someone else: nothing left to do.
            let _ = crate::shared_memory::SharedMemory::unlink_name(&name);
        }
        Ok(())
    }
}

/// What every serving thread shares.
#[derive(Clone)]
struct Shared {
    store: Arc<Mutex<Store>>,
    objects: Arc<Objects>,
    stop: Arc<AtomicBool>,
    active: Arc<AtomicU32>,
    /// The connection threads, joined when the server stops.
    served: Arc<Mutex<Vec<thread::JoinHandle<()>>>>,
    max_request_len: u64,
    max_connections: u32,
}

// Memory ordering: `stop` and `active` publish no other data (the store has its own mutex), so
// `Relaxed` suffices; `stop` is polled at least every `POLL`.

fn accept_loop(listener: &Listener, shared: &Shared) {
    while !shared.stop.load(Ordering::Relaxed) {
        // A timeout, a failed handshake (wrong key: refused before any payload), a peer that
        // left: nothing to serve; keep accepting.
        let Ok(mut conn) = listener.accept_timeout(POLL) else {
            continue;
        };
        conn.set_max_message_len(shared.max_request_len);
        if shared.active.fetch_add(1, Ordering::Relaxed) >= shared.max_connections {
            shared.active.fetch_sub(1, Ordering::Relaxed);
            let refusal = Response::Failed(RemoteError::TooManyConnections {
                limit: shared.max_connections,
            });
            let _ = conn.send_timeout(&refusal, POLL);
            continue;
        }
        let mine = shared.clone();
        let spawned = thread::Builder::new()
            .name("mproc-manager-conn".into())
            .spawn(move || {
                serve_connection(&conn, &mine);
                mine.active.fetch_sub(1, Ordering::Relaxed);
            });
        match spawned {
            Ok(thread) => {
                let mut served = shared.served.lock().unwrap_or_else(PoisonError::into_inner);
                served.retain(|t| !t.is_finished());
                served.push(thread);
            }
            // No thread for it: the connection was moved into the closure and is dropped.
            Err(_) => {
                shared.active.fetch_sub(1, Ordering::Relaxed);
            }
        }
    }
}

/// Serves one client until it leaves, breaks the protocol's framing, or the server stops;
/// then, if that was the client's last connection, frees what it held.
fn serve_connection(conn: &Connection, shared: &Shared) {
    let mut client = None;
    serve_requests(conn, shared, &mut client);
    if let Some(client) = client {
        let freed = lock(shared).left(client);
        drop(freed);
    }
}

fn serve_requests(conn: &Connection, shared: &Shared, client: &mut Option<u64>) {
    while !shared.stop.load(Ordering::Relaxed) {
        match conn.poll(Some(POLL)) {
            Ok(true) => {}
            Ok(false) => continue,
            Err(_) => return,
        }
        let request = conn.recv_timeout::<Request>(IO_TIMEOUT);
        if shared.stop.load(Ordering::Relaxed) {
            // Shut down while this request arrived: not served, the client sees the end.
            return;
        }
        let (response, keep) = match request {
            Ok(request) => answer(request, conn, shared, client),
            // Garbage, an unknown operation or a wrong argument type: the frame was bounded
            // and consumed; only this client hears about it.
            Err(ConnectionError::Decode(_)) => (Response::Failed(RemoteError::Malformed), true),
            // A request above the limit (refused before anything was allocated for it: the
            // stream is now out of step), a client that left or stalled mid-request: drop
            // its connection only.
            Err(_) => return,
        };
        if keep && shared.stop.load(Ordering::Relaxed) {
            // Stopped while this request waited: its answer says only that the wait was cut
            // short; the client sees the connection end instead.
            return;
        }
        if conn.send_timeout(&response, IO_TIMEOUT).is_err() || !keep {
            return;
        }
    }
}

/// The answer to one request, and whether to keep serving this connection.
fn answer(
    request: Request,
    conn: &Connection,
    shared: &Shared,
    client: &mut Option<u64>,
) -> (Response, bool) {
    let me = client.unwrap_or(0);
    let response = match request {
        Request::Shutdown => {
            shared.stop.store(true, Ordering::Relaxed);
            return (Response::Done, false);
        }
        Request::Hello { client: id } => {
            if client.is_some() {
                return (Response::Failed(RemoteError::Malformed), false);
            }
            lock(shared).hello(id);
            *client = Some(id);
            Response::Done
        }
        Request::Create {
            kind,
            entries,
            items,
        } => lock(shared).create(me, kind, entries, items),
        Request::CreateSync(spec) => lock(shared).create_sync(me, spec),
        Request::Call { id, kind, op } => lock(shared).call(id, kind, op),
        Request::Object(request) => object(request, shared, me),
        Request::Ref(op) => {
            let (response, freed) = lock(shared).reference(me, op);
            // Without the store's lock: a custom object's `Drop` may call this manager.
            drop(freed);
            response
        }
        Request::Count => Response::Len(lock(shared).count()),
        Request::Track(name) if super::shm::trackable(&name) => {
            lock(shared).track(name);
            Response::Done
        }
        Request::Track(_) => Response::Failed(RemoteError::Malformed),
        Request::Untrack(name) => {
            lock(shared).untrack(&name);
            Response::Done
        }
        Request::Sync {
            id,
            kind,
            thread,
            op,
        } => {
            // Fetched under the store's lock, run without it: a wait blocks this thread only.
            let object = lock(shared).sync(id, kind);
            match object {
                Ok(object) => {
                    let alive = || {
                        !shared.stop.load(Ordering::Relaxed)
                            && matches!(conn.poll(Some(Duration::ZERO)), Ok(false))
                    };
                    let owner = Owner { client: me, thread };
                    object.run(owner, op, &alive)
                }
                Err(refusal) => Response::Failed(refusal),
            }
        }
    };
    (response, true)
}

/// Serves a request to a custom object. The user's code (`new`, the method) runs without the
/// store's lock: calls to different objects run in parallel.
fn object(request: ObjectRequest, shared: &Shared, client: u64) -> Response {
    let answer = match request {
        ObjectRequest::Create { type_name, init } => {
            let instance = shared.objects.create(&type_name, &init);
            instance.map(|instance| Response::Created(lock(shared).insert_custom(client, instance)))
        }
        ObjectRequest::Call {
            id,
            type_name,
            method,
            args,
        } => {
            let instance = lock(shared).custom(id);
            instance.and_then(|instance| instance.call(id, &type_name, method, &args))
        }
    };
    answer.unwrap_or_else(|e| Response::Failed(RemoteError::Object(e)))
}

fn lock(shared: &Shared) -> std::sync::MutexGuard<'_, Store> {
    // Store operations do not panic on any input; a poisoned store is still consistent,
    // since every operation completes its mutation before it can fail.
    shared.store.lock().unwrap_or_else(PoisonError::into_inner)
}
