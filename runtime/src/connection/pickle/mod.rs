//! Python's pickles as a [`Codec`](super::Codec) (feature `pickle`, built on the `serde-pickle`
//! crate): typed values between mproc and Python's `Connection.send` / `Connection.recv`.
//!
//! ```
//! use mproc::connection::{Client, Codec, Listener, Options};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let options = Options::new().authkey(b"key").codec(Codec::pickle());
//! let listener = Listener::bind_with("127.0.0.1:0", options.clone())?;
//! let address = listener.address().clone();
//! // Here the peer is mproc too; it could be Python's `Client(address, authkey=b"key")`.
//! let peer = std::thread::spawn(move || -> Result<(), mproc::connection::ConnectionError> {
//!     let conn = Client::connect_with(&address, &options)?;
//!     let (name, sizes): (String, Vec<u32>) = conn.recv()?;
//!     conn.send(&(name.to_uppercase(), sizes.iter().sum::<u32>()))
//! });
//! let conn = listener.accept()?;
//! conn.send(&("disk", vec![1u32, 2, 3]))?; // Python receives ('disk', [1, 2, 3])
//! assert_eq!(conn.recv::<(String, u32)>()?, ("DISK".to_owned(), 6));
//! # peer.join().unwrap()?;
//! # Ok(())
//! # }
//! ```
//!
//! # What crosses
//! Plain data, both ways: Python's `None`, `bool`, `int` (within `i64`), `float`, `str`,
//! `bytes` (as [`ByteBuf`](crate::codec::ByteBuf) or `serde_bytes` on the Rust side: a
//! `Vec<u8>` is a list of ints), `list`, `tuple`, `dict`, `set` and `frozenset` arrive as the
//! Rust type they match (`Option`, `bool`, integers, floats, `String`, `Vec`, tuples,
//! `HashMap`/`BTreeMap`, structs from dicts with `str` keys). A Rust struct arrives in Python as
//! a `dict`, a `Vec` as a `list`, a tuple as a `tuple`, `None`/`()` as `None`, an enum variant
//! as its name (unit) or a one-entry `dict` (with data). A message that is plain data but not
//! the type asked for is a [`PickleError::Decode`]; the connection stays usable. Python ints
//! beyond `i64` are a decode error, even into a `u64`. `serde-pickle` 1.2 counts references
//! per shared object, not per copy, so an object shared inside another shared object (`a = [s,
//! s]; [a, a]`) is a decode error too ("recursive structure").
//!
//! # Decoding runs no code
//! A pickle is a program for Python's unpickler, which may import and call anything it names.
//! mproc never does: before `serde-pickle` sees a message, a check of the whole opcode stream
//! (`guard.rs`) refuses every opcode that names or calls code or an object outside plain data
//! (`GLOBAL`, `STACK_GLOBAL`, `REDUCE`, `BUILD`, `INST`, `OBJ`, `NEWOBJ`, `NEWOBJ_EX`, the
//! extension registry, persistent ids, out-of-band buffers), and the protocol-0 text opcodes
//! that no Python 3 `multiprocessing` peer writes. So a class instance, a function, or a
//! `bytearray` pickled with protocol 4 is a [`PickleError::Refused`], never a call.
//!
//! # Decoding is bounded
//! What a pickle makes the decoder allocate is estimated before decoding, by the same walk:
//! every declared length must fit in the bytes that arrived; containers nest at most
//! [`PickleLimits::max_depth`] deep; and the memory `serde-pickle` takes to parse the message,
//! and the size of the value once every shared reference (`GET`) is copied out (a Rust value
//! owns its parts, so a list holding the same string 1,000 times holds 1,000 strings), must
//! each stay under [`PickleLimits::max_decoded`]. A few hundred bytes that expand to
//! terabytes ("billion laughs" through the memo) are refused with [`PickleError::TooLarge`]
//! before anything is built. Recursive structures (a list that contains itself) are refused,
//! as `serde-pickle` cannot build them.

mod guard;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::codec::CodecError;

/// The default of [`PickleLimits::max_depth`]: 128 nested containers (`serde_json`'s default).
pub const DEFAULT_MAX_DEPTH: u32 = 128;
/// The default of [`PickleLimits::max_decoded`]: 256 MiB.
pub const DEFAULT_MAX_DECODED: u64 = 256 << 20;

/// Bounds on what decoding one pickle may cost (see the [module](self) docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PickleLimits {
    max_depth: u32,
    max_decoded: u64,
}

impl Default for PickleLimits {
    fn default() -> Self {
        Self {
            max_depth: DEFAULT_MAX_DEPTH,
            max_decoded: DEFAULT_MAX_DECODED,
        }
    }
}

impl PickleLimits {
    /// The defaults: [`DEFAULT_MAX_DEPTH`], [`DEFAULT_MAX_DECODED`].
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The deepest nesting of containers accepted (a list in a list is depth 2). Decoding
    /// recurses once per level, so this also bounds the stack it uses.
    #[must_use]
    pub fn max_depth(mut self, depth: u32) -> Self {
        self.max_depth = depth;
        self
    }

    /// The most memory, in bytes, that decoding one pickle is estimated to take: both while
    /// `serde-pickle` parses it and for the value with every shared reference copied out. The
    /// estimate counts 40 bytes per value plus the bytes of strings and integers (twice, as
    /// read buffers grow by doubling), and `serde-pickle`'s 128-slot buffer for each tuple of
    /// four or more items.
    #[must_use]
    pub fn max_decoded(mut self, bytes: u64) -> Self {
        self.max_decoded = bytes;
        self
    }

    /// The depth limit.
    #[must_use]
    pub fn depth_limit(&self) -> u32 {
        self.max_depth
    }

    /// The memory limit, in bytes.
    #[must_use]
    pub fn decoded_limit(&self) -> u64 {
        self.max_decoded
    }
}

/// Why a received pickle was not decoded. Nothing of it was executed, and the connection it
/// came on stays usable (the message was consumed).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PickleError {
    /// An opcode that names or calls code, or builds something other than plain data.
    #[error("pickle opcode {name} ({opcode:#04x}) at byte {offset} is refused: {why}")]
    Refused {
        /// The opcode byte.
        opcode: u8,
        /// Its name in Python's `pickletools`, or `unknown`.
        name: &'static str,
        /// Where it is in the message.
        offset: usize,
        /// Why it is refused.
        why: &'static str,
    },
    /// The message ends before the pickle's `STOP`, or in the middle of an opcode's argument
    /// (or an argument declares more bytes than the message has).
    #[error("truncated pickle: its opcode at byte {offset} needs more bytes than arrived")]
    Truncated {
        /// Where the opcode that ran out of bytes starts.
        offset: usize,
    },
    /// A pickle no Python pickler writes: an opcode on an empty stack, a `MARK` missing, a
    /// container operation on the wrong kind of value, invalid UTF-8, bytes after `STOP`.
    #[error("malformed pickle at byte {offset}: {reason}")]
    Malformed {
        /// Where it went wrong.
        offset: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// Containers nest deeper than [`PickleLimits::max_depth`].
    #[error("pickle nests deeper than {limit} at byte {offset}")]
    TooDeep {
        /// Where the limit was crossed.
        offset: usize,
        /// The limit.
        limit: u32,
    },
    /// Decoding would take more memory than [`PickleLimits::max_decoded`].
    #[error("decoding this pickle would take about {estimate} bytes, over the limit of {limit}")]
    TooLarge {
        /// The estimate, as far as the check went (saturating).
        estimate: u64,
        /// The limit.
        limit: u64,
    },
    /// A structure that contains itself, or a container changed after it was referenced.
    #[error("recursive pickle structure at byte {offset}: not supported")]
    Recursive {
        /// Where the container was changed.
        offset: usize,
    },
    /// Plain data, but not a value of the type asked for.
    #[error("cannot decode the pickle as `{type_name}`: {detail}")]
    Decode {
        /// The Rust type expected.
        type_name: &'static str,
        /// What did not match.
        detail: String,
    },
}

/// Pickles `value` (protocol 3, which every Python 3 reads): Python's `pickle.dumps`.
///
/// # Errors
/// [`CodecError::Serialize`] if the value cannot be serialized, for instance because it holds
/// an mproc handle.
pub fn dumps<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, CodecError> {
    serde_pickle::to_vec(&value, serde_pickle::SerOptions::new()).map_err(|e| {
        CodecError::Serialize {
            type_name: std::any::type_name::<T>(),
            detail: e.to_string(),
        }
    })
}

/// Decodes a pickle as a `T`, within `limits` (Python's `pickle.loads`, running no code).
///
/// # Errors
/// [`PickleError::Decode`] if the pickle is plain data but not a `T`; the other variants if
/// it is not plain data, is malformed, or exceeds `limits`.
pub fn loads<T: DeserializeOwned>(bytes: &[u8], limits: &PickleLimits) -> Result<T, PickleError> {
    guard::check(bytes, limits)?;
    serde_pickle::from_slice(bytes, serde_pickle::DeOptions::new()).map_err(|e| {
        PickleError::Decode {
            type_name: std::any::type_name::<T>(),
            detail: e.to_string(),
        }
    })
}

#[cfg(test)]
mod tests;
