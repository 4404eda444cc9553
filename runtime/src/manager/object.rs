//! Custom managed objects: the [`ManagedObject`] trait that `#[managed]` implements, the untyped
//! [`ObjectHandle`] inside every generated proxy, and [`ObjectError`], what the manager answers
//! when a call to a custom object fails.
//!
//! # Wire
//! A call travels as one [`ObjectRequest`]: the registered type name, a [`MethodId`] and the
//! postcard encoding of the argument tuple. The server decodes the arguments itself, as the
//! method's exact types (trailing bytes refused), so a peer that sends anything else gets
//! [`ObjectError::BadArguments`]; nothing it sends chooses what code runs beyond a method of the
//! object's registered type.

use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::error::ManagerError;
use super::protocol::{Request, Response};
use super::session::Session;
use crate::process::PanicLocation;

/// Identifies a method of a managed type on the wire: a 64-bit FNV-1a hash of
/// `"Type::method"`, computed by `#[managed]` at compile time. It depends on the type's
/// registered name and the method's name only, never on the executable, so a client and a
/// server built separately from the same source agree on it.
pub type MethodId = u64;

/// The [`MethodId`] of `method` of the type registered as `type_name` (what `#[managed]`
/// computes at compile time; here for peers that build calls by hand).
#[must_use]
pub const fn method_id(type_name: &str, method: &str) -> MethodId {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = OFFSET;
    let parts = [type_name.as_bytes(), b"::", method.as_bytes()];
    let mut p = 0;
    while p < parts.len() {
        let bytes = parts[p];
        let mut i = 0;
        while i < bytes.len() {
            hash ^= bytes[i] as u64;
            hash = hash.wrapping_mul(PRIME);
            i += 1;
        }
        p += 1;
    }
    hash
}

/// A type whose values a manager can hold, called through a generated proxy. Implemented by
/// `#[mproc::managed]` on an `impl` block; not meant to be implemented by hand.
///
/// The manager creates a value from [`Init`](Self::Init) (the arguments of the type's
/// `fn new`, or the value itself when there is no `new`) and runs each call with
/// [`dispatch`](Self::dispatch), one call at a time per object (`&mut self` methods are
/// serialized; calls to different objects run in parallel).
pub trait ManagedObject: Send + Sized + 'static {
    /// The name the type is registered under (Python's `register('Counter', Counter)`): the
    /// type's name as written in the `impl`. Unique per manager.
    const NAME: &'static str;

    /// What [`Manager::create`](super::Manager::create) takes: `()` for `fn new()`, the
    /// argument for `fn new(a: A)`, a tuple for several, `Self` when there is no `new`.
    type Init;

    /// The generated proxy.
    type Proxy;

    /// Makes the value, in the manager.
    fn init(init: Self::Init) -> Self;

    /// Encodes `init` for the manager (as a tuple of `new`'s arguments is encoded).
    ///
    /// # Errors
    /// [`ManagerError::Encode`] if serde refuses it.
    fn encode_init(init: &Self::Init) -> Result<Vec<u8>, ManagerError>;

    /// Decodes exactly one `Init`, in the manager.
    ///
    /// # Errors
    /// [`ObjectError::BadArguments`] for anything else.
    fn decode_init(bytes: &[u8]) -> Result<Self::Init, ObjectError>;

    /// Runs method `method` with the encoded argument tuple `args`, in the manager, and
    /// returns the encoded result.
    ///
    /// # Errors
    /// [`ObjectError::UnknownMethod`] or [`ObjectError::BadArguments`] for a call no method of
    /// the type accepts; [`ObjectError::Unencodable`] if the result cannot be serialized.
    fn dispatch(&mut self, method: MethodId, args: &[u8]) -> Result<Vec<u8>, ObjectError>;

    /// Wraps a handle of an object of this type in the typed proxy.
    fn proxy(handle: ObjectHandle) -> Self::Proxy;
}

/// Why a manager refused a call to a custom object (inside [`RemoteError::Object`](super::RemoteError::Object)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[non_exhaustive]
pub enum ObjectError {
    /// The manager has no type registered under this name (Python's `KeyError` on an
    /// unregistered typeid).
    #[error("no managed type registered as `{name}`")]
    UnknownType {
        /// The name asked for.
        name: String,
    },
    /// No custom object has this id.
    #[error("no custom managed object with id {id}")]
    UnknownObject {
        /// The id asked for.
        id: u64,
    },
    /// The object is of another type than the proxy's.
    #[error("managed object {id} is a `{found}`, not a `{expected}`")]
    WrongType {
        /// The id asked for.
        id: u64,
        /// The proxy's type.
        expected: String,
        /// The object's type.
        found: String,
    },
    /// The type has no method with this id (Python's `AttributeError`).
    #[error("`{type_name}` has no method with id {method:#018x}")]
    UnknownMethod {
        /// The object's type.
        type_name: String,
        /// The id asked for.
        method: MethodId,
    },
    /// The arguments (or the creation value) did not decode as the method's argument types.
    #[error("the arguments of a call to `{type_name}` do not decode as its method's types")]
    BadArguments {
        /// The object's type.
        type_name: String,
    },
    /// The method panicked in the manager (Python re-raises the server's exception). The
    /// object stays usable, with whatever the method changed before it panicked; the manager
    /// keeps serving.
    #[error("a method of `{type_name}` panicked in the manager: {message}{}", at(location.as_ref()))]
    Panicked {
        /// The object's type.
        type_name: String,
        /// The panic's message.
        message: String,
        /// Where it panicked, when the manager runs in an mproc child process.
        location: Option<PanicLocation>,
    },
    /// The method's result could not be serialized in the manager.
    #[error("the result of a `{type_name}` method cannot be serialized: {message}")]
    Unencodable {
        /// The object's type.
        type_name: String,
        /// The serializer's message.
        message: String,
    },
}

fn at(location: Option<&PanicLocation>) -> String {
    crate::process::panic::at(location)
}

/// A request to a custom object (one [`Request`] kind: the built-in containers never see it).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum ObjectRequest {
    /// Creates a `type_name` from the encoded [`ManagedObject::Init`]. Answer:
    /// [`Response::Created`].
    Create { type_name: String, init: Vec<u8> },
    /// Calls `method` of object `id`, which must be a `type_name`, with the encoded argument
    /// tuple. Answer: [`Response::Bytes`] with the encoded result.
    Call {
        id: u64,
        type_name: String,
        method: MethodId,
        args: Vec<u8>,
    },
}

/// The untyped part of a generated proxy: the session to the manager, the object's id and its
/// type's name. Cheap to clone; serializes as the manager's address, the id, the type name and
/// the call timeout (never a descriptor or a key), and connects on first use where it arrives,
/// as the built-in proxies do.
#[derive(Clone)]
pub struct ObjectHandle {
    session: Arc<Session>,
    id: u64,
    type_name: &'static str,
}

impl std::fmt::Debug for ObjectHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field("manager", self.session.address())
            .field("id", &self.id)
            .field("type", &self.type_name)
            .finish()
    }
}

impl ObjectHandle {
    /// Creates a `T` on the manager of `session`.
    pub(crate) fn create<T: ManagedObject>(
        session: &Arc<Session>,
        init: &T::Init,
    ) -> Result<Self, ManagerError> {
        let request = Request::Object(ObjectRequest::Create {
            type_name: T::NAME.to_owned(),
            init: T::encode_init(init)?,
        });
        match session.call(&request)? {
            Response::Created(id) => Ok(Self {
                session: Arc::clone(session),
                id,
                type_name: T::NAME,
            }),
            _ => Err(ManagerError::UnexpectedResponse),
        }
    }

    /// The object's id on its manager.
    #[must_use]
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The registered name of the object's type.
    #[must_use]
    pub fn type_name(&self) -> &'static str {
        self.type_name
    }

    /// Calls `method` with an already encoded argument tuple and returns the encoded result,
    /// in one round trip. Generated proxies call this; it is public so that a program can
    /// build calls itself (and so that tests can send what a hostile peer would).
    ///
    /// # Errors
    /// [`ManagerError::Connection`] if the manager cannot be reached in time;
    /// [`ManagerError::Remote`] with [`RemoteError::Object`](super::RemoteError::Object) if the manager refused the call
    /// or the method panicked.
    pub fn call_raw(&self, method: MethodId, args: Vec<u8>) -> Result<Vec<u8>, ManagerError> {
        let request = Request::Object(ObjectRequest::Call {
            id: self.id,
            type_name: self.type_name.to_owned(),
            method,
            args,
        });
        match self.session.call(&request)? {
            Response::Bytes(Some(bytes)) => Ok(bytes),
            _ => Err(ManagerError::UnexpectedResponse),
        }
    }

    /// Calls `method` with the argument tuple `args`; decodes its result as `R`.
    ///
    /// # Errors
    /// As [`call_raw`](Self::call_raw); [`ManagerError::Encode`] if an argument cannot be
    /// serialized (nothing is sent), [`ManagerError::Decode`] if the result is not an `R`.
    pub fn call<A: Serialize, R: DeserializeOwned>(
        &self,
        method: MethodId,
        args: &A,
    ) -> Result<R, ManagerError> {
        let bytes = self.call_raw(method, super::handle::encode(args)?)?;
        super::handle::decode(&bytes)
    }
}

#[derive(Serialize, Deserialize)]
struct Wire {
    address: String,
    id: u64,
    type_name: String,
    timeout_ms: u64,
}

impl Serialize for ObjectHandle {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Wire {
            address: self.session.address().to_string(),
            id: self.id,
            type_name: self.type_name.to_owned(),
            timeout_ms: u64::try_from(self.session.timeout().as_millis()).unwrap_or(u64::MAX),
        }
        .serialize(serializer)
    }
}

impl ObjectHandle {
    /// Deserializes a handle that must be of the type registered as `type_name` (what a
    /// generated proxy's `Deserialize` calls).
    ///
    /// # Errors
    /// The deserializer's error, also when the handle is of another type.
    pub fn deserialize_as<'de, D: Deserializer<'de>>(
        deserializer: D,
        type_name: &'static str,
    ) -> Result<Self, D::Error> {
        let wire = Wire::deserialize(deserializer)?;
        if wire.type_name != type_name {
            return Err(serde::de::Error::custom(format_args!(
                "a proxy of a `{}` arrived where a `{type_name}` proxy was expected",
                wire.type_name
            )));
        }
        let timeout = Duration::from_millis(wire.timeout_ms);
        let session = Session::arrived(&wire.address, timeout).map_err(serde::de::Error::custom)?;
        Ok(Self {
            session,
            id: wire.id,
            type_name,
        })
    }
}

/// What generated code calls (through `mproc::__private::manager`).
pub(crate) mod private {
    pub use super::{ManagedObject, MethodId, ObjectError, ObjectHandle};
    pub use crate::manager::{Manager, ManagerError};
    pub use ::serde;

    /// The bound every argument and result of a `#[managed]` method must meet.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot travel to or from a manager",
        label = "this type must be `Serialize + DeserializeOwned`",
        note = "arguments and results of `#[managed]` methods travel between a proxy and the \
                manager serialized with serde: derive `Serialize` and `Deserialize` for the \
                type, and keep it free of borrowed data"
    )]
    pub trait ManagedValue: serde::Serialize + serde::de::DeserializeOwned {}

    #[diagnostic::do_not_recommend]
    impl<T: serde::Serialize + serde::de::DeserializeOwned> ManagedValue for T {}

    /// How one argument or result type travels. Generated code gets every codec through
    /// [`codec`], named at the user's type: a type that cannot travel is reported once, there,
    /// however many places use it (the diagnostics are identical, so rustc shows one).
    pub struct Codec<T> {
        encode: fn(&T, Vec<u8>) -> postcard::Result<Vec<u8>>,
        decode: Decode<T>,
    }

    /// Decodes one `T` from the front of the bytes; returns it and the rest.
    type Decode<T> = for<'a> fn(&'a [u8]) -> postcard::Result<(T, &'a [u8])>;

    impl<T> std::fmt::Debug for Codec<T> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(std::any::type_name::<Self>())
        }
    }

    /// The codec of `T`: the one place generated code requires `T: ManagedValue`.
    #[must_use]
    pub fn codec<T: ManagedValue>() -> Codec<T> {
        Codec {
            encode: |value, out| postcard::to_extend(value, out),
            decode: |bytes| postcard::take_from_bytes::<T>(bytes),
        }
    }

    impl<T> Codec<T> {
        /// Appends the encoding of one argument to `out` (a tuple's encoding is its elements'
        /// in order), in the proxy.
        ///
        /// # Errors
        /// [`ManagerError::Encode`] if serde refuses it (nothing is sent).
        pub fn push(&self, out: &mut Vec<u8>, value: &T) -> Result<(), ManagerError> {
            let taken = std::mem::take(out);
            *out = (self.encode)(value, taken).map_err(ManagerError::Encode)?;
            Ok(())
        }

        /// Decodes the next argument from `rest`, in the manager.
        ///
        /// # Errors
        /// [`ObjectError::BadArguments`] if the bytes are not a `T`.
        pub fn take(&self, type_name: &str, rest: &mut &[u8]) -> Result<T, ObjectError> {
            let (value, after) = (self.decode)(rest).map_err(|_| bad(type_name))?;
            *rest = after;
            Ok(value)
        }

        /// Encodes a method's result, in the manager.
        ///
        /// # Errors
        /// [`ObjectError::Unencodable`] if serde refuses it.
        pub fn encode_result(&self, type_name: &str, value: &T) -> Result<Vec<u8>, ObjectError> {
            (self.encode)(value, Vec::new()).map_err(|e| ObjectError::Unencodable {
                type_name: type_name.to_owned(),
                message: e.to_string(),
            })
        }

        /// Decodes a method's result (exactly one `T`), in the proxy.
        ///
        /// # Errors
        /// [`ManagerError::Decode`] otherwise.
        pub fn decode_result(&self, bytes: &[u8]) -> Result<T, ManagerError> {
            match (self.decode)(bytes) {
                Ok((value, [])) => Ok(value),
                Ok(_) => Err(ManagerError::Decode(
                    postcard::Error::DeserializeBadEncoding,
                )),
                Err(e) => Err(ManagerError::Decode(e)),
            }
        }
    }

    /// Refuses bytes left after the last argument.
    ///
    /// # Errors
    /// [`ObjectError::BadArguments`] if `rest` is not empty.
    pub fn finish_args(type_name: &str, rest: &[u8]) -> Result<(), ObjectError> {
        if rest.is_empty() {
            Ok(())
        } else {
            Err(bad(type_name))
        }
    }

    fn bad(type_name: &str) -> ObjectError {
        ObjectError::BadArguments {
            type_name: type_name.to_owned(),
        }
    }

    /// The answer to a method id no method has.
    #[must_use]
    pub fn unknown_method(type_name: &str, method: MethodId) -> ObjectError {
        ObjectError::UnknownMethod {
            type_name: type_name.to_owned(),
            method,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_ids_are_fnv1a_of_type_and_method() {
        // FNV-1a 64 of the empty string is the offset basis; of "a", a published vector.
        assert_eq!(method_id("", ""), {
            let mut h = 0xcbf2_9ce4_8422_2325_u64;
            for b in b"::" {
                h ^= u64::from(*b);
                h = h.wrapping_mul(0x0000_0100_0000_01b3);
            }
            h
        });
        assert_ne!(method_id("Counter", "add"), method_id("Counter", "get"));
        assert_ne!(method_id("Counter", "add"), method_id("Counte", "radd"));
    }

    #[test]
    fn arguments_travel_as_the_encoding_of_their_tuple_and_decode_exactly() {
        let (int, string) = (private::codec::<u32>(), private::codec::<String>());
        let mut bytes = Vec::new();
        int.push(&mut bytes, &1).unwrap();
        string.push(&mut bytes, &"x".to_owned()).unwrap();
        assert_eq!(bytes, postcard::to_stdvec(&(1u32, "x")).unwrap());
        let mut rest = &bytes[..];
        let n = int.take("T", &mut rest).unwrap();
        let s = string.take("T", &mut rest).unwrap();
        assert_eq!((n, s.as_str()), (1, "x"));
        private::finish_args("T", rest).unwrap();
        let mut truncated = &bytes[..bytes.len() - 1];
        int.take("T", &mut truncated).unwrap();
        let cut = string.take("T", &mut truncated);
        assert!(matches!(cut, Err(ObjectError::BadArguments { .. })));
        let trailing = private::finish_args("T", &bytes[1..]);
        assert!(matches!(trailing, Err(ObjectError::BadArguments { .. })));
        assert!(int.decode_result(&bytes).is_err(), "trailing bytes refused");
        assert_eq!(int.decode_result(&bytes[..1]).unwrap(), 1);
    }
}
