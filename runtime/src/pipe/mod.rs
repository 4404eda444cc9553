//! Pipes: typed, message-preserving connections between processes (Python's `Pipe`).
//!
//! ```
//! use mproc::{Pipe, Process};
//! use mproc::pipe::Connection;
//!
//! fn echo_upper(conn: Connection<String>) {
//!     while let Ok(text) = conn.recv() {
//!         conn.send(&text.to_uppercase()).unwrap();
//!     }
//! }
//!
//! # fn main() -> mproc::Result<()> {
//! let (here, there) = Pipe::<String>::new()?;
//! let child = Process::new(echo_upper, there).start()?;
//! here.send(&"hello".to_owned())?;
//! assert_eq!(here.recv()?, "HELLO");
//! drop(here); // the child's recv sees the end of the stream and returns
//! child.join()?;
//! # Ok(())
//! # }
//! ```
//!
//! # Messages, and ends shared by several processes
//!
//! Each `send` is one message and each `recv` takes exactly one, whatever its size (empty
//! messages included). A pipe is a Unix `SOCK_SEQPACKET` socket pair, where the kernel moves
//! each message as a whole: several processes may send on, and receive from, the same end
//! concurrently, and every message still arrives intact to exactly one receiver. (Python's
//! `Connection` writes a length prefix and a body in separate steps, so concurrent users
//! interleave bytes and corrupt the stream; see the seed's "multiple consumers".) A process
//! killed while sending cannot leave half a message behind either.
//!
//! Messages up to 1 MiB travel inline (where the system allows a socket buffer that large,
//! `net.core.wmem_max`); larger ones travel in a sealed memfd. Either way the length is checked
//! against the receiver's maximum ([`DEFAULT_MAX_MESSAGE_LEN`], adjustable per end) before
//! anything is read. This replaces Python's 4-byte (or 8-byte) length prefix: a length is never
//! trusted, a message that is too long is refused without allocating it, a memfd is read only if
//! it really holds the pages its size claims (a sparse one is refused), and the connection stays
//! usable after every malformed or refused message. The end of the stream is the other end's
//! close: a zero-length record written on the socket by a foreign peer is a malformed message
//! ([`PipeError::Malformed`]), not the end.
//!
//! # Forked children see only the ends they were given
//!
//! Under every start method a child can use exactly the pipe ends passed to it (as arguments, or
//! later through a pipe). Under `Fork` the child would also inherit every other end open in the
//! parent, and an inherited copy of a sending end keeps the pipe open, so a consumer would never
//! see the end of the stream (the reason Python's tutorials say to close spare ends in each child).
//! mproc closes them for you: in a forked child, pipe ends that were not passed to it no longer
//! refer to the pipe (their descriptor numbers stay reserved, so nothing else is closed by
//! mistake), and using one is [`PipeError::NotPassed`]. A function behaves the same whichever method starts it.
//!
//! # Handles travel
//!
//! Values sent may contain mproc handles (a pipe end, a `codec::Fd`, and the shared-memory
//! objects): their descriptors travel beside the bytes (`SCM_RIGHTS`), so they arrive usable in
//! a process that was already running. Python needs a Manager for that.

mod connection;
mod endpoint;
mod error;
pub(crate) mod inherited;
mod methods;

pub use connection::{Connection, Duplex, Pipe, Receiver, Sender};
pub use endpoint::DEFAULT_MAX_MESSAGE_LEN;
pub use error::PipeError;

#[cfg(test)]
mod tests;
