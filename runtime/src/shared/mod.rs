//! Shared data: [`Value`] and [`Array`] of [`ShmSafe`](crate::ShmSafe) elements in shared
//! memory, each guarded by an [`RLock`](crate::RLock), and their lock-free counterparts
//! [`RawValue`] and [`RawArray`] (Python's `sharedctypes.RawValue`/`RawArray`).

#[macro_use]
mod guarded;

mod array;
mod atomic;
mod data;
mod error;
mod gate;
mod raw;
mod value;

pub use array::{Array, ArrayGuard};
pub use atomic::{ShmAtomic, ShmInteger};
pub use error::ArrayError;
pub use raw::{RawArray, RawValue};
pub use value::{Value, ValueGuard};
