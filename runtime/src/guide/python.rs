//! # Porting a Python `multiprocessing` program to mproc
//!
//! Python's names are kept wherever they mean the same thing, so a port is mostly mechanical:
//! a target function becomes a `#[process]` function, `args=(…)` become typed arguments, and
//! every call that can fail returns a `Result` instead of raising. This page lists every public
//! name of Python's `multiprocessing` (3.13/3.14), its mproc counterpart, and what to use where
//! mproc has none. The examples named in the last column port the tutorial programs ("seeds")
//! line by line; run them with `cargo run --example <name>`.
//!
//! ## The three differences to know first
//!
//! 1. **Start methods and globals.** mproc's default start method is `ForkServer`, as in
//!    Python 3.14 on Linux, not `fork` as in Python 3.11–3.13 that most tutorials assume. A
//!    child started by the fork server or by `Spawn` does not see globals the parent set in
//!    `main` before starting it (statics, `OnceLock`s, environment changes made later): pass
//!    what the child needs as arguments, or choose `StartMethod::Fork` (with
//!    [`set_start_method`](crate::set_start_method), a builder's `.start_method(..)`, or the
//!    `MPROC_START_METHOD=fork` environment variable) to get Python 3.11's behaviour. There is
//!    no `if __name__ == "__main__"` guard to write: children never re-run `main`.
//! 2. **`join` returns the function's value, once; `wait` waits any number of times.**
//!    [`Child::join`](crate::Child::join) moves the function's return value out, or returns a
//!    [`ProcessError`](crate::ProcessError) saying how the child ended (panicked, with the
//!    message and the `file:line:column` of the panic, and its backtrace when the child runs
//!    with `RUST_BACKTRACE` set; killed by a signal; exited with a code). A second `join`
//!    reports `AlreadyJoined`, whose message points here. To wait again, as Python's repeated
//!    `p.join()` does, call [`Child::wait`](crate::Child::wait) or
//!    [`Child::wait_timeout`](crate::Child::wait_timeout): any number of times, from any
//!    thread, before or after `join`; they return the [`ExitStatus`](crate::ExitStatus)
//!    (Python's `exitcode`). "Join every child, then join them all again" is a loop of `join`
//!    then a loop of `wait`.
//! 3. **Errors are values.** Python's exceptions become typed errors, one enum per family:
//!    `queue.Empty`/`queue.Full` are [`QueueError::Empty`](crate::QueueError::Empty)/
//!    [`QueueError::Full`](crate::QueueError::Full); `BrokenBarrierError` is
//!    [`BarrierError::Broken`](crate::BarrierError::Broken); `EOFError` on a pipe is
//!    [`PipeError::Eof`](crate::PipeError::Eof); `multiprocessing.TimeoutError` is the
//!    `Timeout` variant of the operation's error. `?` in a `main` returning
//!    [`mproc::Result`](crate::Result) works for all of them.
//!
//! ## Module level
//!
//! | Python | mproc | notes |
//! |---|---|---|
//! | `Process(target=f, args=(a, b))`, `.start()` | `#[process] fn f(a: A, b: B)` then `f::spawn(a, b)`; or [`Process::new`](crate::Process::new)`(f, (a, b)).start()` | arguments and the return value are typed and serialized (serde); a type that cannot cross is a compile error |
//! | `Process(..., name=, daemon=)` | `f::builder().name(..).daemon(true).spawn(a, b)` | |
//! | `Process` subclass with `run()` | a `#[process]` function taking the fields as arguments | example `process_subclass` |
//! | `current_process()`, `parent_process()` | [`current_process`](crate::current_process), [`parent_process`](crate::parent_process) | `.pid()`, `.name()`, `.daemon()`, `.authkey()` |
//! | `active_children()` | [`active_children`](crate::active_children) | |
//! | `cpu_count()` | [`cpu_count`](crate::cpu_count) | respects the CPU affinity mask, as Python 3.13's `process_cpu_count` |
//! | `set_start_method`, `get_start_method` | [`set_start_method`](crate::set_start_method), [`get_start_method`](crate::get_start_method) | a second `set` is [`StartMethodError::AlreadySet`](crate::StartMethodError::AlreadySet), as Python's `RuntimeError` |
//! | `get_all_start_methods()` | the variants of [`StartMethod`](crate::StartMethod) | all three exist on Linux |
//! | `get_context(method)` | a builder's `.start_method(m)` | per process or per pool instead of a context object |
//! | `set_forkserver_preload`, `set_executable`, `freeze_support` | not needed | the fork server is the program's own executable, already loaded; there is no interpreter to choose or freeze |
//! | `get_logger`, `log_to_stderr` | not provided | use `log`/`tracing` in your functions |
//! | `allow_connection_pickling`, `reducer` | not needed | handles (locks, queues, pipe ends, descriptors) travel as arguments or inside messages by themselves |
//! | `Manager()`, `BaseManager`, `.dict()`, `.list()`, `.Value()`, `.Namespace()` | [`Manager::start`](crate::manager::Manager::start), `Manager::connect`, `dict::<K, V>()`, `list::<T>()`, `value`, `namespace` | typed, serializable proxies; `add`/`append`/`update_with` are atomic where Python's `d[k].append(x)` loses the write. Locks, queues and values need no manager in mproc: share a [`Lock`](crate::Lock) or [`Queue`](crate::Queue) directly (a `Manager().Lock()` becomes a `Lock`); for processes that share no memory (another host) the manager has proxies for them too (`lock()`, `rlock()`, `semaphore(n)`, `event()`, `condition()`, `barrier(n)`, `queue::<T>()`, `joinable_queue::<T>()`) |
//! | `BaseManager.register('T', T)`, `manager.T(args)`, `exposed=`, `_callmethod` | [`#[managed]`](crate::managed) on `impl T`, [`Manager::builder`](crate::manager::Manager::builder)`().register::<T>().start()` (or [`Server::register`](crate::manager::Server::register)), [`create::<T>(args)`](crate::manager::Manager::create) → `TProxy` | the proxy's methods are generated from the `impl` and type-checked: a typo is a compile error, not an `AttributeError`; `pub` methods are exposed, private ones are not; an exception becomes the method's own `Result` error, typed, or [`ObjectError::Panicked`](crate::manager::ObjectError::Panicked); calls to one object run one at a time; [`ObjectHandle::call_raw`](crate::manager::ObjectHandle::call_raw) is `_callmethod`. Example `manager_custom` |
//! | `AuthenticationError` | the `Auth` errors of the operation | the program authkey is [`CurrentProcess::authkey`](crate::CurrentProcess::authkey) |
//! | `BufferTooShort` | [`PipeError::BufferTooShort`](crate::PipeError::BufferTooShort) | carries the whole message, as Python's `e.args[0]` |
//! | `ProcessError` | [`ProcessError`](crate::ProcessError), [`SpawnError`](crate::SpawnError) | |
//! | `TimeoutError` | the `Timeout` variant of each error family | e.g. [`ProcessError::Timeout`](crate::ProcessError::Timeout) |
//!
//! ## `Process` objects
//!
//! | Python | mproc [`Child`](crate::Child) | notes |
//! |---|---|---|
//! | `p.join()` | `child.join()` → the return value, once; `child.wait()` → the [`ExitStatus`](crate::ExitStatus), any number of times | see above |
//! | `p.join(timeout)` | `child.join_timeout(d)`, `child.wait_timeout(d)` | `Err(ProcessError::Timeout)` while it runs, instead of a silent `None` |
//! | `p.is_alive()`, `p.pid`, `p.name`, `p.daemon` | `.is_alive()`, `.pid()`, `.name()`, `.daemon()` | |
//! | `p.exitcode` | `.exit_status()` → [`ExitStatus`](crate::ExitStatus) | `ExitStatus::python_exitcode()` gives Python's number (`-9` for SIGKILL) |
//! | `p.terminate()`, `p.kill()` | `.terminate()`, `.kill()` | signal a pidfd, so never a recycled pid |
//! | `p.close()` | drop the `Child` | |
//! | `p.interrupt()` (3.14) | not provided | send `SIGINT` with `nix::sys::signal::kill(pid, SIGINT)` |
//! | `p.sentinel` | `child.handle()` | a cloneable handle (no access to the value) whose `wait`/`wait_timeout` observe the end |
//! | `start()` twice, `join()` before `start()` | cannot be written | a `Child` exists only once started |
//!
//! ## Synchronization (shared memory, robust)
//!
//! Every primitive is a handle to shared memory: clone it, pass it to `spawn`, send it through a
//! pipe or queue to a running process. A holder killed while holding a lock is reported to the
//! next one ([`OwnerDied`](crate::OwnerDied)) instead of hanging everyone, as Python does.
//!
//! | Python | mproc | notes |
//! |---|---|---|
//! | `lock.locked()` (3.14) | `is_locked()` | |
//! | `Lock()`, `with lock:` | [`Lock`](crate::Lock), `let _g = lock.lock()?;` | the guard releases on drop; `acquire`/`release` exist for literal ports; `acquire` returns `Acquired::OwnerDied` when the previous holder was killed |
//! | `lock.acquire(False)`, `acquire(timeout=t)` | `try_lock()`, `lock_timeout(d)` (or `try_acquire`, `acquire_timeout`) | |
//! | `RLock()` | [`RLock`](crate::RLock) | owner is (process, thread), as Python's |
//! | `Semaphore(n)`, `BoundedSemaphore(n)` | [`Semaphore`](crate::Semaphore), [`BoundedSemaphore`](crate::BoundedSemaphore) | `guard()` releases on drop; over-release of a bounded one is an error, not a race |
//! | `Condition(lock)` | [`Condition`](crate::Condition) | `wait`, `wait_for`, `notify`, `notify_all`; a dead sleeper does not hang `notify` |
//! | `Event()` | [`Event`](crate::Event) | `set`, `clear`, `is_set`, `wait`, `wait_timeout` (Python's `False` on timeout is `Err(EventError::Timeout)`) |
//! | `Barrier(n, action)` | [`Barrier`](crate::Barrier) | `Barrier::with_action` takes a `fn`; a killed waiter breaks the barrier instead of hanging the others |
//! | `Value('i', 0)`, `v.value`, `with v.get_lock():` | [`Value<i32>`](crate::Value), `v.get()`/`v.set(x)`, `v.lock()?` | `v.update(|x| x + 1)` and `fetch_add` are the atomic `v.value += 1` Python lacks; `fetch_add`, `load`, `store`, `compare_exchange` (integers, floats, `ShmBool`) skip the lock yet never land inside a locked section |
//! | `Array('d', 10)`, `a[i]`, slices | [`Array<f64>`](crate::Array), `get`/`set`, `to_vec`, `lock()` for a slice | elements are [`ShmSafe`](crate::ShmSafe): valid for every bit pattern (`bool` is [`ShmBool`](crate::ShmBool)) |
//! | `RawValue('i', 0)`, `RawArray('d', 10)` | [`RawValue<i32>`](crate::RawValue), [`RawArray<f64>`](crate::RawArray) | no lock; each element access is one hardware atomic (never torn), and `fetch_add`/`compare_exchange` give the read-modify-write Python's lack; structs need `Value`/`Array` |
//! | ctypes `Structure` elements | `#[derive(ShmSafe)] #[repr(C)] struct` | |
//!
//! ## Queues and pipes
//!
//! | Python | mproc | notes |
//! |---|---|---|
//! | `Queue(maxsize)` | [`Queue::new`](crate::Queue::new), [`Queue::bounded`](crate::Queue::bounded) | typed; a put is written before it returns (no feeder thread), so a serialization error is the put's error and joining a producer never deadlocks on unflushed data |
//! | `put`, `put_nowait`, `put(timeout=)` | `put`, `try_put`, `put_timeout` | |
//! | `get`, `get_nowait`, `get(timeout=)` | `get`, `try_get`, `get_timeout` | `for item in q.iter()` ends when the queue is closed and drained |
//! | `qsize`, `empty`, `full` | `qsize`, `is_empty`, `is_full` | exact, not approximate |
//! | `close`, `join_thread`, `cancel_join_thread` | `close` (ends readers' loops once drained); the others are not needed | |
//! | `JoinableQueue`, `task_done`, `join` | [`JoinableQueue`](crate::JoinableQueue) | a consumer that dies between `get` and `task_done` is reported by `join` instead of hanging it |
//! | `SimpleQueue` | [`SimpleQueue`](crate::SimpleQueue) | |
//! | `shutdown()` (3.15) | `close()` | readers drain what is left, then see the end |
//! | `Pipe()`, `Pipe(duplex=False)` | [`Pipe::new`](crate::Pipe::new), [`Pipe::simplex`](crate::Pipe::simplex) | typed ends; several processes may share one end without corrupting messages |
//! | a forked child using a pipe end from a global | pass the end as an argument | a forked child lets go of the ends it was not given: using one is [`PipeError::NotPassed`](crate::PipeError::NotPassed) |
//! | `send`, `recv` | `send`, `recv` (and `try_`/`_timeout` forms) | serde, not pickle: receiving never runs code |
//! | `send_bytes`, `recv_bytes`, `recv_bytes_into`, `poll` | the same names | `recv_bytes_into` fails with `BufferTooShort` carrying the message |
//! | `close`, `closed`, `readable`, `writable`, `fileno` | drop the end; a simplex end is typed as a `Receiver` or a `Sender`, so reading a write-only end does not compile; ends implement `AsFd` | |
//! | `connection.wait([...])`, `p.sentinel` | [`connection::wait`](crate::connection::wait)`(&[&a, &b], timeout)`, `child.sentinel()` | over connections, listeners, pipe ends and children; returns the indices of the ready ones |
//! | `Listener(address, authkey=)`, `Client(address, authkey=)` | [`Listener::bind`](crate::connection::Listener::bind), [`Client::connect`](crate::connection::Client::connect) | Python's framing and HMAC handshake: a Python program connects to an mproc listener and the reverse; the default key is the program authkey where Python defaults to none; Python 3.11's MD5 handshake only with `Options::allow_legacy_md5` |
//! | `conn.send(obj)`, `conn.recv()` with a Python peer | `Options::new().codec(Codec::pickle())` (feature `pickle`) | pickles of plain data both ways; decoding checks every opcode first, runs no code, and is bounded in depth and memory |
//! | `deliver_challenge`, `answer_challenge` | `Connection::deliver_challenge`, `Connection::answer_challenge` | |
//!
//! ## `Pool`
//!
//! | Python | mproc [`Pool`](crate::Pool) | notes |
//! |---|---|---|
//! | `Pool(n, initializer, initargs, maxtasksperchild)` | `Pool::new(n)`, [`Pool::builder`](crate::Pool::builder)`().processes(n).initializer(..).maxtasksperchild(k)` | |
//! | `with Pool() as p:` | `let pool = Pool::new(n)?;` | dropping the pool terminates it, as Python's `__exit__` |
//! | `apply`, `apply_async` | `apply`, `apply_async` → [`AsyncResult`](crate::AsyncResult) | callbacks: `.on_success(cb)`, `.on_error(cb)` |
//! | `map(f, xs)`, `starmap(f, xs)` | `map(f, xs).run()`, `starmap(f, xs).run()` | keyword arguments are methods before `run()`: `pool.map(f, xs, chunksize=8)` is `pool.map(f, xs).chunksize(8).run()`; the task is a `#[pool_task]` function or a non-capturing closure |
//! | `imap`, `imap_unordered` (`chunksize=`) | the same names, an iterator; `.chunksize(n)` on it | |
//! | `map_async`, `starmap_async` | the same names, then `.run()` → [`AsyncResult`](crate::AsyncResult) | |
//! | `r.get(timeout)`, `r.wait`, `r.ready`, `r.successful` | `get`, `get_timeout`, `wait`, `wait_timeout`, `ready`, `successful` | |
//! | `close`, `terminate`, `join` | the same names | |
//! | a task that raises | [`TaskError::Panicked`](crate::TaskError::Panicked) with the message and location | the backtrace too when the worker runs with `RUST_BACKTRACE` set |
//! | a worker killed mid-task (Python hangs in `get`) | [`TaskError::WorkerLost`](crate::TaskError::WorkerLost) for that task only | the pool replaces the worker and goes on |
//! | `MaybeEncodingError` | [`TaskError::EncodeResult`](crate::TaskError::EncodeResult) (and `EncodeArgs`) | the worker is not lost |
//! | `RemoteTraceback` | `message`, `location` and `backtrace` of `TaskError::Panicked` | |
//! | `ThreadPool`, `multiprocessing.dummy` | not provided | use `rayon` or `std::thread::scope` for threads |
//! | `concurrent.futures.ProcessPoolExecutor`, `BrokenProcessPool` | `Pool::apply_async`; a broken pool is a [`PoolError`](crate::PoolError) | |
//!
//! ## Shared memory by name
//!
//! | Python | mproc [`shared_memory`](crate::shared_memory) | notes |
//! |---|---|---|
//! | `SharedMemory(create=True, size=n)` | [`SharedMemory::create`](crate::shared_memory::SharedMemory::create)`(n)` | same `psm_` names, so Python attaches to mproc's blocks and the reverse |
//! | `SharedMemory(name)` | `SharedMemory::attach(name)` | |
//! | `shm.buf[a:b]` | `read_at`/`write_at` (atomic copies), or the `unsafe` `as_slice` | |
//! | `shm.close()`, `shm.unlink()` | drop (or `close()`), `unlink()` | errors as Python's: `Exists`, `NotFound`, `ZeroSize` |
//! | `ShareableList(seq)`, `ShareableList(name=)` | [`ShareableList::create`](crate::shared_memory::ShareableList::create), `attach` | Python's byte layout; items are [`Item`](crate::shared_memory::Item)s |
//! | `SharedMemoryManager` | [`SharedMemoryManager`](crate::manager::SharedMemoryManager) | unlinks every block made through it at shutdown, also when its server was killed (the blocks this handle made) |
//!
//! ## What mproc does that Python does not
//!
//! - A lock holder killed with `kill -9` is reported, not a hang (example `004_ticket_lock`).
//! - A queue's `put` is complete when it returns: no feeder thread, no lost item, no deadlock
//!   joining a producer before draining (example `004_queue_join_before_get`).
//! - Several processes can share one pipe end without corrupting messages (example
//!   `pipe_many_consumers`).
//! - A pool worker killed mid-task fails that task only (example `pool_maxtasksperchild`).
//! - `process!` declares a topology of processes, queues and pipes, checked at compile time;
//!   queues close when their last writer ends, so no sentinel is needed (examples
//!   `topology_*`).
//! - Whatever a peer process sends or writes is checked: see [`trust`](crate::trust).
