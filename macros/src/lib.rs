//! Procedural macros of [mproc](https://docs.rs/mproc). Use them through the `mproc` crate,
//! which re-exports them and provides the runtime their expansions call.

mod error;
mod paths;
mod pool_task;
mod process;
mod shm_safe;
mod signature;
mod topology;

use proc_macro::TokenStream;

/// Makes a function startable in a child process: adds `f::spawn(..)` and `f::builder()`
/// beside `f`, which stays an ordinary function. See `mproc`'s crate documentation.
#[proc_macro_attribute]
pub fn process(args: TokenStream, item: TokenStream) -> TokenStream {
    process::expand(&args.into(), item.into()).into()
}

/// Checks that a function can run as a pool task (owned serde arguments and result, no
/// generics, no `self`, at most 8 arguments), with each error at its own token. The function
/// is otherwise unchanged; give it to `Pool::map`, `apply` and the others by name.
#[proc_macro_attribute]
pub fn pool_task(args: TokenStream, item: TokenStream) -> TokenStream {
    pool_task::expand(&args.into(), item.into()).into()
}

/// Derives `mproc::ShmSafe` for a `#[repr(C)]` struct whose fields are all `ShmSafe` (valid for
/// every bit pattern: no `bool`, `char`, enum, reference or pointer), so it can be the element
/// of a `Value` or `Array`. See `mproc::ShmSafe`.
#[proc_macro_derive(ShmSafe)]
pub fn derive_shm_safe(input: TokenStream) -> TokenStream {
    shm_safe::derive(input.into()).into()
}

/// A topology: processes wired by queues and pipes, checked at compile time. Use it as
/// `mproc::topology::process!` (the attribute `#[process]` owns the crate-root name).
///
/// ```ignore
/// use mproc::prelude::*;
/// use mproc::topology::process;
/// use mproc::{QueueReader, QueueWriter};
///
/// #[process]
/// fn produce(jobs: QueueWriter<u64>, first: u64) -> u64 { /* put 100 items */ 100 }
/// #[process]
/// fn work(jobs: QueueReader<u64>, results: QueueWriter<u64>) -> usize { /* until closed */ 0 }
/// #[process]
/// fn collect(results: QueueReader<u64>) -> Vec<u64> { /* until closed */ vec![] }
///
/// let done = process! {
///     queue jobs: Queue<u64>, bounded(100);
///     queue results: Queue<u64>;
///     producer[i]: produce(jobs.writer(), i as u64 * 1000) * 3;
///     worker: work(jobs.reader(), results.writer()) * 4;
///     sink: collect(results.reader());
/// }
/// .run()?;
/// let collected: Vec<u64> = done.sink?;           // `Result<Vec<u64>, ProcessError>`
/// let per_worker: Vec<Result<usize, ProcessError>> = done.worker; // one per replica
/// ```
///
/// No process puts a sentinel: `jobs` closes once the last `producer` has ended, however it
/// ended, so the workers' loops end; `results` closes after the last worker, and `sink`
/// returns.
///
/// # Grammar
///
/// ```text
/// topology  := statement*                                   (each statement ends with `;`)
/// statement := queue | pipe | process
/// queue     := "queue" NAME ":" ("Queue" | "JoinableQueue") "<" TYPE ">" ("," "bounded" "(" EXPR ")")?
/// pipe      := "pipe" "(" END "," END ")" ":" "Pipe" "<" TYPE ("," TYPE)? ">" ("," "simplex")?
/// process   := NAME ("[" INDEX "]")? ":" FUNCTION "(" (arg ("," arg)* ","?)? ")" ("*" EXPR)?
///              ("," "daemon" | "," "start_method" "(" EXPR ")")*
/// arg       := NAME "." "writer" "(" ")" | NAME "." "reader" "(" ")" | NAME | EXPR
/// ```
///
/// - `queue jobs: Queue<T>;` declares a queue (`JoinableQueue<T>` for one with `task_done` and
///   `join`); `bounded(n)` limits it to `n` items (Python's `maxsize`).
/// - `pipe (left, right): Pipe<S, R>;` declares a duplex pipe and names its ends: `left` sends
///   `S` and receives `R`, `right` the reverse; `Pipe<T>` carries `T` both ways. With
///   `, simplex` the pipe is one-way: in `pipe (rx, tx): Pipe<T>, simplex;` `rx` receives and
///   `tx` sends (the order of `Pipe::simplex()` and of Python's `Pipe(duplex=False)`).
/// - `name: function(args)` runs the `#[process]` function `function` (a path) in a child
///   process. An argument is a queue endpoint — `jobs.writer()` to put, `jobs.reader()` to get,
///   `jobs` for the whole queue (which counts as both) — a pipe end by its name, or any other
///   expression, evaluated at `start()` once per replica (clone what several replicas need;
///   `?` cannot leave your function from there, so evaluate fallible values before the macro).
/// - `* n` starts `n` replicas (`n`: any `usize` expression); `name[i]` binds the replica's
///   index (`0..n`, a `usize`) for the arguments. `daemon` makes the process a daemon: `run()`
///   and `join()` do not wait for it, and stop it once the other processes have ended.
///   `start_method(m)` chooses how its processes start.
///
/// Declarations and processes may come in any order. In the arguments, a channel's name stands
/// for the channel, hiding any variable of that name, and may only be a whole argument
/// (`NAME.reader()`, `NAME.writer()`, `NAME`), so the topology knows every writer and reader.
/// `NAME.reader()` and `NAME.writer()` always name a queue endpoint; to call such a method on a
/// variable, wrap the call in parentheses.
///
/// # Value
///
/// The macro evaluates to a topology that does nothing until `run()` (start every process,
/// wait for the non-daemon ones, stop the daemons, return the results) or `start()` (then
/// `join()` or `join_timeout(d)` on what it returns). The results have one field per process,
/// named after it: `Result<R, ProcessError>` with `R` the function's return type; in a `Vec`
/// (one per replica, in index order) for a process with `* n`; in an `Option` for a daemon
/// (`None`: it was still running when the topology ended, and was stopped). Their
/// `failures()` lists every process that failed, with its replica index.
///
/// Each queue is closed once the last process that writes it (through `writer()` or the whole
/// queue) has ended, crashed ones included: its readers drain what is left, then see the end.
///
/// # Checked at compile time
///
/// Each error points at the offending token, and all are reported together: an unknown queue
/// (with a "did you mean"); an unknown function (the compiler's error at the name, with its
/// "did you mean"); a channel used inside an expression; a queue with writers but no reader, or
/// readers but no writer; a pipe end given to more than one process, to a replicated one, or to
/// none; a duplicate process or channel name; a replica count or capacity of `0`; an argument
/// whose type is not what the function expects (at the argument); an item type that cannot
/// travel (at the type).
#[proc_macro]
pub fn topology(input: TokenStream) -> TokenStream {
    topology::expand(input.into()).into()
}
