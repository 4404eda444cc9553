//! What a pool can run: a function of one serde argument (a tuple for several, `()` for none)
//! returning a serde value, given as `fn(A) -> R`.
//!
//! Function items and closures that capture nothing coerce to `fn(A) -> R`; a closure that
//! captures is refused by the type checker (`cargo check`: "closures can only be coerced to
//! `fn` types if they do not capture any variables"), because captured values cannot reach a
//! worker process. Only the function's *identity* travels, as two code offsets
//! ([`crate::codeptr`]): the function itself, and [`run_chunk::<A, R>`](run_chunk), a
//! trampoline monomorphized for its argument and result types that decodes a chunk, calls the
//! function for each item and encodes the results. Both offsets reach a worker only on its own
//! socket, never through shared memory.

use std::os::fd::OwnedFd;
use std::panic::Location;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::outcomes::Outcomes;
use crate::codec::{self, CodecError};
use crate::codeptr::{self, NotInExecutable};
use crate::process::panic::{self, PanicReport};

/// The bounds on a task's argument and result: serde types that may move to another thread.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot reach a pool worker",
    label = "this type must be `Serialize + DeserializeOwned + Send + 'static`",
    note = "arguments and results of pool tasks travel to and from worker processes \
            serialized with serde: derive `Serialize` and `Deserialize` for the type, and keep \
            it `Send` and free of borrowed data"
)]
pub trait TaskValue: Serialize + DeserializeOwned + Send + 'static {}

#[diagnostic::do_not_recommend]
impl<T: Serialize + DeserializeOwned + Send + 'static> TaskValue for T {}

/// Which task a [`TaskError`](super::TaskError) is about: its type and, when it was submitted
/// in this process, the call that submitted it (a function pointer carries no name).
///
/// Displayed as `` `fn(u64) -> u64` (submitted at src/main.rs:12:10) ``.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskName {
    signature: &'static str,
    submitted_at: Option<&'static Location<'static>>,
}

impl TaskName {
    /// The name of a `fn(A) -> R` submitted at `at`.
    pub(crate) fn of<A, R>(at: &'static Location<'static>) -> Self {
        Self {
            signature: std::any::type_name::<fn(A) -> R>(),
            submitted_at: Some(at),
        }
    }

    /// A task known only by a description (`signature`), submitted elsewhere.
    #[cfg(any(feature = "mpi", test))]
    pub(crate) const fn described(signature: &'static str) -> Self {
        Self {
            signature,
            submitted_at: None,
        }
    }

    /// The task's type, such as `fn(u64) -> u64`.
    #[must_use]
    pub fn signature(&self) -> &'static str {
        self.signature
    }

    /// The call that submitted the task (`pool.map(..)`, `pool.apply(..)`...), if it was
    /// submitted in this process.
    #[must_use]
    pub fn submitted_at(&self) -> Option<&'static Location<'static>> {
        self.submitted_at
    }
}

impl std::fmt::Display for TaskName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}`", self.signature)?;
        match self.submitted_at {
            Some(at) => write!(f, " (submitted at {at})"),
            None => Ok(()),
        }
    }
}

/// How one task of a chunk ended, as the worker reports it.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum ItemFailure {
    Panicked(PanicReport),
    EncodeResult(String),
}

/// The trampoline a worker runs for a chunk: `(the task's code offset, args of the chunk,
/// their fds, results out, fds out)`, or `Err` when the chunk's arguments do not decode.
pub(crate) type ChunkFn =
    fn(i64, &[u8], Vec<OwnedFd>, &mut Vec<u8>, &mut Vec<OwnedFd>) -> Result<(), String>;

/// Where a task's code is, in every process running this executable: its trampoline's and
/// its function's code offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(crate) struct TaskCode {
    /// The offset of `run_chunk::<A, R>`.
    pub(crate) trampoline: i64,
    /// The offset of the task's `fn(A) -> R`.
    pub(crate) target: i64,
}

/// A task, checked and ready to send: its name and its code.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TaskRef {
    pub(crate) name: TaskName,
    pub(crate) code: TaskCode,
}

impl TaskRef {
    /// The reference for `task`, named `name`.
    ///
    /// # Errors
    /// [`NotInExecutable`] if the function lives outside the main executable (in a shared
    /// library), where its offset would mean nothing in a worker.
    pub(crate) fn of<A: TaskValue, R: TaskValue>(
        task: fn(A) -> R,
        name: TaskName,
    ) -> Result<Self, NotInExecutable> {
        let chunk: ChunkFn = run_chunk::<A, R>;
        Ok(Self {
            name,
            code: TaskCode {
                trampoline: codeptr::code_offset(chunk as usize)?,
                target: codeptr::code_offset(task as usize)?,
            },
        })
    }

    /// Runs a chunk of the task at `code` in this process.
    pub(crate) fn run(
        code: TaskCode,
        payload: &[u8],
        fds: Vec<OwnedFd>,
        out: &mut Vec<u8>,
        out_fds: &mut Vec<OwnedFd>,
    ) -> Result<(), String> {
        // SAFETY: a `TaskCode` reaches a worker only from `TaskRef::of` in its pool's process
        // (on the worker's own socket, or authenticated across MPI ranks), which runs the same
        // executable (workers are forked, re-executed or served from it); its trampoline is a
        // `ChunkFn`.
        let chunk = unsafe { codeptr::code_at::<ChunkFn>(code.trampoline) };
        chunk(code.target, payload, fds, out, out_fds)
    }
}

/// Encodes the arguments of one chunk (a sequence of `A`).
pub(crate) fn encode_chunk<A: Serialize>(
    items: &[A],
    bytes: &mut Vec<u8>,
    fds: &mut Vec<OwnedFd>,
) -> Result<(), CodecError> {
    codec::encode_into(items, bytes, fds)
}

/// Runs a chunk of the task at `target` in a worker: decode the arguments (one sequence), call
/// the task for each (a panic fails only its own item), and encode the [`Outcomes`].
fn run_chunk<A: TaskValue, R: TaskValue>(
    target: i64,
    payload: &[u8],
    fds: Vec<OwnedFd>,
    out: &mut Vec<u8>,
    out_fds: &mut Vec<OwnedFd>,
) -> Result<(), String> {
    // SAFETY: `TaskRef::of::<A, R>` paired this trampoline with the offset of a `fn(A) -> R`
    // taken in a process running this executable (see `TaskRef::run`).
    let task = unsafe { codeptr::code_at::<fn(A) -> R>(target) };
    let items: Vec<A> = codec::decode(payload, fds).map_err(|e| e.to_string())?;
    let mut outcomes = Outcomes::with_capacity(items.len());
    let mut items = items.into_iter();
    // One unwind guard for the run of tasks up to a panic, not one per task: the task that
    // panicked was taken from `items` and has no value, so it is the next position.
    loop {
        let run = panic::catch(|| {
            for args in &mut items {
                outcomes.push_value(task(args));
            }
        });
        match run {
            Ok(()) => break,
            Err(report) => outcomes.push_failure(ItemFailure::Panicked(report)),
        }
    }
    // The whole chunk in one pass (one encoding scope, no per-item framing).
    if codec::encode_into(&outcomes, out, out_fds).is_ok() {
        return Ok(());
    }
    // A value that does not serialize: find those, so only their tasks fail.
    let mut items = outcomes
        .into_items()
        .map_err(|_| "garbled outcomes".to_owned())?;
    let mut scratch = (Vec::new(), Vec::new());
    for item in &mut items {
        if let Ok(value) = item
            && let Err(e) = codec::encode_into(&*value, &mut scratch.0, &mut scratch.1)
        {
            *item = Err(ItemFailure::EncodeResult(e.to_string()));
        }
        scratch.0.clear();
        scratch.1.clear();
    }
    codec::encode_into(&Outcomes::from_items(items), out, out_fds).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(x: u64) -> u64 {
        x * x
    }

    fn add((a, b): (i32, i32)) -> i32 {
        a + b
    }

    fn run<A: TaskValue, R: TaskValue>(
        task: fn(A) -> R,
        items: &[A],
    ) -> Vec<Result<R, ItemFailure>> {
        let task = TaskRef::of(task, TaskName::described("test")).unwrap();
        let (mut bytes, mut fds) = (Vec::new(), Vec::new());
        encode_chunk(items, &mut bytes, &mut fds).unwrap();
        let (mut out, mut out_fds) = (Vec::new(), Vec::new());
        TaskRef::run(task.code, &bytes, fds, &mut out, &mut out_fds).unwrap();
        let outcomes: Outcomes<R> = codec::decode(&out, out_fds).unwrap();
        outcomes.into_items().unwrap()
    }

    #[test]
    fn functions_and_closures_run_from_their_offsets() {
        let got = run(square, &[2, 3]);
        assert!(matches!(got[..], [Ok(4), Ok(9)]));
        let got = run(add, &[(1, 2), (10, 20)]);
        assert!(matches!(got[..], [Ok(3), Ok(30)]));
        let got = run(|()| 7u8, &[(), ()]);
        assert!(matches!(got[..], [Ok(7), Ok(7)]));
        let got = run(|s: String| s.len(), &["abc".to_owned()]);
        assert!(matches!(got[..], [Ok(3)]));
    }

    #[test]
    fn two_tasks_of_one_type_share_a_trampoline_and_keep_their_own_function() {
        let double: fn(u64) -> u64 = |x| x * 2;
        let name = TaskName::described("test");
        let (a, b) = (
            TaskRef::of(square, name).unwrap(),
            TaskRef::of(double, name).unwrap(),
        );
        assert_eq!(a.code.trampoline, b.code.trampoline);
        assert_ne!(a.code.target, b.code.target);
        assert!(matches!(run(double, &[21])[..], [Ok(42)]));
    }

    #[test]
    fn a_panic_fails_only_its_item() {
        let got = run(
            |x: u32| if x == 1 { panic!("one is bad") } else { x },
            &[0, 1, 2],
        );
        assert!(matches!(got[0], Ok(0)));
        assert!(matches!(&got[1], Err(ItemFailure::Panicked(r)) if r.message == "one is bad"));
        assert!(matches!(got[2], Ok(2)));
    }

    /// A value that refuses to serialize when it is 13.
    #[derive(Debug, Deserialize, PartialEq)]
    struct Picky(u8);

    impl Serialize for Picky {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            if self.0 == 13 {
                return Err(serde::ser::Error::custom("13 does not travel"));
            }
            s.serialize_u8(self.0)
        }
    }

    #[test]
    fn a_value_that_does_not_serialize_fails_only_its_item_beside_a_panic() {
        let got = run(
            |x: u8| if x == 7 { panic!("seven") } else { Picky(x) },
            &[1, 13, 7, 2],
        );
        assert_eq!(got.len(), 4);
        assert!(matches!(&got[0], Ok(Picky(1))));
        assert!(
            matches!(&got[1], Err(ItemFailure::EncodeResult(m)) if m.contains("13 does not travel")),
            "{:?}",
            got[1]
        );
        assert!(matches!(&got[2], Err(ItemFailure::Panicked(r)) if r.message == "seven"));
        assert!(matches!(&got[3], Ok(Picky(2))));
    }
}
