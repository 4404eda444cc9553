//! Topologies: processes wired by queues and pipes, declared and checked at compile time with
//! [`process!`].
//!
//! ```
//! use mproc::prelude::*;
//! use mproc::queue::{QueueReader, QueueWriter};
//! use mproc::topology::process;
//!
//! #[process]
//! fn produce(jobs: QueueWriter<u64>, first: u64) {
//!     for n in first..first + 10 {
//!         jobs.put(&n).unwrap();
//!     }
//! }
//!
//! #[process]
//! fn square(jobs: QueueReader<u64>, squares: QueueWriter<u64>) {
//!     for n in &jobs {
//!         let n = n.unwrap();
//!         squares.put(&(n * n)).unwrap();
//!     }
//! }
//!
//! fn total(squares: QueueReader<u64>) -> u64 {
//!     squares.iter().map(Result::unwrap).sum()
//! }
//!
//! # fn main() -> mproc::Result<()> {
//! let done = process! {
//!     queue jobs: Queue<u64>;
//!     queue squares: Queue<u64>;
//!     producer[i]: produce(jobs.writer(), i as u64 * 10) * 3;
//!     worker: square(jobs.reader(), squares.writer()) * 2;
//!     sink: total(squares.reader());
//! }
//! .run()?;
//! assert!(done.failures().is_empty());
//! assert_eq!(done.sink?, (0..30u64).map(|n| n * n).sum());
//! # Ok(())
//! # }
//! ```
//!
//! No sentinels: a queue closes once its last writer process has ended, however it ended
//! (a crash included), so its readers' loops end once they have drained it. The results have
//! one field per process: `Result<R, ProcessError>`, a `Vec` of them for a replicated process,
//! and an `Option` for a daemon (`None`: the topology stopped it, once the other processes had
//! ended). `failures()` lists the processes that failed.
//!
//! A process may run any function, with `#[process]` or without (`fn total` above needs no
//! attribute); its arguments and result must be serde types. Imports: `use mproc::prelude::*;`
//! brings the attribute `#[process]`, `use mproc::topology::process;` the [`process!`] macro,
//! and both can be in the same module. With only the second, `#[process]` names the macro and
//! fails to compile ("`process` is imported here, but it is a function-like macro").

mod error;
mod finish;
mod launcher;
mod running;
mod supervisor;

pub use error::TopologyError;
pub use finish::Failure;
pub use mproc_macros::topology as process;
pub use running::{Running, Topology};

/// What `process!` expansions call. Not public API.
#[doc(hidden)]
pub mod private {
    pub use super::finish::{Finish, Outcome, failures_of};
    pub use super::launcher::{ChannelId, ChannelItem, Launcher, Member, Replica};
}
