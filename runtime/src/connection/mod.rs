//! Connections between unrelated processes, Python's `multiprocessing.connection`:
//! [`Listener`] and [`Client`] over TCP (IPv4, IPv6), Unix socket paths and Linux abstract
//! names, speaking Python's framing and authentication handshake byte for byte, so that an
//! mproc program and a Python program talk natively; and [`wait`] over connections, listeners,
//! pipe ends and process [sentinels](Sentinel).
//!
//! ```
//! use mproc::connection::{Auth, Client, Listener};
//!
//! # fn main() -> Result<(), mproc::connection::ConnectionError> {
//! // The program's authkey by default, as Python's managers use `current_process().authkey`.
//! let listener = Listener::bind("127.0.0.1:0", Auth::Program)?;
//! let address = listener.address().clone();
//! let worker = std::thread::spawn(move || -> Result<u64, _> {
//!     let conn = Client::connect(&address, Auth::Program)?;
//!     let numbers: Vec<u64> = conn.recv()?;
//!     conn.send(&numbers.iter().sum::<u64>())?;
//!     Ok(0)
//! });
//! let conn = listener.accept()?;
//! conn.send(&vec![1u64, 2, 3])?;
//! assert_eq!(conn.recv::<u64>()?, 6);
//! worker.join().unwrap()?;
//! # Ok(())
//! # }
//! ```
//!
//! # Talking to Python
//! Raw messages ([`Connection::send_bytes`], [`Connection::recv_bytes`]) are what Python's
//! `send_bytes`/`recv_bytes` exchange. Typed messages ([`Connection::send`]) are postcard by
//! default, which Python does not read (it expects pickles). With the cargo feature `pickle`, a
//! connection opened with [`Codec`]`::Pickle` exchanges typed values with Python's
//! `send`/`recv` as pickles of plain data; decoding them runs no code and is bounded (see the
//! `pickle` module).
//! With Python 3.12 and later the handshake is `{sha256}` HMAC; Python 3.11 and earlier only
//! speak the legacy HMAC-MD5 handshake, which mproc refuses unless
//! [`Options::allow_legacy_md5`] says otherwise.
//!
//! # The wire
//! Each message is a 4-byte big-endian signed length and the payload; a message over
//! 2 GiB - 1 has the length `-1` and then an 8-byte big-endian length. Receiving is bounded:
//! a declared length above the receiver's limit ([`DEFAULT_MAX_MESSAGE_LEN`], adjustable) is
//! refused before anything is allocated, and below it the buffer grows only as bytes arrive.
//! The handshake (see `handshake.rs`): the listener challenges first (`#CHALLENGE#{sha256}` and
//! 40 random bytes), the client answers with the HMAC of the challenge under the key, the
//! listener answers `#WELCOME#` or `#FAILURE#`; then the client challenges the listener the same
//! way. Each handshake message is capped at 256 bytes as Python caps it, answers are compared
//! in constant time, and the whole handshake has a deadline
//! ([`DEFAULT_HANDSHAKE_TIMEOUT`]), so a peer that connects and says nothing cannot hold an
//! `accept` forever. With a wrong key both sides refuse before any message is decoded.
//!
//! # Trust
//! A peer that proved the key is as trusted as the key (see [`crate::trust`]); before that,
//! everything it sends is untrusted input: typed errors, no panic, no allocation of a size it
//! declared. Even after, a typed message that does not decode is a typed error.

mod address;
mod codec;
mod conn;
mod error;
mod frame;
mod handle;
mod handshake;
mod listener;
#[cfg(feature = "pickle")]
pub mod pickle;
mod wait;

pub use address::{Address, ToAddress};
pub use codec::Codec;
pub use conn::{Connection, DEFAULT_MAX_MESSAGE_LEN};
pub use error::ConnectionError;
pub use listener::{Auth, Client, DEFAULT_BACKLOG, DEFAULT_HANDSHAKE_TIMEOUT, Listener, Options};
pub use wait::{Sentinel, wait};

#[cfg(all(test, not(loom)))]
mod proptests;
#[cfg(test)]
mod tests;
