//! The errors of starting the pool across hosts: [`MpiError`].

/// [`init`](super::init) could not start the pool across hosts.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MpiError {
    /// The MPI library could not be initialized (it was initialized before, by this program
    /// or a library it uses).
    #[error("MPI was already initialized in this process")]
    AlreadyInitialized,
    /// A rank runs another executable than rank 0 (its hash or code layout differs): tasks
    /// name code by its offset in the executable, so every rank must run the same file. No
    /// task was sent; every rank left.
    #[error("rank {rank} (on {host}) runs a different executable than rank 0: {what}")]
    BinaryMismatch {
        /// The first rank found to differ.
        rank: i32,
        /// The host it runs on, as MPI names it.
        host: String,
        /// What differs (the file's hash, or the code layout).
        what: &'static str,
    },
    /// A rank's greeting did not decode: it does not speak this version of the protocol.
    #[error("rank {rank} sent a malformed greeting: {detail}")]
    BadGreeting {
        /// The rank.
        rank: i32,
        /// What was wrong.
        detail: String,
    },
    /// This executable could not be read to compute its hash, or the job key not made.
    #[error("cannot identify this executable or make the job key")]
    Io(#[source] std::io::Error),
    /// The local pool (of a single-rank run) could not be started.
    #[error(transparent)]
    Pool(#[from] crate::pool::PoolError),
}
