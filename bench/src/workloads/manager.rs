//! Manager: a dict set+get round trip, `list.append` from two processes contending, the Lock
//! and Queue proxies' round trips, and a custom object's method call, against Python's
//! `multiprocessing.Manager()` and `BaseManager`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::time::Instant;

use mproc::connection::Auth;
use mproc::manager::{ListProxy, LockProxy, Manager, Server};
use mproc::pipe::Sender;
use mproc::{Barrier, Event, Pipe, Process, process};

use super::echo::{SMALL, echo, echoes, round_trips};
use super::{Figure, Workload, float, repeat, secs_since};
use crate::config::Sizes;
use crate::floor::PATIENCE;
use crate::outcome::{Error, Measured, Outcome, Unit, fail};
use crate::sys::cpu::mono_ns;
use crate::sys::proc::{fork_child, wait_ok};

pub(crate) const WORKLOAD: Workload = Workload {
    name: "manager",
    script: "mp_manager.py",
    figures: &[
        Figure {
            id: "manager.dict_set_get",
            title: "Manager dict set + get (two round trips)",
            unit: Unit::Us,
            pinned: false,
            memory: false,
            about: "one process stores `d[i] = i` then reads `d[i]` back, through a manager \
                    running in a child process; µs per set+get pair. mproc: \
                    `Manager::start`, `DictProxy<u64, u64>::insert` + `get`; Python: \
                    `mp.Manager().dict()` (fork context); floor: two 16-byte round trips on a \
                    Unix socketpair to a forked echo process",
            mproc: mproc_dict_set_get,
            floor: floor_dict_set_get,
            peers: &[],
        },
        Figure {
            id: "manager.list_append",
            title: "Manager list.append, 2 processes contending",
            unit: Unit::OpsPerSec,
            pinned: false,
            memory: false,
            about: "two processes each append N items to one managed list, released together; \
                    appends per second over both, and the run fails unless the list ends with \
                    exactly 2×N items. mproc: `ListProxy<u64>::push` from two `#[process]` \
                    children; Python: `l.append(i)` on an `mp.Manager().list()` proxy; floor: \
                    two forked clients, each doing N 16-byte round trips on its own \
                    socketpair to an echo thread of the parent",
            mproc: mproc_list_append,
            floor: floor_list_append,
            peers: &[],
        },
        Figure {
            id: "manager.lock_acquire_release",
            title: "Manager Lock acquire + release (two round trips)",
            unit: Unit::Us,
            pinned: false,
            memory: false,
            about: "one process acquires then releases a manager lock, uncontended, through a \
                    manager running in a child process; µs per pair. mproc: \
                    `Manager::start`, `LockProxy::acquire` + `release`; Python: \
                    `mp.Manager().Lock()` (fork context); floor: two 16-byte round trips on a \
                    Unix socketpair to a forked echo process",
            mproc: mproc_lock_acquire_release,
            floor: floor_dict_set_get,
            peers: &[],
        },
        Figure {
            id: "manager.queue_put_get",
            title: "Manager Queue put + get (two round trips)",
            unit: Unit::Us,
            pinned: false,
            memory: false,
            about: "one process puts an integer on a manager queue then gets it back; µs per \
                    put+get pair. mproc: `QueueProxy<u64>::put` + `get`; Python: \
                    `q.put(i)` + `q.get()` on an `mp.Manager().Queue()` proxy (fork context); \
                    floor: two 16-byte round trips on a Unix socketpair to a forked echo process",
            mproc: mproc_queue_put_get,
            floor: floor_dict_set_get,
            peers: &[],
        },
        Figure {
            id: "manager.custom_call",
            title: "Manager custom object method call (one round trip)",
            unit: Unit::Us,
            pinned: false,
            memory: false,
            about: "one process calls `counter.add(1)` on a custom object held by a manager \
                    running in a child process, and checks the returned total; µs per call. \
                    mproc: a `#[managed]` type registered with `Manager::builder()`, called \
                    through its generated proxy; Python: a class registered with \
                    `BaseManager.register` (fork context), called through its auto proxy; \
                    floor: one 16-byte round trip on a Unix socketpair to a forked echo process",
            mproc: mproc_custom_call,
            floor: floor_custom_call,
            peers: &[],
        },
        Figure {
            id: "manager.lock_acquire_release.tcp",
            title: "Manager Lock acquire + release, TCP loopback (two round trips)",
            unit: Unit::Us,
            pinned: false,
            memory: false,
            about: "as the Lock row, with the manager serving on 127.0.0.1 in a child process \
                    (as a remote manager would). mproc: `Server::bind(\"127.0.0.1:0\")` in a \
                    child, `Manager::connect`, `LockProxy::acquire` + `release`; Python: \
                    `SyncManager(address=(\"127.0.0.1\", 0))` (fork context), `Lock()`; floor: \
                    two 16-byte round trips on a loopback TCP connection (`TCP_NODELAY`) to a \
                    forked echo process",
            mproc: mproc_lock_tcp,
            floor: floor_tcp,
            peers: &[],
        },
    ],
};

/// The custom object of `manager.custom_call`.
pub(crate) struct Counter {
    total: u64,
}

#[mproc::managed]
impl Counter {
    pub(crate) fn new() -> Self {
        Self { total: 0 }
    }

    pub(crate) fn add(&mut self, by: u64) -> u64 {
        self.total += by;
        self.total
    }
}

fn mproc_custom_call(sizes: &Sizes) -> Result<Outcome, Error> {
    let manager = Manager::builder().register::<Counter>().start()?;
    let counter = manager.create::<Counter>(())?;
    let rounds = sizes.pingpong;
    let mut expected = 0;
    let samples = repeat(sizes, || {
        let start = Instant::now();
        for _ in 0..rounds {
            expected += 1;
            if counter.add(1)? != expected {
                return Err(fail("the counter lost an increment"));
            }
        }
        Ok(secs_since(start) * 1e6 / float(rounds))
    })?;
    manager.shutdown()?;
    Ok(Outcome::Measured(Measured::new(samples)))
}

/// Serves a manager on TCP loopback; reports its address first.
#[allow(
    clippy::needless_pass_by_value,
    reason = "a process target takes its argument by value: it arrives deserialized"
)]
fn serve_tcp(report: Sender<Result<String, String>>) -> Result<(), String> {
    let server = match Server::bind("127.0.0.1:0", Auth::Program) {
        Ok(server) => server,
        Err(e) => {
            let _ = report.send(&Err(e.to_string()));
            return Err(e.to_string());
        }
    };
    report
        .send(&Ok(server.address().to_string()))
        .map_err(|e| e.to_string())?;
    server.serve_forever().map_err(|e| e.to_string())
}

/// µs per acquire + release pair of `lock`.
fn time_lock(sizes: &Sizes, lock: &LockProxy) -> Result<Vec<f64>, Error> {
    let rounds = sizes.pingpong;
    repeat(sizes, || {
        let start = Instant::now();
        for _ in 0..rounds {
            lock.acquire()?;
            lock.release()?;
        }
        Ok(secs_since(start) * 1e6 / float(rounds))
    })
}

fn mproc_lock_tcp(sizes: &Sizes) -> Result<Outcome, Error> {
    let (rx, tx) = Pipe::<Result<String, String>>::simplex()?;
    let child = Process::new(serve_tcp, tx).daemon(true).start()?;
    let address = rx.recv_timeout(PATIENCE)?.map_err(fail)?;
    let manager = Manager::connect(address.as_str(), Auth::Program)?;
    let samples = manager
        .lock()
        .map_err(Error::from)
        .and_then(|lock| time_lock(sizes, &lock));
    let stopped = manager.shutdown();
    let joined = child.join_timeout(PATIENCE);
    let samples = samples?;
    stopped?;
    joined?.map_err(fail)?;
    Ok(Outcome::Measured(Measured::new(samples)))
}

fn floor_tcp(sizes: &Sizes) -> Result<Outcome, Error> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let address = listener.local_addr()?;
    let total = echoes(sizes, 2);
    let child = fork_child(move || {
        let stream = TcpStream::connect(address)?;
        stream.set_nodelay(true)?;
        echo(stream, total)
    })?;
    let (parent, _) = listener.accept()?;
    parent.set_nodelay(true)?;
    round_trips(sizes, parent, child, 2)
}

fn mproc_lock_acquire_release(sizes: &Sizes) -> Result<Outcome, Error> {
    let manager = Manager::start()?;
    let samples = time_lock(sizes, &manager.lock()?)?;
    manager.shutdown()?;
    Ok(Outcome::Measured(Measured::new(samples)))
}

fn mproc_queue_put_get(sizes: &Sizes) -> Result<Outcome, Error> {
    let manager = Manager::start()?;
    let queue = manager.queue::<u64>()?;
    let rounds = sizes.pingpong;
    let samples = repeat(sizes, || {
        let start = Instant::now();
        for i in 0..rounds {
            queue.put(&i)?;
            if queue.get()? != i {
                return Err(fail("the queue lost an item"));
            }
        }
        Ok(secs_since(start) * 1e6 / float(rounds))
    })?;
    manager.shutdown()?;
    Ok(Outcome::Measured(Measured::new(samples)))
}

fn mproc_dict_set_get(sizes: &Sizes) -> Result<Outcome, Error> {
    let manager = Manager::start()?;
    let d = manager.dict::<u64, u64>()?;
    let rounds = sizes.pingpong;
    let samples = repeat(sizes, || {
        let start = Instant::now();
        for i in 0..rounds {
            d.insert(&i, &i)?;
            if d.get(&i)? != Some(i) {
                return Err(fail("the dict lost a value"));
            }
        }
        Ok(secs_since(start) * 1e6 / float(rounds))
    })?;
    manager.shutdown()?;
    Ok(Outcome::Measured(Measured::new(samples)))
}

/// One appender: says it is `ready`, waits for `go`, appends `ops` items; returns when done.
#[process]
fn mproc_append(list: ListProxy<u64>, ready: Barrier, go: Event, ops: u64) -> Result<u64, String> {
    ready.wait_timeout(PATIENCE).map_err(|e| e.to_string())?;
    go.wait_timeout(PATIENCE)
        .map_err(|_| "no start signal".to_owned())?;
    for i in 0..ops {
        list.push(&i).map_err(|e| e.to_string())?;
    }
    Ok(mono_ns())
}

fn mproc_list_append(sizes: &Sizes) -> Result<Outcome, Error> {
    let manager = Manager::start()?;
    let ops = sizes.pingpong;
    let samples = repeat(sizes, || {
        let (list, ready, go) = (manager.list::<u64>()?, Barrier::new(3)?, Event::new()?);
        let children = (0..2)
            .map(|_| {
                Ok(mproc_append::builder().daemon(true).spawn(
                    list.clone(),
                    ready.clone(),
                    go.clone(),
                    ops,
                )?)
            })
            .collect::<Result<Vec<_>, Error>>()?;
        super::lock::race_two(children, &ready, &go, ops, || {
            list.len().map_or(0, |n| n as u64)
        })
    })?;
    manager.shutdown()?;
    Ok(Outcome::Measured(Measured::new(samples)))
}

fn floor_dict_set_get(sizes: &Sizes) -> Result<Outcome, Error> {
    floor_round_trips(sizes, 2)
}

fn floor_custom_call(sizes: &Sizes) -> Result<Outcome, Error> {
    floor_round_trips(sizes, 1)
}

/// `per_op` 16-byte round trips on a Unix socketpair to a forked echo process; µs per op.
fn floor_round_trips(sizes: &Sizes, per_op: u64) -> Result<Outcome, Error> {
    let (parent, child_end) = UnixStream::pair()?;
    let total = echoes(sizes, per_op);
    let child = fork_child(move || echo(child_end, total))?;
    round_trips(sizes, parent, child, per_op)
}

fn floor_list_append(sizes: &Sizes) -> Result<Outcome, Error> {
    let ops = sizes.pingpong;
    let samples = repeat(sizes, || {
        let mut servers = Vec::new();
        let mut clients = Vec::new();
        let mut gos = Vec::new();
        for _ in 0..2 {
            let (server_end, mut client_end) = UnixStream::pair()?;
            let (go_tx, mut go_rx) = UnixStream::pair()?;
            clients.push(fork_child(move || -> std::io::Result<()> {
                let mut start = [0u8; 1];
                go_rx.read_exact(&mut start)?;
                let (message, mut back) = ([7u8; SMALL], [0u8; SMALL]);
                for _ in 0..ops {
                    client_end.write_all(&message)?;
                    client_end.read_exact(&mut back)?;
                }
                Ok(())
            })?);
            servers.push(std::thread::spawn(move || echo(server_end, ops)));
            gos.push(go_tx);
        }
        let start = Instant::now();
        for go in &mut gos {
            go.write_all(b"g")?;
        }
        for client in clients {
            wait_ok(client)?;
        }
        let elapsed = secs_since(start);
        for server in servers {
            server.join().map_err(|_| fail("echo thread panicked"))??;
        }
        Ok(float(2 * ops) / elapsed)
    })?;
    Ok(Outcome::Measured(Measured::new(samples)))
}
