//! No descriptor, mapping or zombie is left behind: by any way a child can end, by pipes
//! (every message path, handles passed through them, ends shared between processes), by queues
//! (items in the ring, beside it, with handles; a queue sent through a pipe), or by pools
//! (closed, terminated, dropped, with a worker crashing).
//!
//! One test in its own binary, so nothing else runs concurrently and the counts are exact.

#![allow(
    clippy::needless_pass_by_value,
    reason = "process targets take their arguments by value: they arrive deserialized"
)]

use std::time::Duration;

use integration_tests::gate::{self, Gate, Passed};
use integration_tests::{METHODS, TIMEOUT, procs};
use mproc::codec::Fd;
use mproc::prelude::*;

fn wait_at(gate: Gate) -> u8 {
    assert_eq!(gate.wait(Duration::from_hours(1)), Passed::Opened);
    1
}

fn exit_with(code: i32) {
    std::process::exit(code)
}

fn panics(_: ()) -> u8 {
    panic!("deliberate")
}

fn every_ending(method: StartMethod) {
    // Returned and joined.
    let c = Process::new(|x: u8| x, 3)
        .start_method(method)
        .start()
        .unwrap();
    assert_eq!(procs::join(&c).unwrap(), 3);
    // exit(n), panic.
    let c = Process::new(exit_with, 4)
        .start_method(method)
        .start()
        .unwrap();
    assert!(procs::join(&c).is_err());
    let c = Process::new(panics, ())
        .start_method(method)
        .start()
        .unwrap();
    assert!(procs::join(&c).is_err());
    // Killed while blocked, after a timed-out join.
    let (opener, gate) = gate::gate();
    let c = Process::new(wait_at, gate)
        .start_method(method)
        .start()
        .unwrap();
    assert!(c.join_timeout(Duration::from_millis(10)).is_err());
    c.kill().unwrap();
    assert!(procs::join(&c).is_err());
    drop(opener);
    // Dropped without join, finishing later.
    let (opener, gate) = gate::gate();
    let c = Process::new(wait_at, gate)
        .start_method(method)
        .start()
        .unwrap();
    let handle = c.handle();
    drop(c);
    opener.open();
    handle.wait_timeout(TIMEOUT).unwrap();
    drop(handle);
    // Dropped without join, never waited for by anyone: reaped by active_children().
    let (opener, gate) = gate::gate();
    let c = Process::new(wait_at, gate)
        .start_method(method)
        .start()
        .unwrap();
    let pid = c.pid();
    drop(c);
    opener.open();
    assert!(procs::wait_for_exit(pid, TIMEOUT));
    // Values too large for a forked child's result slot, or holding a descriptor: joined, and
    // dropped unjoined after the child ended.
    for len in [0, 10_000, 1 << 20] {
        let c = Process::new(bytes_with_fd, len)
            .start_method(method)
            .start()
            .unwrap();
        let (bytes, _fd) = procs::join(&c).unwrap();
        assert_eq!(bytes.len(), len);
        let c = Process::new(bytes_with_fd, len)
            .start_method(method)
            .start()
            .unwrap();
        let handle = c.handle();
        drop(c);
        handle.wait_timeout(TIMEOUT).unwrap();
    }
}

fn bytes_with_fd(len: usize) -> (Vec<u8>, Fd) {
    let file: std::os::fd::OwnedFd = std::fs::File::open("/dev/null").unwrap().into();
    (vec![7; len], Fd::from(file))
}

fn pipe_echo(conn: Connection<(Vec<u8>, Option<Fd>)>) {
    while let Ok((bytes, fd)) = conn.recv() {
        conn.send(&(bytes, fd)).unwrap();
    }
}

fn every_pipe_path(method: StartMethod) {
    let (here, there) = Pipe::<(Vec<u8>, Option<Fd>)>::new().unwrap();
    let child = Process::new(pipe_echo, there.try_clone().unwrap())
        .start_method(method)
        .start();
    let child = child.unwrap();
    drop(there);
    for len in [0, 100, 70_000, 1 << 20] {
        let file: std::os::fd::OwnedFd = std::fs::File::open("/dev/null").unwrap().into();
        here.send(&(vec![1; len], Some(Fd::from(file)))).unwrap();
        let (back, fd) = here.recv_timeout(TIMEOUT).unwrap();
        assert_eq!((back.len(), fd.is_some()), (len, true));
    }
    here.send_bytes(b"not a tuple").unwrap(); // the child's recv fails to decode and it exits
    assert!(matches!(here.recv_timeout(TIMEOUT), Err(PipeError::Eof)));
    procs::join(&child).unwrap();

    let (rx, tx) = Pipe::<u8>::simplex().unwrap();
    let mut big = rx.try_clone().unwrap();
    big.set_max_message_len(1);
    tx.send_bytes(&vec![0; 100_000]).unwrap();
    assert!(
        matches!(
            big.recv_bytes_timeout(TIMEOUT),
            Err(PipeError::TooLarge { .. })
        ),
        "refused memfd closed"
    );
    drop((rx, tx, big));
}

type Parcel = (Vec<u8>, Option<Fd>);

fn queue_echo((from, to): (Queue<Parcel>, Queue<Parcel>)) {
    for parcel in &from {
        to.put(&parcel.unwrap()).unwrap();
    }
}

fn every_queue_path(method: StartMethod) {
    let there = Queue::<Parcel>::builder()
        .ring_bytes(64 << 10)
        .build()
        .unwrap();
    let back = Queue::<Parcel>::new().unwrap();
    let child = Process::new(queue_echo, (there.clone(), back.clone()))
        .start_method(method)
        .start()
        .unwrap();
    for len in [0, 100, 40_000, 1 << 20] {
        let file: std::os::fd::OwnedFd = std::fs::File::open("/dev/null").unwrap().into();
        there.put_timeout(&(vec![1; len], None), TIMEOUT).unwrap();
        there
            .put_timeout(&(vec![2; len], Some(Fd::from(file))), TIMEOUT)
            .unwrap();
        assert_eq!(back.get_timeout(TIMEOUT).unwrap().0.len(), len);
        assert!(back.get_timeout(TIMEOUT).unwrap().1.is_some());
    }
    there.close();
    procs::join(&child).unwrap();
    // Items left in a dropped queue, and a queue sent through a pipe.
    let (rx, tx) = Pipe::<JoinableQueue<Parcel>>::simplex().unwrap();
    let q = JoinableQueue::new().unwrap();
    let file: std::os::fd::OwnedFd = std::fs::File::open("/dev/null").unwrap().into();
    q.put_timeout(&(vec![3; 200_000], Some(Fd::from(file))), TIMEOUT)
        .unwrap();
    tx.send(&q).unwrap();
    let received = rx.recv_timeout(TIMEOUT).unwrap();
    assert_eq!(received.qsize(), 1);
    drop((q, received, rx, tx, there, back));
}

fn abort_task(_: ()) -> u8 {
    std::process::abort()
}

fn every_pool_ending(method: StartMethod) {
    // Closed and joined, with a crash along the way.
    let pool = Pool::builder()
        .processes(2)
        .start_method(method)
        .build()
        .unwrap();
    let squares = pool
        .map_async(|x: u64| x * x, 0..100)
        .run()
        .unwrap()
        .get_timeout(TIMEOUT)
        .unwrap();
    assert_eq!(squares.len(), 100);
    let lost = pool
        .apply_async(abort_task, ())
        .unwrap()
        .get_timeout(TIMEOUT);
    assert!(matches!(lost, Err(TaskError::WorkerLost { .. })));
    let (here, there) = Pipe::<u8>::new().unwrap();
    let sent = pool
        .apply_async(|c: Connection<u8>| c.send(&7).unwrap(), there)
        .unwrap();
    sent.get_timeout(TIMEOUT).unwrap();
    assert_eq!(here.recv_timeout(TIMEOUT).unwrap(), 7);
    pool.close();
    pool.join_timeout(TIMEOUT).unwrap();
    // Terminated with work pending.
    let pool = Pool::builder()
        .processes(2)
        .start_method(method)
        .build()
        .unwrap();
    let pending = pool
        .map_async(|x: u64| x + 1, 0..5000)
        .chunksize(1)
        .run()
        .unwrap();
    pool.terminate();
    assert!(pending.get_timeout(TIMEOUT).is_ok() || !pending.successful().unwrap());
    // Dropped while running.
    let pool = Pool::new(1).unwrap();
    drop(pool.apply_async(|x: u8| x, 1).unwrap());
    drop(pool);
}

#[test]
fn nothing_is_left_behind() {
    // Warm up lazily created state (the spawn hook, the exit handler, thread buffers, the fork
    // server and its launcher thread) first.
    for method in METHODS {
        every_ending(method);
        every_pipe_path(method);
        every_queue_path(method);
        every_pool_ending(method);
    }
    assert!(active_children().is_empty());
    let fds = procs::fd_count();
    let maps = procs::mapping_count();
    // The only child left is the fork server, which lives as long as this process.
    let server: Vec<i32> = mproc::diag::fork_server_pid().into_iter().collect();
    assert_eq!(procs::children_of_self(), server);

    for method in METHODS {
        for _ in 0..3 {
            every_ending(method);
            every_pipe_path(method);
            every_queue_path(method);
            every_pool_ending(method);
        }
    }

    assert!(active_children().is_empty(), "finished children are reaped");
    assert_eq!(procs::children_of_self(), server, "no zombie remains");
    assert_eq!(mproc::diag::fork_server_pid(), server.first().copied());
    assert_eq!(procs::fd_count(), fds, "no descriptor leaked");
    assert_eq!(procs::mapping_count(), maps, "no mapping leaked");
}
