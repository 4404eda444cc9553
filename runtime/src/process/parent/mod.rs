//! The parent's side of a child: starting it, the handles that watch it, the table of
//! children, and where a forked child's outcome comes back (result slots, overflow listener).

mod child;
pub(crate) mod handle;
pub(crate) mod launch;
pub(crate) mod overflow;
pub(crate) mod registry;
pub(crate) mod slot;

pub use child::Child;
pub use handle::ProcessHandle;
