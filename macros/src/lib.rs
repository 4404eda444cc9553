//! Procedural macros of [mproc](https://docs.rs/mproc). Use them through the `mproc` crate,
//! which re-exports them and provides the runtime their expansions call.

mod error;
mod managed;
mod paths;
mod pool_task;
mod process;
mod shm_safe;
mod signature;
mod topology;

use proc_macro::TokenStream;

/// Makes a function startable in a child process, as Python's `Process(target=f, args=...)`:
/// adds `f::spawn(..)` and `f::builder()` beside `f`, which stays an ordinary function.
///
/// ```
/// use mproc::prelude::*;
///
/// #[process]
/// fn greet(name: String, times: u32) -> String {
///     format!("hello {name} x{times} from {}", current_process().name())
/// }
///
/// # fn main() -> mproc::Result<()> {
/// // Default options: the program's start method, a name like `Process-3`.
/// let child: Child<String> = greet::spawn("world".into(), 3)?;
/// assert!(child.join()?.starts_with("hello world x3"));
///
/// // Python's `Process(target=greet, args=..., name="greeter", daemon=True)`:
/// let child = greet::builder()
///     .name("greeter")
///     .daemon(true)
///     .start_method(StartMethod::Spawn)
///     .spawn("you".into(), 1)?;
/// assert_eq!(child.join()?, "hello you x1 from greeter");
///
/// // Still an ordinary function, called in this process:
/// assert!(greet("me".into(), 2).starts_with("hello me x2"));
/// # Ok(())
/// # }
/// ```
///
/// # What it generates
///
/// For `fn f(a: A, b: B) -> R`, with `f`'s visibility:
///
/// - `f::spawn(a, b) -> Result<Child<R>, SpawnError>` starts `f(a, b)` in a new child process
///   with default options; `child.join()` returns the `R` the function returned, or the
///   `ProcessError` it ended with (a panic, `exit(n)`, a signal).
/// - `f::builder()` returns the options of one start, set by chaining `.name(impl Into<String>)`
///   (default `Process-N`), `.daemon(bool)` (default: this process's own flag; a daemon is
///   terminated when its parent exits), `.start_method(StartMethod)` (default: the program's,
///   see `mproc::get_start_method`), `.stdout(Stdio)` / `.stderr(Stdio)` (default inherited;
///   `Stdio::Piped` makes the stream readable through `Child::stdout`/`stderr`), then
///   `.spawn(a, b)`, which starts the child as `f::spawn` does.
///
/// `f::…` works because the attribute also declares a braced `struct f {}`: a struct lives in
/// the type namespace, the function in the value namespace, so both are named `f` (also for a
/// function declared inside another function). The builder is a struct named
/// `__mproc_process_builder_f`: it is shown in the documentation, so that its methods are one
/// click away from `f::builder()`, and its name starts with `__` so that it cannot clash with
/// your own items. Name it only through `f::builder()`.
///
/// Without the attribute, `Process::new(f, args)` starts any `fn` or non-capturing closure of
/// one argument (a tuple for several), and `mproc::topology::process!` runs any function.
///
/// # Errors
///
/// `spawn` returns `SpawnError` when the arguments cannot be serialized, when the function is
/// not in the main executable under `Spawn` or `ForkServer`, or when the OS refuses to start a
/// process.
///
/// # What it refuses, at compile time
///
/// Arguments and the result travel serialized with serde, so each must be
/// `Serialize + DeserializeOwned + Send + 'static` (the error is at the type, "`T` cannot
/// cross a process boundary"). The attribute refuses, each at its own token: references and
/// other borrowed types (use `String` for `&str`, `Vec<T>` for `&[T]`), `impl Trait`, generic,
/// lifetime and const parameters, `where` clauses, a `self` receiver (use a free function, or
/// `Process::new(Type::method, value)` with `fn method(self)`), `async` and `unsafe`
/// functions, more than 16 arguments, and arguments given to the attribute itself.
#[proc_macro_attribute]
pub fn process(args: TokenStream, item: TokenStream) -> TokenStream {
    process::expand(&args.into(), item.into()).into()
}

/// Makes a function a pool task: checks, where the function is written, that it can run in a
/// pool worker (owned serde arguments and result, no generics, no `self`, at most 8
/// arguments), and gives it the one-argument shape a pool calls, `fn(A) -> R`.
///
/// ```
/// use mproc::prelude::*;
///
/// #[pool_task]
/// fn square(x: u64) -> u64 {
///     x * x
/// }
///
/// #[pool_task]
/// fn add(a: i32, b: i32) -> i32 {
///     a + b
/// }
///
/// # fn main() -> mproc::Result<()> {
/// let pool = Pool::new(2)?;
/// assert_eq!(pool.map(square, 1..=4).run()?, [1, 4, 9, 16]);
/// assert_eq!(pool.starmap(add, [(1, 2), (3, 4)]).run()?, [3, 7]);
/// assert_eq!(pool.apply(add, (20, 22))?, 42);
/// // Called directly, it takes its arguments as the pool gives them: one tuple.
/// assert_eq!(add((1, 2)), 3);
/// # Ok(())
/// # }
/// ```
///
/// # What it changes
///
/// A pool sends a task as a function pointer `fn(A) -> R` (see `mproc::pool`): one argument,
/// a tuple for several, as `Process::new` takes. A function of one argument is left as it is.
/// A function of several arguments is rewritten to take them as one tuple, patterns and types
/// in order: `fn add(a: i32, b: i32)` becomes `fn add((a, b): (i32, i32))`, which is what
/// Python's `starmap(add, pairs)` and `apply(add, (a, b))` call. A function of none takes
/// `()`. Its body is unchanged. Direct calls then pass the tuple: `add((1, 2))`.
///
/// Without the attribute, a pool runs any function item or non-capturing closure of one
/// argument. What the attribute adds is the tuple shape and where the errors are: a type that
/// cannot reach a worker is reported at the type in the signature ("`T` cannot reach a pool
/// worker") rather than at each call of `map`, and the shapes no pool could run (references,
/// `impl Trait`, generic parameters, `self`, `async`, `unsafe`, more than 8 arguments) each
/// get their own message at the token.
///
/// A closure that captures values (`move |x| x + offset`) cannot be a task, since only the
/// function's identity reaches a worker: `cargo check` refuses it at the call ("closures can
/// only be coerced to `fn` types if they do not capture any variables"). Give the values as
/// arguments.
#[proc_macro_attribute]
pub fn pool_task(args: TokenStream, item: TokenStream) -> TokenStream {
    pool_task::expand(&args.into(), item.into()).into()
}

/// Makes a type holdable by a manager, with a typed proxy generated from its `impl` block:
/// Python's `BaseManager.register('Counter', Counter)`, with the proxy's methods checked by the
/// compiler instead of an `AttributeError` at run time.
///
/// ```
/// use mproc::manager::{Manager, ManagerError};
/// use serde::{Deserialize, Serialize};
///
/// pub struct Inventory {
///     items: std::collections::BTreeMap<String, u32>,
/// }
///
/// #[derive(Debug, PartialEq, Serialize, Deserialize)]
/// pub struct OutOfStock(String);
///
/// #[mproc::managed]
/// impl Inventory {
///     pub fn new() -> Self {
///         Self { items: Default::default() }
///     }
///
///     /// Adds `n` of `item`; returns how many there are now.
///     pub fn add(&mut self, item: String, n: u32) -> u32 {
///         let count = self.items.entry(item).or_default();
///         *count += n;
///         *count
///     }
///
///     pub fn take(&mut self, item: String) -> Result<u32, OutOfStock> {
///         match self.items.get_mut(&item) {
///             Some(n) if *n > 0 => {
///                 *n -= 1;
///                 Ok(*n)
///             }
///             _ => Err(OutOfStock(item)),
///         }
///     }
/// }
///
/// # fn main() -> Result<(), ManagerError> {
/// let manager = Manager::builder().register::<Inventory>().start()?;
/// let stock: InventoryProxy = manager.create::<Inventory>(())?;
/// assert_eq!(stock.add("apple".into(), 2)?, 2);
/// assert_eq!(stock.take("apple".into())?, Ok(1));
/// // The method's own error arrives typed, inside the manager's `Result`.
/// assert_eq!(stock.take("pear".into())?, Err(OutOfStock("pear".into())));
/// manager.shutdown()
/// # }
/// ```
///
/// # What it generates
///
/// For `impl T { .. }`, beside the block (unchanged):
///
/// - `pub struct TProxy`, cheap to clone and serializable (a process argument, a pool task
///   argument, a queue item: it connects to the manager where it arrives). For every method
///   `pub fn m(&self or &mut self, a: A, ..) -> R` of the block, with the method's visibility,
///   `TProxy::m(&self, a: A, ..) -> Result<R, ManagerError>`: one round trip, in which the
///   manager runs `T::m` on its object. Calls to one object run one at a time (so `&mut self`
///   methods are safe); an error the method returns (`R = Result<_, E>`) arrives as it is.
///   A method that panics fails that call with `ObjectError::Panicked`; the manager keeps
///   serving, and the object keeps what the method changed before it panicked.
/// - `impl mproc::manager::ManagedObject for T`, under the name `"T"`: register the type with
///   `Manager::builder().register::<T>()` or `Server::register::<T>()`, then make objects with
///   `manager.create::<T>(init)`. `init` is the arguments of the block's `fn new` (`()` for
///   none, the value for one, a tuple for several), which runs in the manager; without a
///   `fn new`, `T` itself must be serde and `init` is the value.
///
/// Each call names its method by a stable id (a hash of `"T::m"`), not by its position, so a
/// client and a server built separately from the same source interoperate. Private functions
/// and associated functions other than `new` are not proxied.
///
/// # What it refuses, at compile time
///
/// Arguments and results travel serialized with serde, so each must be
/// `Serialize + DeserializeOwned` (the error is at the type: "`T` cannot travel to or from a
/// manager"). Each at its own token: trait impls and generic blocks; methods that take `self`
/// by value (or any receiver but `&self` and `&mut self`); references and other borrowed types
/// in arguments or results (a result cannot borrow from an object that lives in another
/// process); `impl Trait`; generic, lifetime and const parameters and `where` clauses on a
/// method; `async` and `unsafe` methods; more than 16 arguments; a `new` that does not return
/// `Self`; arguments given to the attribute itself.
#[proc_macro_attribute]
pub fn managed(args: TokenStream, item: TokenStream) -> TokenStream {
    managed::expand(&args.into(), item.into()).into()
}

/// Derives `mproc::ShmSafe` for a `#[repr(C)]` struct whose fields are all `ShmSafe`, so it can
/// be the element of a `Value` or an `Array` in shared memory.
///
/// ```
/// use mproc::{ShmBool, ShmSafe, Value};
///
/// #[derive(Clone, Copy, Debug, PartialEq, ShmSafe)]
/// #[repr(C)]
/// struct Stats {
///     hits: u64,
///     mean: f64,
///     done: ShmBool,
/// }
///
/// # fn main() -> mproc::Result<()> {
/// let stats = Value::new(Stats { hits: 0, mean: 0.0, done: ShmBool::FALSE })?;
/// stats.update(|mut s| {
///     s.hits += 1;
///     s
/// });
/// assert_eq!(stats.get().hits, 1);
/// # Ok(())
/// # }
/// ```
///
/// `ShmSafe` means valid for every bit pattern: whatever bytes another process leaves in the
/// segment, reading them gives a valid value. The derive checks each field's type (the error is
/// at the field: "`T` cannot live in shared memory") and refuses, each at its own token: a
/// struct without `#[repr(C)]` or `#[repr(transparent)]`, enums and unions, and fields of type
/// `bool` (use `ShmBool`), `char` (use `u32`), references, raw and function pointers, also
/// inside arrays. See `mproc::ShmSafe` for the types that are `ShmSafe`.
#[proc_macro_derive(ShmSafe)]
pub fn derive_shm_safe(input: TokenStream) -> TokenStream {
    shm_safe::derive(input.into()).into()
}

/// A topology: processes wired by queues and pipes, checked at compile time. Use it as
/// `mproc::topology::process!` (the attribute `#[process]` owns the crate-root name).
///
/// ```
/// use mproc::prelude::*; // `#[process]`, `ProcessError`, …
/// use mproc::topology::process; // this macro; the two `process` can be imported together
/// use mproc::{QueueReader, QueueWriter};
///
/// #[process]
/// fn produce(jobs: QueueWriter<u64>, first: u64) -> u64 {
///     for n in first..first + 100 {
///         jobs.put(&n).unwrap();
///     }
///     100
/// }
///
/// // Any function can run in a topology, with `#[process]` or without.
/// fn work(jobs: QueueReader<u64>, results: QueueWriter<u64>) -> usize {
///     let mut done = 0;
///     for n in &jobs {
///         results.put(&(n.unwrap() * 2)).unwrap();
///         done += 1;
///     }
///     done
/// }
///
/// fn collect(results: QueueReader<u64>) -> Vec<u64> {
///     results.iter().map(Result::unwrap).collect()
/// }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let done = process! {
///     queue jobs: Queue<u64>, bounded(100);
///     queue results: Queue<u64>;
///     producer[i]: produce(jobs.writer(), i as u64 * 1000) * 3;
///     worker: work(jobs.reader(), results.writer()) * 4;
///     sink: collect(results.reader());
/// }
/// .run()?;
/// let collected: Vec<u64> = done.sink?; // `Result<Vec<u64>, ProcessError>`
/// let per_worker: Vec<Result<usize, ProcessError>> = done.worker; // one per replica
/// assert_eq!(collected.len(), 300);
/// assert_eq!(per_worker.into_iter().map(Result::unwrap).sum::<usize>(), 300);
/// # Ok(())
/// # }
/// ```
///
/// No process puts a sentinel: `jobs` closes once the last `producer` has ended, however it
/// ended, so the workers' loops end; `results` closes after the last worker, and `sink`
/// returns.
///
/// Imports: `use mproc::prelude::*;` brings the attribute `#[process]`, and
/// `use mproc::topology::process;` this macro; both can be in the same module. With only the
/// second, `#[process]` names this macro and fails ("`process` is imported here, but it is a
/// function-like macro"): import the prelude too, or drop the attribute, which a topology does
/// not need.
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
/// - `name: function(args)` runs `function` (a path to any function, `#[process]` or not, whose
///   arguments and result are serde types) in a child process. An argument is a queue
///   endpoint — `jobs.writer()` to put, `jobs.reader()` to get, `jobs` for the whole queue
///   (which counts as both) — a pipe end by its name, or any other expression, evaluated at
///   `start()` once per replica (clone what several replicas need; `?` cannot leave your
///   function from there, so evaluate fallible values before the macro).
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
/// "did you mean"); a wrong number of arguments (at the name, with a note at the function); a
/// channel used inside an expression; a queue with writers but no reader, or readers but no
/// writer; a pipe end given to more than one process, to a replicated one, or to none; a
/// duplicate process or channel name; a replica count or capacity of `0`; an argument whose
/// type is not what the function expects (at the argument); an argument or result type that
/// cannot travel between processes (at the function's name, the note at the argument); an
/// item type that cannot travel (at the type).
#[proc_macro]
pub fn topology(input: TokenStream) -> TokenStream {
    topology::expand(input.into()).into()
}
