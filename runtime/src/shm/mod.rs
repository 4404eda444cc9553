//! Shared memory: one sealed memfd segment per object, mapped `MAP_SHARED` in every process
//! that holds a handle.
//!
//! Every segment starts with a `#[repr(C)]` header: magic, layout version, the kind
//! of object, a type tag (for `Value<T>`/`Array<T>`: which `T`), and where the data starts. A
//! handle received from another process (its memfd travelled beside the serialized bytes) is
//! mapped only after that header checks out, so a descriptor of the wrong kind, or a foreign
//! file, is a typed [`ShmError`] rather than undefined behaviour. Inside a segment there are
//! offsets, never pointers: each process maps it at its own address.
//!
//! User data stored in shared memory must implement [`ShmSafe`]: valid for every bit pattern,
//! so nothing a peer writes can make a read undefined behaviour ([`ShmBool`] stands for `bool`).

mod error;
mod safe;
pub(crate) mod segment;

pub use error::ShmError;
pub use safe::{InvalidBool, ShmBool, ShmSafe};
pub(crate) use segment::{Kind, ShmBox, ShmState, type_tag};
#[cfg(all(test, not(loom)))]
mod proptests;
