//! [`Listener`], [`Client`], and the [`Options`] and [`Auth`] they share.

use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::{SocketAddr as UnixAddr, UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::address::{Address, ToAddress};
use super::codec::Codec;
use super::conn::{Connection, DEFAULT_MAX_MESSAGE_LEN, deadline_in, handshake_deadline};
use super::error::ConnectionError;
use super::frame::Stream;
use super::handshake::{self, Policy};
use crate::pipe::inherited;
use crate::sys;
use crate::sys::fd::Interest;

/// The default limit on the whole authentication handshake: 10 s. A peer that connects and says
/// nothing costs an `accept` this long, then fails with [`ConnectionError::HandshakeTimeout`].
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The default number of connections a listener lets wait to be accepted (Python's default is
/// 1; mproc's is larger, so that bursts of clients are not delayed by TCP's retries).
pub const DEFAULT_BACKLOG: i32 = 128;

/// Which key a [`Listener`] or [`Client`] authenticates with.
///
/// Convert from bytes (`b"secret"`, `Vec<u8>`, `&[u8]`) or from an [`crate::AuthKey`]. Its
/// `Debug` output never shows the key.
///
/// Python's `Listener` and `Client` skip authentication when no `authkey` is given; mproc
/// authenticates unless told otherwise ([`Options::new`] uses [`Auth::Program`]), and says so
/// with [`Auth::Unauthenticated`]. To talk to a Python program, give both the same bytes.
#[derive(Clone, Default)]
pub enum Auth {
    /// This program's authkey ([`current_process().authkey()`](crate::CurrentProcess::authkey),
    /// shared by the program's processes and set with [`crate::set_authkey`]): the default,
    /// where Python uses `current_process().authkey`.
    #[default]
    Program,
    /// These bytes (Python's `authkey=b'...'`; an empty key is allowed, as in Python).
    Bytes(Vec<u8>),
    /// No handshake at all: Python's `authkey=None`. Anyone who can reach the address can then
    /// send messages; keep it to Unix sockets that only this user can open.
    Unauthenticated,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Program => f.write_str("Auth::Program"),
            Self::Bytes(key) => write!(f, "Auth::Bytes(<{} bytes, redacted>)", key.len()),
            Self::Unauthenticated => f.write_str("Auth::Unauthenticated"),
        }
    }
}

impl From<&[u8]> for Auth {
    fn from(key: &[u8]) -> Self {
        Self::Bytes(key.to_vec())
    }
}

impl<const N: usize> From<&[u8; N]> for Auth {
    fn from(key: &[u8; N]) -> Self {
        Self::Bytes(key.to_vec())
    }
}

impl From<Vec<u8>> for Auth {
    fn from(key: Vec<u8>) -> Self {
        Self::Bytes(key)
    }
}

impl From<crate::AuthKey> for Auth {
    fn from(key: crate::AuthKey) -> Self {
        Self::Bytes(key.as_bytes().to_vec())
    }
}

impl Auth {
    /// The key's bytes (`None`: unauthenticated).
    fn resolve(&self) -> Result<Option<Vec<u8>>, ConnectionError> {
        match self {
            Self::Program => crate::auth::program_key()
                .map(|key| Some(key.to_vec()))
                .map_err(ConnectionError::os("getrandom")),
            Self::Bytes(key) => Ok(Some(key.clone())),
            Self::Unauthenticated => Ok(None),
        }
    }
}

/// How a [`Listener`] or [`Client`] connects: key, timeouts, limits.
///
/// ```
/// use std::time::Duration;
/// use mproc::connection::Options;
///
/// let options = Options::new()
///     .authkey(b"secret")
///     .handshake_timeout(Duration::from_secs(2))
///     .max_message_len(64 << 20);
/// # let _ = options;
/// ```
#[derive(Debug, Clone)]
pub struct Options {
    authkey: Auth,
    handshake_timeout: Duration,
    max_message_len: u64,
    legacy_md5: bool,
    backlog: i32,
    codec: Codec,
}

impl Default for Options {
    fn default() -> Self {
        Self::new()
    }
}

impl Options {
    /// The defaults: the program's authkey, [`DEFAULT_HANDSHAKE_TIMEOUT`],
    /// [`DEFAULT_MAX_MESSAGE_LEN`], no legacy MD5 handshake.
    #[must_use]
    pub fn new() -> Self {
        Self {
            authkey: Auth::Program,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            max_message_len: DEFAULT_MAX_MESSAGE_LEN,
            legacy_md5: false,
            backlog: DEFAULT_BACKLOG,
            codec: Codec::Postcard,
        }
    }

    /// Authenticates with `key` (see [`Auth`]).
    #[must_use]
    pub fn authkey(mut self, key: impl Into<Auth>) -> Self {
        self.authkey = key.into();
        self
    }

    /// Skips authentication (Python's `authkey=None`); see [`Auth::Unauthenticated`].
    #[must_use]
    pub fn unauthenticated(self) -> Self {
        self.authkey(Auth::Unauthenticated)
    }

    /// Bounds the connect (for a client) and the whole authentication handshake.
    #[must_use]
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// The largest message the connections accept (see [`Connection::set_max_message_len`]).
    #[must_use]
    pub fn max_message_len(mut self, max: u64) -> Self {
        self.max_message_len = max;
        self
    }

    /// How many connections a [`Listener`] lets wait to be accepted (Python's `backlog`,
    /// default [`DEFAULT_BACKLOG`]; the kernel caps it at `net.core.somaxconn`). Further
    /// connection attempts wait (TCP retries after a second or more) until there is room.
    #[must_use]
    pub fn backlog(mut self, backlog: u16) -> Self {
        self.backlog = i32::from(backlog);
        self
    }

    /// Also accepts the legacy HMAC-MD5 handshake, the only one Python 3.11 and earlier speak
    /// (off by default: MD5 is weak). Challenges sent stay `{sha256}`; a peer that answers with
    /// MD5, or challenges with a legacy 20-byte message, is then accepted, as Python 3.12+
    /// accepts it.
    #[must_use]
    pub fn allow_legacy_md5(mut self, allow: bool) -> Self {
        self.legacy_md5 = allow;
        self
    }

    /// How the connections' typed messages are encoded (default [`Codec::Postcard`]; with the
    /// feature `pickle`, `Codec::pickle()` to talk to Python's `send`/`recv`).
    #[must_use]
    pub fn codec(mut self, codec: Codec) -> Self {
        self.codec = codec;
        self
    }

    /// Runs the handshake of one role on a freshly connected stream, and makes the connection.
    fn establish(
        &self,
        stream: Stream,
        key: Option<&[u8]>,
        listener: bool,
    ) -> Result<Connection, ConnectionError> {
        if let Some(key) = key {
            let policy = Policy {
                key,
                legacy_md5: self.legacy_md5,
            };
            let deadline = handshake_deadline(self.handshake_timeout);
            if listener {
                handshake::deliver_challenge(&stream, policy, deadline)?;
                handshake::answer_challenge(&stream, policy, deadline)?;
            } else {
                handshake::answer_challenge(&stream, policy, deadline)?;
                handshake::deliver_challenge(&stream, policy, deadline)?;
            }
        }
        Ok(Connection::new(stream, self.max_message_len).with_codec(self.codec.clone()))
    }
}

enum Socket {
    Tcp(TcpListener),
    Unix(UnixListener),
}

/// Accepts connections (Python's `multiprocessing.connection.Listener`); every connection is
/// authenticated, as its [`Options`] say, before [`accept`](Self::accept) returns it.
///
/// ```
/// use mproc::connection::{Client, Listener};
///
/// # fn main() -> Result<(), mproc::connection::ConnectionError> {
/// let listener = Listener::bind("127.0.0.1:0", b"secret")?;
/// let address = listener.address().clone();
/// let client = std::thread::spawn(move || -> Result<Vec<u8>, _> {
///     let conn = Client::connect(&address, b"secret")?;
///     conn.send_bytes(b"hello")?;
///     conn.recv_bytes()
/// });
/// let conn = listener.accept()?;
/// let hello = conn.recv_bytes()?;
/// conn.send_bytes(&hello.to_ascii_uppercase())?;
/// assert_eq!(client.join().unwrap()?, b"HELLO");
/// # Ok(())
/// # }
/// ```
pub struct Listener {
    socket: Socket,
    address: Address,
    /// The socket file this listener made, with its inode, removed on close if still the same.
    owned_path: Option<(PathBuf, (u64, u64))>,
    options: Options,
    last_accepted: Mutex<Option<Address>>,
}

impl Listener {
    /// Listens on `address`, authenticating every connection with `authkey` (the documented
    /// form: pass [`Auth::Program`] for the program's key, or bytes).
    ///
    /// # Errors
    /// [`ConnectionError::InvalidAddress`]; [`ConnectionError::Os`] if the address is in use
    /// (Python's `OSError`) or cannot be bound.
    pub fn bind(
        address: impl ToAddress,
        authkey: impl Into<Auth>,
    ) -> Result<Self, ConnectionError> {
        Self::bind_with(address, Options::new().authkey(authkey))
    }

    /// Listens on `address` with `options`.
    ///
    /// # Errors
    /// As [`bind`](Self::bind).
    pub fn bind_with(address: impl ToAddress, options: Options) -> Result<Self, ConnectionError> {
        let address = address.to_address()?;
        // Resolve the program key now, so that a child forked later shares it.
        options.authkey.resolve()?;
        let bind = ConnectionError::os("bind");
        let (socket, address, owned_path) = match address {
            Address::Tcp(addr) => {
                let listener = TcpListener::bind(addr).map_err(bind)?;
                let local = listener
                    .local_addr()
                    .map_err(ConnectionError::os("getsockname"))?;
                (Socket::Tcp(listener), Address::Tcp(local), None)
            }
            Address::Unix(path) => {
                let listener = UnixListener::bind(&path).map_err(bind)?;
                let id = std::fs::metadata(&path)
                    .map(|m| (m.dev(), m.ino()))
                    .map_err(ConnectionError::os("stat"))?;
                let owned = Some((path.clone(), id));
                (Socket::Unix(listener), Address::Unix(path), owned)
            }
            Address::Abstract(name) => {
                let addr = UnixAddr::from_abstract_name(&name).map_err(bind)?;
                let listener =
                    UnixListener::bind_addr(&addr).map_err(ConnectionError::os("bind"))?;
                (Socket::Unix(listener), Address::Abstract(name), None)
            }
        };
        let nonblocking = match &socket {
            Socket::Tcp(l) => l.set_nonblocking(true),
            Socket::Unix(l) => l.set_nonblocking(true),
        };
        nonblocking.map_err(ConnectionError::os("fcntl"))?;
        // Listening again on a listening socket only changes its backlog.
        let fd = match &socket {
            Socket::Tcp(l) => l.as_fd(),
            Socket::Unix(l) => l.as_fd(),
        };
        let backlog = nix::sys::socket::Backlog::new(options.backlog.min(libc::SOMAXCONN))
            .map_err(|e| ConnectionError::os("listen")(e.into()))?;
        nix::sys::socket::listen(&fd, backlog)
            .map_err(|e| ConnectionError::os("listen")(e.into()))?;
        // As connections: a child forked later does not keep the listening socket.
        let listener = Self {
            socket,
            address,
            owned_path,
            options,
            last_accepted: Mutex::new(None),
        };
        inherited::register(listener.as_fd().as_raw_fd());
        Ok(listener)
    }

    /// The address listened on (with the real port where port 0 was asked for).
    #[must_use]
    pub fn address(&self) -> &Address {
        &self.address
    }

    /// The address of the last peer [`accept`](Self::accept) took (before its handshake), as
    /// Python's `last_accepted`; `None` before the first, and for Unix peers whose socket has
    /// no name (the usual case for clients).
    #[must_use]
    pub fn last_accepted(&self) -> Option<Address> {
        self.last_accepted
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Waits for a connection and authenticates it (Python's `accept()`).
    ///
    /// A peer that fails the handshake is refused with an error and disconnected; the listener
    /// stays usable, so a server loop just logs the error and accepts again. The handshake is
    /// bounded by the options' handshake timeout.
    ///
    /// # Errors
    /// The handshake variants of [`ConnectionError`] (a wrong key:
    /// [`ConnectionError::DigestReceivedWrong`] or [`ConnectionError::DigestSentRejected`]),
    /// [`ConnectionError::HandshakeTimeout`], [`ConnectionError::Eof`] or
    /// [`ConnectionError::Truncated`] for a peer that left during the handshake, and OS errors.
    pub fn accept(&self) -> Result<Connection, ConnectionError> {
        self.accept_until(None)
    }

    /// Like [`accept`](Self::accept), waiting at most `timeout` for a connection to arrive (the
    /// handshake has its own timeout).
    ///
    /// # Errors
    /// [`ConnectionError::Timeout`] if none arrived; otherwise as [`accept`](Self::accept).
    pub fn accept_timeout(&self, timeout: Duration) -> Result<Connection, ConnectionError> {
        self.accept_until(deadline_in(timeout))
    }

    fn accept_until(&self, deadline: Option<Instant>) -> Result<Connection, ConnectionError> {
        let key = self.options.authkey.resolve()?;
        let stream = loop {
            let accepted = match &self.socket {
                Socket::Tcp(l) => l
                    .accept()
                    .map(|(s, peer)| (tcp_stream(s), Some(Address::Tcp(peer)))),
                Socket::Unix(l) => l
                    .accept()
                    .map(|(s, peer)| (Ok(unix_stream(s)), unix_address(&peer))),
            };
            match accepted {
                Ok((stream, peer)) => {
                    *self
                        .last_accepted
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner) = peer;
                    break stream?;
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    let ready = sys::fd::poll([Interest::read(self.as_fd())], deadline)
                        .map_err(ConnectionError::os("poll"))?;
                    if ready.is_none() {
                        return Err(ConnectionError::Timeout);
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionAborted => {}
                Err(e) => return Err(ConnectionError::os("accept")(e)),
            }
        };
        self.options.establish(stream, key.as_deref(), true)
    }

    /// Stops listening (the same as dropping it). A Unix socket file this listener created is
    /// removed, unless another socket has replaced it since.
    pub fn close(self) {}
}

impl Drop for Listener {
    fn drop(&mut self) {
        inherited::unregister(self.as_fd().as_raw_fd());
        if let Some((path, id)) = &self.owned_path
            && std::fs::metadata(path).is_ok_and(|m| (m.dev(), m.ino()) == *id)
        {
            let _ = std::fs::remove_file(path);
        }
    }
}

impl AsFd for Listener {
    /// Readable when a connection waits to be accepted (for [`wait`](super::wait)).
    fn as_fd(&self) -> BorrowedFd<'_> {
        match &self.socket {
            Socket::Tcp(l) => l.as_fd(),
            Socket::Unix(l) => l.as_fd(),
        }
    }
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener")
            .field("address", &self.address)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

fn tcp_stream(stream: TcpStream) -> Result<Stream, ConnectionError> {
    // Each frame leaves in one write, so Nagle's algorithm only adds delay.
    stream
        .set_nodelay(true)
        .map_err(ConnectionError::os("setsockopt"))?;
    Ok(Stream::new(OwnedFd::from(stream), false))
}

/// A Unix peer's address, if its socket has a name.
fn unix_address(peer: &UnixAddr) -> Option<Address> {
    if let Some(path) = peer.as_pathname() {
        return Some(Address::Unix(path.to_owned()));
    }
    peer.as_abstract_name()
        .map(|name| Address::Abstract(name.to_vec()))
}

fn unix_stream(stream: UnixStream) -> Stream {
    Stream::new(OwnedFd::from(stream), true)
}

/// Connects to a [`Listener`] (Python's `multiprocessing.connection.Client`).
#[derive(Debug)]
pub struct Client(());

impl Client {
    /// Connects to `address` and authenticates with `authkey`: answers the listener's
    /// challenge, then challenges it in turn.
    ///
    /// # Errors
    /// [`ConnectionError::InvalidAddress`]; [`ConnectionError::Os`] if the connection is
    /// refused; the handshake variants of [`ConnectionError`] (a wrong key:
    /// [`ConnectionError::DigestSentRejected`] or [`ConnectionError::DigestReceivedWrong`]).
    pub fn connect(
        address: impl ToAddress,
        authkey: impl Into<Auth>,
    ) -> Result<Connection, ConnectionError> {
        Self::connect_with(address, &Options::new().authkey(authkey))
    }

    /// Connects to `address` with `options`. A TCP connect is bounded by the handshake
    /// timeout too; a Unix connect completes at once, unless the listener's queue of
    /// connections waiting to be accepted is full (its owner stopped accepting), where it waits
    /// for room as the kernel makes it.
    ///
    /// # Errors
    /// As [`connect`](Self::connect); [`ConnectionError::HandshakeTimeout`] if the listener
    /// did not answer in time.
    pub fn connect_with(
        address: impl ToAddress,
        options: &Options,
    ) -> Result<Connection, ConnectionError> {
        let address = address.to_address()?;
        let key = options.authkey.resolve()?;
        let connect = ConnectionError::os("connect");
        let stream = match &address {
            Address::Tcp(addr) => tcp_stream(
                TcpStream::connect_timeout(addr, options.handshake_timeout).map_err(connect)?,
            )?,
            Address::Unix(path) => unix_stream(UnixStream::connect(path).map_err(connect)?),
            Address::Abstract(name) => {
                let addr =
                    UnixAddr::from_abstract_name(name).map_err(ConnectionError::os("connect"))?;
                unix_stream(UnixStream::connect_addr(&addr).map_err(connect)?)
            }
        };
        options.establish(stream, key.as_deref(), false)
    }
}
