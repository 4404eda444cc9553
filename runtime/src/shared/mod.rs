//! Shared data: [`Value`] and [`Array`] of [`ShmSafe`](crate::ShmSafe) elements in shared
//! memory, each guarded by an [`RLock`](crate::RLock).

#[macro_use]
mod guarded;

mod array;
mod atomic;
mod data;
mod error;
mod gate;
mod value;

pub use array::{Array, ArrayGuard};
pub use atomic::{ShmAtomic, ShmInteger};
pub use error::ArrayError;
pub use value::{Value, ValueGuard};
