//! The process family's errors: starting a child ([`SpawnError`], with [`ForkServerError`]),
//! choosing a start method ([`StartMethodError`]), and joining a child ([`ProcessError`], with
//! [`CorruptResult`]).

use crate::codec::CodecError;
use crate::process::StartMethod;
use crate::process::panic::{self, PanicLocation};
use crate::sys::OsError;
use crate::sys::proc::signal_name;

/// A boxed error from a layer below whose type is not public (the record layer).
pub type BoxedCause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Starting a process failed; no child is left behind.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpawnError {
    /// The arguments could not be serialized.
    #[error("cannot serialize the process arguments")]
    Encode(#[source] CodecError),
    /// The target function does not live in the main executable (for example it is in a shared
    /// library), so a re-executed child could not find it. Use the `Fork` start method.
    #[error("the target function is not part of the main executable; use the fork start method")]
    TargetNotInExecutable,
    /// A system call failed.
    #[error("cannot start a process")]
    Os(#[from] OsError),
    /// No start method was given and the default cannot be determined (a bad
    /// `MPROC_START_METHOD`).
    #[error("cannot start a process: no valid start method")]
    StartMethod(#[from] StartMethodError),
    /// The fork server could not start the process, or could not be started or reached.
    #[error("the fork server cannot start a process")]
    ForkServer(#[from] ForkServerError),
}

impl From<crate::codeptr::NotInExecutable> for SpawnError {
    fn from(_: crate::codeptr::NotInExecutable) -> Self {
        SpawnError::TargetNotInExecutable
    }
}

/// What went wrong with the fork server (inside [`SpawnError::ForkServer`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ForkServerError {
    /// A step of talking to the server (or to the child it started) failed.
    #[error("{step} failed")]
    Step {
        /// What was being done.
        step: &'static str,
        /// Why it failed.
        #[source]
        source: BoxedCause,
    },
    /// The server refused the request, or could not start; the text is the server's.
    #[error("the fork server refused: {reason}")]
    Refused {
        /// The server's reason.
        reason: String,
    },
    /// The server kept dying before it answered.
    #[error("the fork server died {attempts} times in a row")]
    Died {
        /// How many servers died in a row.
        attempts: usize,
    },
    /// The child's first message was not its pid.
    #[error("the child's first message is not its pid")]
    NoPid,
    /// Another process listens at the server's address.
    #[error("another process ({pid}) answers at the server's address")]
    Impostor {
        /// The process that answered.
        pid: i32,
    },
    /// The server's challenge was not a challenge.
    #[error("malformed challenge")]
    MalformedChallenge,
    /// The server could not prove it knows the key.
    #[error("the server does not know the key")]
    UnknownKey,
}

impl ForkServerError {
    /// A `map_err` adapter: `step` failed because of the error given.
    pub(crate) fn step<E>(step: &'static str) -> impl FnOnce(E) -> Self
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        move |e| Self::Step {
            step,
            source: Box::new(e),
        }
    }
}

/// Choosing a start method failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartMethodError {
    /// The program's start method was already fixed, by an earlier
    /// [`set_start_method`](crate::set_start_method) or by the first use of the default
    /// (Python's `RuntimeError("context has already been set")`).
    #[error("the start method has already been set (to `{current}`)")]
    AlreadySet {
        /// The method in force.
        current: StartMethod,
    },
    /// A name that is not `fork`, `spawn` or `forkserver`.
    #[error("unknown start method `{name}`: expected `fork`, `spawn` or `forkserver`")]
    Unknown {
        /// The name given.
        name: String,
    },
    /// The `MPROC_START_METHOD` environment variable names no method.
    #[error(
        "environment variable MPROC_START_METHOD is `{value}`: expected `fork`, `spawn` or `forkserver`"
    )]
    Environment {
        /// The variable's value (lossily decoded).
        value: String,
    },
}

/// A child did not produce its function's value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProcessError {
    /// The function panicked; the message is the panic payload (as `panic!` formatted it).
    ///
    /// Match it with `ProcessError::Panicked { message, .. }`: the variant may gain fields.
    #[error("process panicked{}: {message}", panic::at(location.as_ref()))]
    #[non_exhaustive]
    Panicked {
        /// The panic message.
        message: String,
        /// Where the function panicked (`None` if the function replaced the panic hook, which
        /// records it).
        location: Option<PanicLocation>,
        /// The backtrace, when the child's environment asks for backtraces (`RUST_BACKTRACE`
        /// or `RUST_LIB_BACKTRACE` set and not `0`, std's rule); its text as std prints it.
        backtrace: Option<String>,
    },
    /// The process exited (for example with `std::process::exit(code)`) without returning.
    #[error("process exited with code {code} before returning a value")]
    Exited {
        /// The exit code (its low 8 bits, as the kernel keeps them).
        code: i32,
    },
    /// The process was ended by a signal.
    #[error("process was killed by signal {signal} ({})", signal_name(*signal))]
    Killed {
        /// The signal number.
        signal: i32,
    },
    /// The deadline passed while the process was still running; it can be joined again.
    #[error("timed out waiting for the process")]
    Timeout,
    /// The process was already joined: its value was taken by an earlier `join`. To wait for
    /// the process again, as Python's repeated `join()` does, call
    /// [`Child::wait`](crate::Child::wait), which any number of calls may make.
    #[error(
        "process was already joined: the value was taken by an earlier `join`; use `wait()` to wait again"
    )]
    AlreadyJoined,
    /// The child could not start running the function: its arguments did not decode, or its
    /// start-up failed. The message says why.
    #[error("process could not start its function: {message}")]
    Bootstrap {
        /// What failed in the child.
        message: String,
    },
    /// The child's return value could not be serialized (in the child).
    #[error("process could not serialize its return value: {message}")]
    EncodeResult {
        /// The serialization error, as the child saw it.
        message: String,
    },
    /// The child's return value arrived but does not decode as the expected type.
    #[error("cannot decode the process result")]
    DecodeResult(#[source] CodecError),
    /// The result channel was corrupted.
    #[error("the result channel from the process is corrupted")]
    Corrupted(#[from] CorruptResult),
    /// A system call failed while waiting for or signalling the process.
    #[error(transparent)]
    Os(#[from] OsError),
}

/// How a child's result channel was found corrupted (inside [`ProcessError::Corrupted`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CorruptResult {
    /// The child had neither a result socket nor a result slot.
    #[error("no result channel")]
    NoChannel,
    /// The result message could not be received.
    #[error("the result message cannot be received")]
    Receive(#[source] BoxedCause),
    /// The result slot's header claims more bytes than a slot holds.
    #[error("result slot claims {len} bytes")]
    SlotLength {
        /// The length claimed.
        len: usize,
    },
    /// The result slot's state word holds no known state.
    #[error("result slot in unknown state {state}")]
    SlotState {
        /// The state found.
        state: u32,
    },
    /// The slot says the result went to the overflow listener, which does not have it.
    #[error("the result sent to the overflow listener is missing")]
    MissingDelivery,
    /// The result message is empty.
    #[error("empty result message")]
    Empty,
    /// The result message's tag is unknown.
    #[error("unknown result tag {tag}")]
    UnknownTag {
        /// The tag found.
        tag: u8,
    },
}
