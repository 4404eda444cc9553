//! Where a [`Listener`](super::Listener) listens and a [`Client`](super::Client) connects.

use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use super::error::ConnectionError;

/// The longest abstract socket name (a `sun_path` of 108 bytes less the leading NUL).
const MAX_ABSTRACT_NAME: usize = 107;

/// A connection address: Python's `AF_INET` tuple, `AF_UNIX` path, or Linux abstract name.
///
/// Parse one from the strings Python users write ([`FromStr`]):
///
/// | string | address |
/// |---|---|
/// | `127.0.0.1:6000`, `[::1]:6000`, `localhost:6000` | [`Tcp`](Self::Tcp) (host names are resolved when parsed; the first address wins) |
/// | `\0name` (Python's spelling) or `@name` | [`Abstract`](Self::Abstract) |
/// | anything else (`/tmp/app.sock`, `app.sock`) | [`Unix`](Self::Unix), a path |
///
/// `Display` writes abstract names as `@name`, which parses back.
///
/// ```
/// use mproc::connection::Address;
///
/// let tcp: Address = "127.0.0.1:6000".parse()?;
/// assert_eq!(tcp, Address::Tcp("127.0.0.1:6000".parse().unwrap()));
/// let unix: Address = "/tmp/app.sock".parse()?;
/// assert_eq!(unix, Address::Unix("/tmp/app.sock".into()));
/// let abstract_name: Address = "\0app".parse()?;
/// assert_eq!(abstract_name, Address::Abstract(b"app".to_vec()));
/// assert_eq!(abstract_name.to_string(), "@app");
/// # Ok::<(), mproc::connection::ConnectionError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Address {
    /// A TCP address, IPv4 or IPv6 (port 0 on a listener: any free port; see
    /// [`Listener::address`](super::Listener::address) for the one chosen).
    Tcp(SocketAddr),
    /// A Unix socket at a path in the file system (the listener removes it when it closes).
    Unix(PathBuf),
    /// A Linux abstract Unix socket name (no file; gone with the last descriptor).
    Abstract(Vec<u8>),
}

impl Address {
    /// Whether connections to this address are Unix sockets (which can pass handles).
    #[must_use]
    pub fn is_unix(&self) -> bool {
        !matches!(self, Self::Tcp(_))
    }

    pub(crate) fn check(&self) -> Result<(), ConnectionError> {
        let invalid = |reason| ConnectionError::InvalidAddress {
            address: self.to_string(),
            reason,
        };
        match self {
            Self::Unix(path) if path.as_os_str().is_empty() => Err(invalid("empty path")),
            Self::Abstract(name) if name.len() > MAX_ABSTRACT_NAME => {
                Err(invalid("abstract name longer than 107 bytes"))
            }
            Self::Tcp(_) | Self::Unix(_) | Self::Abstract(_) => Ok(()),
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tcp(addr) => write!(f, "{addr}"),
            Self::Unix(path) => write!(f, "{}", path.display()),
            Self::Abstract(name) => write!(f, "@{}", String::from_utf8_lossy(name)),
        }
    }
}

impl FromStr for Address {
    type Err = ConnectionError;

    /// Parses `s` as the table in [`Address`] says.
    ///
    /// # Errors
    /// [`ConnectionError::InvalidAddress`] for an empty string, a host name that does not
    /// resolve, or an abstract name over 107 bytes.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = |reason| ConnectionError::InvalidAddress {
            address: s.to_owned(),
            reason,
        };
        if s.is_empty() {
            return Err(invalid("empty address"));
        }
        let address = if let Some(name) = s.strip_prefix('\0').or_else(|| s.strip_prefix('@')) {
            Self::Abstract(name.as_bytes().to_vec())
        } else if let Ok(addr) = s.parse::<SocketAddr>() {
            Self::Tcp(addr)
        } else if looks_like_host_port(s) {
            let mut found = s
                .to_socket_addrs()
                .map_err(|_| invalid("host name does not resolve"))?;
            Self::Tcp(
                found
                    .next()
                    .ok_or_else(|| invalid("host name has no address"))?,
            )
        } else {
            Self::Unix(PathBuf::from(s))
        };
        address.check()?;
        Ok(address)
    }
}

/// `host:port` with a plausible host name (no `/`, no spaces) and a decimal port.
fn looks_like_host_port(s: &str) -> bool {
    let Some((host, port)) = s.rsplit_once(':') else {
        return false;
    };
    !host.is_empty()
        && !port.is_empty()
        && port.bytes().all(|b| b.is_ascii_digit())
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_')
}

/// Anything that names an [`Address`]: an `Address`, a `&str` (parsed), a [`SocketAddr`] or a
/// [`Path`] (a Unix socket).
pub trait ToAddress {
    /// The address.
    ///
    /// # Errors
    /// [`ConnectionError::InvalidAddress`] if it does not name one.
    fn to_address(&self) -> Result<Address, ConnectionError>;
}

impl ToAddress for Address {
    fn to_address(&self) -> Result<Address, ConnectionError> {
        self.check()?;
        Ok(self.clone())
    }
}

impl ToAddress for str {
    fn to_address(&self) -> Result<Address, ConnectionError> {
        self.parse()
    }
}

impl ToAddress for String {
    fn to_address(&self) -> Result<Address, ConnectionError> {
        self.parse()
    }
}

impl ToAddress for SocketAddr {
    fn to_address(&self) -> Result<Address, ConnectionError> {
        Ok(Address::Tcp(*self))
    }
}

impl ToAddress for Path {
    fn to_address(&self) -> Result<Address, ConnectionError> {
        Address::Unix(self.to_owned()).to_address()
    }
}

impl ToAddress for PathBuf {
    fn to_address(&self) -> Result<Address, ConnectionError> {
        self.as_path().to_address()
    }
}

impl<T: ToAddress + ?Sized> ToAddress for &T {
    fn to_address(&self) -> Result<Address, ConnectionError> {
        (**self).to_address()
    }
}
