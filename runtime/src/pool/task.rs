//! What a pool can run: a function item or a closure that captures nothing, of 0 to 8
//! arguments, whose arguments and result are serde types.
//!
//! A task carries no data, so nothing but its *identity* travels to a worker: the pool sends the
//! code offset of [`run_chunk::<M, T>`](run_chunk), a trampoline monomorphized for the task's
//! type, and the worker recreates the zero-sized task value there. A capturing closure is not
//! zero-sized and is refused at compile time (when the program is built). Function pointers
//! are refused too: write the function's name, not a pointer variable.

use std::os::fd::OwnedFd;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::codec::{self, CodecError};
use crate::codeptr;
use crate::process::SpawnError;
use crate::process::panic::{self, PanicReport};

/// A function the pool can run with arguments `Args` to produce `Output`.
///
/// Implemented for every function item and non-capturing closure taking 0 to 8 serde
/// arguments; `Marker` only tells the implementations apart (it is the function's pointer
/// type). One argument is passed as itself, several as a tuple, none as `()`: so `map` and
/// `starmap` are the same operation here, and `starmap(add, [(1, 2)])` calls `add(1, 2)`.
///
/// A closure's argument types must be written out (`|x: u64| x * 2`), since the pool cannot
/// infer them through this trait.
pub trait Task<Marker>: Send + Sync + 'static {
    /// The arguments of one call.
    type Args: Serialize + DeserializeOwned + Send + 'static;
    /// The value one call returns.
    type Output: Serialize + DeserializeOwned + Send + 'static;

    /// Calls the function.
    fn call(&self, args: Self::Args) -> Self::Output;
}

impl<F, R> Task<fn() -> R> for F
where
    F: Fn() -> R + Send + Sync + 'static,
    R: Serialize + DeserializeOwned + Send + 'static,
{
    type Args = ();
    type Output = R;

    fn call(&self, (): ()) -> R {
        self()
    }
}

impl<F, A, R> Task<fn(A) -> R> for F
where
    F: Fn(A) -> R + Send + Sync + 'static,
    A: Serialize + DeserializeOwned + Send + 'static,
    R: Serialize + DeserializeOwned + Send + 'static,
{
    type Args = A;
    type Output = R;

    fn call(&self, args: A) -> R {
        self(args)
    }
}

macro_rules! impl_task_tuple {
    ($($arg:ident),+) => {
        impl<F, R, $($arg),+> Task<fn($($arg),+) -> R> for F
        where
            F: Fn($($arg),+) -> R + Send + Sync + 'static,
            $($arg: Serialize + DeserializeOwned + Send + 'static,)+
            R: Serialize + DeserializeOwned + Send + 'static,
        {
            type Args = ($($arg,)+);
            type Output = R;

            #[allow(non_snake_case, reason = "the type parameters name the arguments")]
            fn call(&self, ($($arg,)+): Self::Args) -> R {
                self($($arg),+)
            }
        }
    };
}

impl_task_tuple!(A, B);
impl_task_tuple!(A, B, C);
impl_task_tuple!(A, B, C, D);
impl_task_tuple!(A, B, C, D, E);
impl_task_tuple!(A, B, C, D, E, G);
impl_task_tuple!(A, B, C, D, E, G, H);
impl_task_tuple!(A, B, C, D, E, G, H, I);

/// How one task of a chunk ended, as the worker reports it.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum ItemFailure {
    Panicked(PanicReport),
    EncodeResult(String),
}

/// The trampoline a worker runs for a chunk: `(args of the chunk, their fds, results out, fds
/// out) -> Ok(items run)`, or `Err` when the chunk's arguments do not decode.
pub(crate) type ChunkFn =
    fn(&[u8], Vec<OwnedFd>, &mut Vec<u8>, &mut Vec<OwnedFd>) -> Result<(), String>;

/// A task type, checked and ready to send: its name and its trampoline's code offset.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TaskRef {
    pub(crate) name: &'static str,
    pub(crate) entry: i64,
}

impl TaskRef {
    /// The reference for task type `T`.
    ///
    /// Refuses, when the program is built, a `T` that is not zero-sized (a capturing closure or a
    /// function pointer).
    pub(crate) fn of<M: 'static, T: Task<M>>() -> Result<Self, SpawnError> {
        const {
            assert!(
                size_of::<T>() == 0,
                "a pool task must be a function item or a closure that captures nothing: \
                 captured values (and function pointer values) cannot reach a worker process"
            );
        };
        let chunk: ChunkFn = run_chunk::<M, T>;
        Ok(Self {
            name: std::any::type_name::<T>(),
            entry: codeptr::code_offset(chunk as usize)?,
        })
    }

    /// The trampoline in this process.
    pub(crate) fn resolve(entry_offset: i64) -> ChunkFn {
        // SAFETY: offsets reach a worker only from `TaskRef::of` in its pool's process, which
        // runs the same executable (workers are forked, re-executed or served from it).
        unsafe { codeptr::code_at::<ChunkFn>(entry_offset) }
    }
}

/// Encodes the arguments of one chunk (a sequence of `Args`).
pub(crate) fn encode_chunk<A: Serialize>(
    items: &[A],
    bytes: &mut Vec<u8>,
    fds: &mut Vec<OwnedFd>,
) -> Result<(), CodecError> {
    codec::encode_into(items, bytes, fds)
}

/// Runs a chunk of task `T` in a worker: decode the arguments (one sequence), call the task
/// for each (a panic fails only its own item), and encode the results as one sequence of
/// `Result<Output, ItemFailure>`, which decodes as `Vec<Result<Output, ItemFailure>>`.
fn run_chunk<M, T: Task<M>>(
    payload: &[u8],
    fds: Vec<OwnedFd>,
    out: &mut Vec<u8>,
    out_fds: &mut Vec<OwnedFd>,
) -> Result<(), String> {
    // SAFETY: `TaskRef::of::<M, T>` asserted that `T` is zero-sized, and `Task` is implemented
    // only for `Fn` types, which on stable Rust are function items and closures: a zero-sized
    // one is a function item or a closure capturing nothing (no invariant to break).
    let task: T = unsafe { codeptr::conjure() };
    let items: Vec<T::Args> = codec::decode(payload, fds).map_err(|e| e.to_string())?;
    let results: Vec<Result<T::Output, ItemFailure>> = items
        .into_iter()
        .map(|args| panic::catch(|| task.call(args)).map_err(ItemFailure::Panicked))
        .collect();
    // The whole chunk in one pass (one encoding scope, no per-item framing).
    if codec::encode_into(&results, out, out_fds).is_ok() {
        return Ok(());
    }
    // A value that does not serialize: item by item, so only those items fail. A postcard
    // sequence is its length then its elements, the same bytes either way.
    codec::encode_into(&results.len(), out, out_fds).map_err(|e| e.to_string())?;
    for result in &results {
        if let Err(e) = codec::encode_into(result, out, out_fds) {
            let failed: Result<(), ItemFailure> = Err(ItemFailure::EncodeResult(e.to_string()));
            codec::encode_into(&failed, out, out_fds).map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(x: u64) -> u64 {
        x * x
    }

    fn add(a: i32, b: i32) -> i32 {
        a + b
    }

    fn run<M: 'static, T: Task<M>>(_: T, items: &[T::Args]) -> Vec<Result<T::Output, ItemFailure>> {
        let task = TaskRef::of::<M, T>().unwrap();
        let (mut bytes, mut fds) = (Vec::new(), Vec::new());
        encode_chunk(items, &mut bytes, &mut fds).unwrap();
        let (mut out, mut out_fds) = (Vec::new(), Vec::new());
        (TaskRef::resolve(task.entry))(&bytes, fds, &mut out, &mut out_fds).unwrap();
        codec::decode(&out, out_fds).unwrap()
    }

    #[test]
    fn functions_of_several_arities_and_closures_run_from_their_offset() {
        let got = run(square, &[2, 3]);
        assert!(matches!(got[..], [Ok(4), Ok(9)]));
        let got = run(add, &[(1, 2), (10, 20)]);
        assert!(matches!(got[..], [Ok(3), Ok(30)]));
        let got = run(|| 7u8, &[(), ()]);
        assert!(matches!(got[..], [Ok(7), Ok(7)]));
        let got = run(|s: String| s.len(), &["abc".to_owned()]);
        assert!(matches!(got[..], [Ok(3)]));
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

    fn name_of<M: 'static, T: Task<M>>(_: T) -> &'static str {
        TaskRef::of::<M, T>().unwrap().name
    }

    #[test]
    fn names_are_function_paths() {
        assert!(
            name_of(square).ends_with("pool::task::tests::square"),
            "{}",
            name_of(square)
        );
        assert!(name_of(add).ends_with("tests::add"));
        assert!(name_of(|x: u8| x).contains("{{closure}}"));
    }
}
