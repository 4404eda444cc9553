//! Spawn + join: start a process that does nothing and wait for it, per start method.

use std::ffi::CStr;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Instant;

use mproc::{Process, StartMethod};

use super::{Figure, Workload, float, repeat, secs_since};
use crate::config::Sizes;
use crate::outcome::{Error, Measured, Outcome, Unit};
use crate::peers;
use crate::sys::proc::{fork_child, fork_exec, fork_exit_now, wait_ok};

pub(crate) const WORKLOAD: Workload = Workload {
    name: "spawn",
    script: "mp_spawn.py",
    figures: &[
        Figure {
            id: "spawn.fork",
            title: "spawn + join, fork",
            unit: Unit::Ms,
            pinned: false,
            memory: false,
            about: "mproc: `Process::new(f, ()).start_method(Fork).start()?.join()` of an empty \
                    `f`; Python: `get_context('fork').Process(target=f)`, `start()`, `join()`; \
                    floor: `fork()` with `_exit(0)` in the child, `waitpid`",
            mproc: mproc_fork,
            floor: floor_fork,
            peers: &[peers::procspawn::SPAWN_FORK],
        },
        Figure {
            id: "spawn.spawn",
            title: "spawn + join, spawn (exec)",
            unit: Unit::Ms,
            pinned: false,
            memory: false,
            about: "mproc: `StartMethod::Spawn` (re-exec of the benchmark binary); Python: \
                    `get_context('spawn')` (a fresh interpreter); floor: `fork()` + `execve` of \
                    `/bin/true` + `waitpid`",
            mproc: mproc_spawn,
            floor: floor_exec,
            peers: &[peers::procspawn::SPAWN_EXEC],
        },
        Figure {
            id: "spawn.forkserver",
            title: "spawn + join, forkserver",
            unit: Unit::Ms,
            pinned: false,
            memory: false,
            about: "mproc: `StartMethod::ForkServer`; Python: `get_context('forkserver')` \
                    (server started in the warm-up); floor: a hand-written fork server (a forked \
                    process that, per request byte on a socketpair, forks a child that \
                    `_exit`s, reaps it, and answers one byte)",
            mproc: mproc_forkserver,
            floor: floor_forkserver,
            peers: &[],
        },
    ],
};

/// The child's work: nothing.
fn nothing(_: ()) {}

/// Milliseconds per start+join of `count` processes started by `start_and_join`.
fn per_process_ms(
    sizes: &Sizes,
    count: u32,
    mut start_and_join: impl FnMut() -> Result<(), Error>,
) -> Result<Vec<f64>, Error> {
    repeat(sizes, || {
        let start = Instant::now();
        for _ in 0..count {
            start_and_join()?;
        }
        Ok(secs_since(start) * 1e3 / float(u64::from(count)))
    })
}

fn mproc_with(sizes: &Sizes, method: StartMethod, count: u32) -> Result<Outcome, Error> {
    let samples = per_process_ms(sizes, count, || {
        Process::new(nothing, ())
            .start_method(method)
            .start()?
            .join()?;
        Ok(())
    })?;
    Ok(Outcome::Measured(Measured::new(samples)))
}

fn mproc_fork(sizes: &Sizes) -> Result<Outcome, Error> {
    mproc_with(sizes, StartMethod::Fork, sizes.spawn_fork)
}

fn mproc_spawn(sizes: &Sizes) -> Result<Outcome, Error> {
    mproc_with(sizes, StartMethod::Spawn, sizes.spawn_exec)
}

/// The server starts during the first (warm-up) run, as Python's.
fn mproc_forkserver(sizes: &Sizes) -> Result<Outcome, Error> {
    mproc_with(sizes, StartMethod::ForkServer, sizes.spawn_exec)
}

fn floor_fork(sizes: &Sizes) -> Result<Outcome, Error> {
    let samples = per_process_ms(sizes, sizes.spawn_fork, || {
        wait_ok(fork_exit_now()?)?;
        Ok(())
    })?;
    Ok(Outcome::Measured(Measured::new(samples)))
}

fn floor_exec(sizes: &Sizes) -> Result<Outcome, Error> {
    let program: &CStr = c"/bin/true";
    let samples = per_process_ms(sizes, sizes.spawn_exec, || {
        wait_ok(fork_exec(program)?)?;
        Ok(())
    })?;
    Ok(Outcome::Measured(Measured::new(samples)))
}

/// The fork server's loop: one request byte in, one child forked and reaped, one byte out.
fn serve_forks(server: &mut UnixStream) -> std::io::Result<()> {
    let mut byte = [0u8];
    loop {
        if server.read(&mut byte)? == 0 || byte[0] == 0 {
            return Ok(());
        }
        let ok = fork_exit_now().and_then(wait_ok).is_ok();
        server.write_all(&[u8::from(ok)])?;
    }
}

fn floor_forkserver(sizes: &Sizes) -> Result<Outcome, Error> {
    let (mut client, mut server) = UnixStream::pair()?;
    // A server left behind by a failing parent gives up after a while instead of lingering.
    server.set_read_timeout(Some(crate::floor::PATIENCE))?;
    let server_pid = fork_child(|| serve_forks(&mut server))?;
    drop(server);
    let mut answer = [0u8];
    let samples = per_process_ms(sizes, sizes.spawn_exec, || {
        client.write_all(&[1])?;
        client.read_exact(&mut answer)?;
        if answer[0] == 1 {
            Ok(())
        } else {
            Err(crate::outcome::fail("the fork server's child failed"))
        }
    });
    client.write_all(&[0])?;
    wait_ok(server_pid)?;
    Ok(Outcome::Measured(Measured::new(samples?)))
}
