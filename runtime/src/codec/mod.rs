//! How values cross process boundaries: postcard bytes plus a side table of file descriptors.
//!
//! Every start method, pipe and queue goes through [`encode`] and [`decode`], so a value behaves
//! the same whichever way it travels. Handles to shared objects (a `Lock`, a `Queue`, a pipe
//! end) are backed by descriptors; when one is serialized, its descriptor is duplicated into the
//! side table and only its index is written into the bytes. The transport carries the table
//! beside the bytes (inherited across `fork`, `SCM_RIGHTS` over sockets), and deserializing the
//! handle takes its descriptor back out of the table.
//!
//! Serializing a handle with any other serde format fails with a clear message: a descriptor
//! number means nothing in another process.

use std::cell::RefCell;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use serde::de::{DeserializeOwned, Error as _};
use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

mod bytes;
mod flavor;
mod probe;
mod scope;

use flavor::{Append, OnStack};
use scope::{DeScope, SerScope};

pub use bytes::ByteBuf;

/// The most handles (descriptors) one encoded value may carry: the kernel's `SCM_MAX_FD`
/// (253), less one kept for the message layer.
pub const MAX_HANDLES: usize = crate::wire::MAX_HANDLE_FDS;

/// A value in transit: its bytes and the descriptors of the handles it contains.
#[derive(Debug, Default)]
pub struct Encoded {
    pub(crate) bytes: Vec<u8>,
    pub(crate) fds: Vec<OwnedFd>,
}

impl Encoded {
    /// The serialized bytes.
    #[must_use]
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// How many handle descriptors travel with the bytes.
    #[must_use]
    pub fn handle_count(&self) -> usize {
        self.fds.len()
    }

    /// The bytes and the handle descriptors, for a transport of your own; [`decode`] takes
    /// them back.
    #[must_use]
    pub fn into_parts(self) -> (Vec<u8>, Vec<OwnedFd>) {
        (self.bytes, self.fds)
    }
}

/// A value could not be serialized or deserialized.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// Serialization failed (a `Serialize` impl returned an error, or a handle could not be
    /// attached).
    #[error("cannot serialize `{type_name}`: {detail}")]
    Serialize {
        /// The Rust type being serialized.
        type_name: &'static str,
        /// What went wrong.
        detail: String,
    },
    /// The bytes do not decode as the expected type (truncated, corrupted, trailing data, or a
    /// handle whose descriptor did not arrive).
    #[error("cannot deserialize `{type_name}`: {detail}")]
    Deserialize {
        /// The Rust type expected.
        type_name: &'static str,
        /// What went wrong.
        detail: String,
    },
}

/// Serializes `value`, collecting the descriptors of any handles it contains.
///
/// # Errors
/// [`CodecError::Serialize`] when `value`'s `Serialize` impl fails, or when it holds more than
/// [`MAX_HANDLES`] handles.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Encoded, CodecError> {
    let mut out = Encoded::default();
    encode_into(value, &mut out.bytes, &mut out.fds)?;
    Ok(out)
}

/// Like [`encode`], appending to existing buffers (lets hot paths reuse their allocations).
///
/// On error, `bytes` and `fds` are left as they were.
pub(crate) fn encode_into<T: Serialize + ?Sized>(
    value: &T,
    bytes: &mut Vec<u8>,
    fds: &mut Vec<OwnedFd>,
) -> Result<(), CodecError> {
    let (bytes_before, fds_before) = (bytes.len(), fds.len());
    let scope = SerScope::enter();
    let result = postcard::serialize_with_flavor(value, Append(bytes));
    let reason = scope.leave(fds);
    match result {
        Ok(()) => Ok(()),
        Err(err) => {
            fds.truncate(fds_before);
            bytes.truncate(bytes_before);
            // postcard keeps no text for a `Serialize` impl's own error: ask the value again.
            let detail = reason
                .or_else(|| {
                    matches!(err, postcard::Error::SerdeSerCustom)
                        .then(|| {
                            // Handles serialize normally meanwhile (into a table thrown away).
                            let scope = SerScope::enter();
                            let message = probe::failure_message(value);
                            drop(scope.leave(&mut Vec::new()));
                            message
                        })
                        .flatten()
                })
                .unwrap_or_else(|| err.to_string());
            Err(CodecError::Serialize {
                type_name: std::any::type_name::<T>(),
                detail,
            })
        }
    }
}

thread_local! {
    /// Each thread's encoding buffers, reused by [`with_encoded`].
    static SCRATCH: RefCell<(Vec<u8>, Vec<OwnedFd>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

/// Values that encode to at most this many bytes are encoded on the stack.
const SMALL_VALUE: usize = 128;

/// Buffers that grew beyond this are given back after use.
const SCRATCH_KEEP: usize = 4 << 20;

/// Encodes `value` into this thread's reusable buffers and calls `with` on the bytes and the
/// handles' descriptors (duplicates, closed when `with` returns).
///
/// # Errors
/// As [`encode`]; `with` is not called then.
pub(crate) fn with_encoded<T: Serialize + ?Sized, R>(
    value: &T,
    with: impl FnOnce(&[u8], &[OwnedFd]) -> R,
) -> Result<R, CodecError> {
    // Small values first try a buffer on the stack: no thread-local buffer to borrow, no
    // growth checks. Any failure (too long, or a real error) takes the general path, which
    // encodes again and reports errors with their reasons.
    let mut small = [0u8; SMALL_VALUE];
    let scope = SerScope::enter();
    if let Ok(len) = postcard::serialize_with_flavor(value, OnStack::new(&mut small)) {
        let bytes = &small[..len];
        let mut fds = Vec::new();
        if scope.leave(&mut fds).is_none() {
            return Ok(with(bytes, &fds));
        }
    } else {
        drop(scope);
    }
    let run = |bytes: &mut Vec<u8>, fds: &mut Vec<OwnedFd>| {
        bytes.clear();
        fds.clear();
        encode_into(value, bytes, fds)?;
        let out = with(bytes, fds);
        fds.clear();
        if bytes.capacity() > SCRATCH_KEEP {
            *bytes = Vec::new();
        }
        Ok(out)
    };
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buffers) => {
            let (bytes, fds) = &mut *buffers;
            run(bytes, fds)
        }
        // Re-entered on this thread (a value serializing itself by sending): fresh buffers.
        Err(_) => run(&mut Vec::new(), &mut Vec::new()),
    })
}

/// Deserializes a `T` from `bytes`, handing it the descriptors that travelled with them.
///
/// Descriptors that no handle claims are closed. Trailing bytes are an error.
///
/// # Errors
/// [`CodecError::Deserialize`] when the bytes do not form exactly one `T`, or a handle's
/// descriptor is missing.
pub fn decode<T: DeserializeOwned>(bytes: &[u8], fds: Vec<OwnedFd>) -> Result<T, CodecError> {
    let scope = DeScope::enter(fds);
    let result = postcard::take_from_bytes::<T>(bytes);
    let reason = scope.leave();
    let fail = |detail: String| CodecError::Deserialize {
        type_name: std::any::type_name::<T>(),
        detail,
    };
    match result {
        Ok((value, [])) => Ok(value),
        Ok((_, rest)) => Err(fail(format!("{} trailing bytes", rest.len()))),
        Err(err) => Err(fail(reason.unwrap_or_else(|| err.to_string()))),
    }
}

/// [`decode`] through a seed (a value decoded into a place the caller holds); errors name the
/// type `type_name`, what the caller decodes.
///
/// # Errors
/// As [`decode`].
pub(crate) fn decode_seed<'de, S: serde::de::DeserializeSeed<'de>>(
    bytes: &'de [u8],
    fds: Vec<OwnedFd>,
    seed: S,
    type_name: &'static str,
) -> Result<S::Value, CodecError> {
    let scope = DeScope::enter(fds);
    let mut de = postcard::Deserializer::from_bytes(bytes);
    let result = seed
        .deserialize(&mut de)
        .and_then(|value| de.finalize().map(|rest| (value, rest)));
    let reason = scope.leave();
    let fail = |detail: String| CodecError::Deserialize { type_name, detail };
    match result {
        Ok((value, [])) => Ok(value),
        Ok((_, rest)) => Err(fail(format!("{} trailing bytes", rest.len()))),
        Err(err) => Err(fail(reason.unwrap_or_else(|| err.to_string()))),
    }
}

/// Serializes a descriptor: duplicates it into the current side table and writes its index.
///
/// Handle types call this from their `Serialize` impl; it also works as
/// `#[serde(serialize_with = "mproc::codec::serialize_fd")]` on a field of a type that is
/// `AsFd`. Outside mproc's own encoding (for example with `serde_json`) it fails.
///
/// # Errors
/// When called outside an mproc encoding, when the value already holds [`MAX_HANDLES`]
/// descriptors, or when the descriptor cannot be duplicated.
pub fn serialize_fd<S: Serializer>(fd: BorrowedFd<'_>, s: S) -> Result<S::Ok, S::Error> {
    match scope::attach(fd) {
        Ok(index) => s.serialize_u32(index),
        Err(reason) => Err(S::Error::custom(reason)),
    }
}

/// Deserializes a descriptor written by [`serialize_fd`], taking it out of the side table.
///
/// # Errors
/// When called outside an mproc decoding, or when the descriptor is missing or already taken.
pub fn deserialize_fd<'de, D: Deserializer<'de>>(d: D) -> Result<OwnedFd, D::Error> {
    let index = u32::deserialize(d)?;
    scope::take(index).map_err(D::Error::custom)
}

/// The error a handle's `Deserialize` returns when its descriptors arrived but do not make a
/// valid handle (wrong kind, wrong type...). The reason is kept for [`decode`]'s error (the
/// serde format would keep only a generic message).
pub(crate) fn invalid_handle<E: serde::de::Error>(reason: impl std::fmt::Display) -> E {
    E::custom(scope::note_de_failure(reason.to_string()))
}

/// A file descriptor that can be sent to another process: a process or task argument, a
/// value on a pipe or a queue. The receiver gets its own descriptor for the same open file
/// (socket, pipe, memfd...), as with `SCM_RIGHTS`.
///
/// ```
/// use mproc::codec::Fd;
/// use mproc::Process;
/// use std::io::Write;
///
/// fn write_hello(fd: Fd) {
///     let mut file = std::fs::File::from(fd.into_inner());
///     file.write_all(b"hello from the child").unwrap();
/// }
///
/// # fn main() -> mproc::Result<()> {
/// let path = std::env::temp_dir().join(format!("mproc-fd-doc-{}", std::process::id()));
/// let file = std::fs::File::create(&path)?;
/// Process::new(write_hello, Fd::from(std::os::fd::OwnedFd::from(file))).start()?.join()?;
/// assert_eq!(std::fs::read_to_string(&path)?, "hello from the child");
/// std::fs::remove_file(path)?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Fd(OwnedFd);

impl Fd {
    /// The descriptor.
    #[must_use]
    pub fn into_inner(self) -> OwnedFd {
        self.0
    }
}

impl From<OwnedFd> for Fd {
    fn from(fd: OwnedFd) -> Self {
        Fd(fd)
    }
}

impl std::os::fd::AsFd for Fd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

impl Serialize for Fd {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_fd(self.0.as_fd(), s)
    }
}

impl<'de> Deserialize<'de> for Fd {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        deserialize_fd(d).map(Fd)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    fn some_fd() -> OwnedFd {
        std::fs::File::open("/dev/null").unwrap().into()
    }

    #[test]
    fn plain_values_round_trip() {
        let value = (7u32, String::from("x"), vec![1u8, 2, 3], Some(-4i64));
        let enc = encode(&value).unwrap();
        assert_eq!(enc.handle_count(), 0);
        // Without handles, the bytes are postcard's own (the public accessors give them).
        let plain = postcard::to_stdvec(&value).unwrap();
        assert_eq!(enc.bytes(), plain);
        let (bytes, fds) = enc.into_parts();
        assert_eq!((bytes.as_slice(), fds.len()), (plain.as_slice(), 0));
        let back: (u32, String, Vec<u8>, Option<i64>) = decode(&bytes, fds).unwrap();
        assert_eq!(back, value);
    }

    #[test]
    fn handles_travel_in_the_side_table() {
        let value = (1u8, Fd(some_fd()), Fd(some_fd()));
        let enc = encode(&value).unwrap();
        assert_eq!(enc.handle_count(), 2);
        assert_ne!(
            enc.fds[0].as_raw_fd(),
            value.1.0.as_raw_fd(),
            "a duplicate is sent"
        );
        let back: (u8, Fd, Fd) = decode(&enc.bytes, enc.fds).unwrap();
        assert_eq!(back.0, 1);
        assert_ne!(back.1.0.as_raw_fd(), back.2.0.as_raw_fd());
    }

    #[test]
    fn trailing_bytes_are_rejected() {
        let mut enc = encode(&5u32).unwrap();
        enc.bytes.push(0);
        let err = decode::<u32>(&enc.bytes, enc.fds).unwrap_err();
        assert!(err.to_string().contains("1 trailing bytes"), "{err}");
    }

    #[test]
    fn truncated_bytes_are_rejected() {
        let enc = encode(&String::from("hello")).unwrap();
        let err = decode::<String>(&enc.bytes[..3], Vec::new()).unwrap_err();
        assert!(matches!(err, CodecError::Deserialize { .. }), "{err}");
    }

    #[test]
    fn a_missing_descriptor_is_a_typed_error() {
        let enc = encode(&Fd(some_fd())).unwrap();
        let err = decode::<Fd>(&enc.bytes, Vec::new()).unwrap_err();
        assert!(
            err.to_string().contains("handle descriptor #0 is missing"),
            "{err}"
        );
    }

    #[test]
    fn a_descriptor_cannot_be_claimed_twice() {
        let enc = encode(&Fd(some_fd())).unwrap();
        let mut bytes = enc.bytes.clone();
        bytes.extend_from_slice(&enc.bytes);
        let err = decode::<(Fd, Fd)>(&bytes, enc.fds).unwrap_err();
        assert!(err.to_string().contains("used twice"), "{err}");
    }

    #[test]
    fn too_many_handles_is_an_error_and_leaves_nothing_behind() {
        let many: Vec<Fd> = (0..=MAX_HANDLES).map(|_| Fd(some_fd())).collect();
        let (mut bytes, mut fds) = (vec![9u8], Vec::new());
        let err = encode_into(&many, &mut bytes, &mut fds).unwrap_err();
        assert!(err.to_string().contains("more than 252 handles"), "{err}");
        assert_eq!(bytes, [9]);
        assert!(fds.is_empty());
    }

    /// A value whose `Serialize` impl fails with its own message, inside other values.
    struct Refuses;

    impl Serialize for Refuses {
        fn serialize<S: Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            Err(serde::ser::Error::custom("this value refuses to travel"))
        }
    }

    #[test]
    fn a_serialize_impls_own_message_is_kept() {
        let nested = (1u8, Fd(some_fd()), vec![Some(Refuses)]);
        let err = encode(&nested).unwrap_err();
        assert!(
            err.to_string().contains("this value refuses to travel"),
            "{err}"
        );
    }

    #[test]
    fn other_formats_refuse_handles() {
        let err = serde_json::to_string(&Fd(some_fd())).unwrap_err();
        assert!(
            err.to_string().contains("can only be sent through mproc"),
            "{err}"
        );
    }

    /// The thread's scratch buffer is kept for the next value, unless a value made it larger
    /// than `SCRATCH_KEEP`: then it is freed (one huge value must not pin its memory).
    #[test]
    fn the_scratch_buffer_is_kept_unless_it_grew_too_large() {
        let scratch = || SCRATCH.with(|cell| cell.borrow().0.capacity());
        let medium = vec![7u8; SMALL_VALUE * 4];
        let len = with_encoded(&medium, |bytes, _| bytes.len()).unwrap();
        assert!(len > SMALL_VALUE);
        assert!(scratch() >= len, "kept for reuse");
        let huge = vec![7u8; SCRATCH_KEEP + 1];
        let len = with_encoded(&huge, |bytes, _| bytes.len()).unwrap();
        assert!(len > SCRATCH_KEEP);
        assert!(scratch() <= SCRATCH_KEEP, "freed after a value this large");
    }

    #[test]
    fn encode_into_appends_after_existing_content() {
        let (mut bytes, mut fds) = (vec![0xAA], vec![some_fd()]);
        encode_into(&Fd(some_fd()), &mut bytes, &mut fds).unwrap();
        assert_eq!(bytes[0], 0xAA);
        assert_eq!(fds.len(), 2);
        // Indices are relative to this value, so it decodes from its own slice of the table.
        let back: Fd = decode(&bytes[1..], fds.split_off(1)).unwrap();
        assert!(back.0.as_raw_fd() >= 0);
    }
}
#[cfg(all(test, not(loom)))]
mod proptests;
