//! Shared data: [`Value`] and [`Array`] of [`ShmSafe`](crate::ShmSafe) elements in shared
//! memory, each guarded by an [`RLock`](crate::RLock).

#[macro_use]
mod guarded;

mod array;
mod data;
mod error;
mod value;

pub use array::{Array, ArrayGuard};
pub use error::ArrayError;
pub use value::{ShmInteger, Value, ValueGuard};
