//! Pipes between real processes, under every start method.

#![allow(
    clippy::needless_pass_by_value,
    reason = "process targets take their arguments by value: they arrive deserialized"
)]

use std::io::Write;

use integration_tests::gate::{self, Gate, Opener};
use integration_tests::{METHODS, TIMEOUT, procs};
use mproc::codec::Fd;
use mproc::pipe::{Receiver, Sender};
use mproc::prelude::*;

/// Receives until the end of the stream, each wait bounded by [`TIMEOUT`].
fn drain<T: serde::de::DeserializeOwned>(rx: &Receiver<T>) -> Vec<T> {
    let mut out = Vec::new();
    loop {
        match rx.recv_timeout(TIMEOUT) {
            Ok(v) => out.push(v),
            Err(PipeError::Eof) => return out,
            Err(e) => panic!("receiving: {e}"),
        }
    }
}

fn wait_for_gate(gate: Gate) {
    assert_eq!(gate.wait(TIMEOUT), gate::Passed::Opened);
}

/// A forked child inherits the parent's ends in its memory, but does not keep the pipe open:
/// once the parent closes its sending end, the reader sees the end of the stream while the
/// child still runs.
#[test]
fn a_forked_child_does_not_keep_inherited_ends_open() {
    let (rx, tx) = Pipe::<u8>::simplex().unwrap();
    let (release, gate) = gate::gate();
    let child = Process::new(wait_for_gate, gate)
        .start_method(StartMethod::Fork)
        .start()
        .unwrap();
    tx.send(&1).unwrap();
    drop(tx);
    assert_eq!(rx.recv_timeout(TIMEOUT).unwrap(), 1);
    assert!(
        matches!(rx.recv_timeout(TIMEOUT), Err(PipeError::Eof)),
        "the child kept it open"
    );
    assert!(child.is_alive());
    release.open();
    procs::join(&child).unwrap();
}

fn echo(conn: Connection<String>) -> u32 {
    let mut n = 0;
    while let Ok(text) = conn.recv() {
        conn.send(&format!("echo: {text}")).unwrap();
        n += 1;
    }
    n
}

#[test]
fn echo_across_processes() {
    for method in METHODS {
        let (here, there) = Pipe::<String>::new().unwrap();
        let child = Process::new(echo, there)
            .start_method(method)
            .start()
            .unwrap();
        for word in ["one", "", "three"] {
            here.send(&word.to_owned()).unwrap();
            assert_eq!(here.recv_timeout(TIMEOUT).unwrap(), format!("echo: {word}"));
        }
        drop(here);
        assert_eq!(procs::join(&child).unwrap(), 3, "{method:?}");
    }
}

fn byte_echo(conn: Connection<()>) {
    while let Ok(bytes) = conn.recv_bytes() {
        conn.send_bytes(&bytes).unwrap();
    }
}

#[test]
fn bytes_of_every_size_cross_intact() {
    let (here, there) = Pipe::<()>::new().unwrap();
    let child = Process::new(byte_echo, there).start().unwrap();
    for len in [0usize, 1, 4096, 64 * 1024, 64 * 1024 + 1, 3 << 20] {
        let msg: Vec<u8> = (0..len)
            .map(|i| u8::try_from(i * 7 % 256).unwrap())
            .collect();
        here.send_bytes(&msg).unwrap();
        assert!(
            here.recv_bytes_timeout(TIMEOUT).unwrap() == msg,
            "{len} bytes"
        );
    }
    drop(here);
    procs::join(&child).unwrap();
}

fn produce((tx, count): (Sender<u32>, u32)) {
    for i in 0..count {
        tx.send(&i).unwrap();
    }
}

#[test]
fn the_consumer_ends_at_eof_once_spare_ends_are_closed() {
    for method in METHODS {
        let (rx, tx) = Pipe::<u32>::simplex().unwrap();
        let producer = Process::new(produce, (tx, 100))
            .start_method(method)
            .start();
        // `tx` moved into the arguments and was dropped after serialization: the only writer
        // left is the child's copy, so EOF comes when it exits.
        let producer = producer.unwrap();
        let got: Vec<u32> = drain(&rx);
        assert_eq!(got, (0..100).collect::<Vec<_>>(), "{method:?}");
        procs::join(&producer).unwrap();
    }
}

fn consume(rx: Receiver<Vec<u32>>) -> Vec<u32> {
    rx.iter()
        .map(|m| {
            let m = m.unwrap();
            // Each message is [id, id, id...]: a torn one would mix ids.
            assert!(m.iter().all(|&x| x == m[0]), "torn message");
            m[0]
        })
        .collect()
}

fn produce_vectors((tx, first, count): (Sender<Vec<u32>>, u32, u32)) {
    for id in first..first + count {
        // Mostly small, every 25th above the inline limit.
        let len = if id % 25 == 0 {
            20_000
        } else {
            1 + (id % 40) as usize
        };
        tx.send(&vec![id; len]).unwrap();
    }
}

/// Seed 003, "multiple consumers": several processes on one receiving end (and several on one
/// sending end). Python corrupts data here; every message arrives intact, exactly once.
#[test]
fn several_processes_share_one_end_and_every_message_arrives_once() {
    for method in METHODS {
        let (rx, tx) = Pipe::<Vec<u32>>::simplex().unwrap();
        let consumers: Vec<_> = (0..3)
            .map(|_| {
                Process::new(consume, rx.try_clone().unwrap())
                    .start_method(method)
                    .start()
                    .unwrap()
            })
            .collect();
        let producers: Vec<_> = (0..2)
            .map(|p| {
                Process::new(produce_vectors, (tx.try_clone().unwrap(), p * 1000, 400))
                    .start_method(method)
                    .start()
                    .unwrap()
            })
            .collect();
        drop((rx, tx));
        for p in &producers {
            procs::join(p).unwrap();
        }
        let mut all: Vec<u32> = consumers
            .iter()
            .flat_map(|c| procs::join(c).unwrap())
            .collect();
        all.sort_unstable();
        let expected: Vec<u32> = (0..400).chain(1000..1400).collect();
        assert!(
            all == expected,
            "{method:?}: {} received, {} sent",
            all.len(),
            expected.len()
        );
    }
}

fn write_to_file(fd: Fd) {
    let mut file = std::fs::File::from(fd.into_inner());
    file.write_all(b"written by the child").unwrap();
}

/// A child that is already running receives, through a pipe, a pipe end and a file, and uses
/// both.
fn serve((inbox, done): (Receiver<(Connection<String>, Fd)>, Opener)) {
    let (conn, file) = inbox.recv().unwrap();
    write_to_file(file);
    let greeting = conn.recv().unwrap();
    conn.send(&format!("{greeting} back")).unwrap();
    done.open();
}

#[test]
fn handles_reach_a_process_that_is_already_running() {
    for method in METHODS {
        let (inbox_rx, inbox_tx) = Pipe::<(Connection<String>, Fd)>::simplex().unwrap();
        let (done, finished): (Opener, Gate) = gate::gate();
        let child = Process::new(serve, (inbox_rx, done))
            .start_method(method)
            .start()
            .unwrap();

        let path =
            std::env::temp_dir().join(format!("mproc-pipe-{}-{method:?}", std::process::id()));
        let file = std::fs::File::create(&path).unwrap();
        let (here, there) = Pipe::<String>::new().unwrap();
        inbox_tx
            .send(&(there, Fd::from(std::os::fd::OwnedFd::from(file))))
            .unwrap();
        here.send(&"hello".to_owned()).unwrap();
        assert_eq!(here.recv_timeout(TIMEOUT).unwrap(), "hello back");
        assert_eq!(finished.wait(TIMEOUT), gate::Passed::Opened);
        procs::join(&child).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "written by the child"
        );
        std::fs::remove_file(path).unwrap();
    }
}

fn send_forever((tx, started): (Sender<Vec<u64>>, Opener)) {
    let mut started = Some(started);
    for i in 0u64.. {
        let len = if i % 10 == 0 { 12_000 } else { 8 };
        tx.send(&vec![i; len]).unwrap();
        if i == 50 {
            started.take().unwrap().open();
        }
    }
}

/// A sender killed at a random moment leaves only whole messages behind.
#[test]
fn a_sender_killed_mid_stream_leaves_no_torn_message() {
    for method in METHODS {
        let (rx, tx) = Pipe::<Vec<u64>>::simplex().unwrap();
        let (started, running) = gate::gate();
        let child = Process::new(send_forever, (tx, started))
            .start_method(method)
            .start()
            .unwrap();
        assert_eq!(running.wait(TIMEOUT), gate::Passed::Opened);
        let mut next = 0u64;
        // Receive a little while it keeps sending, then kill it mid-flight.
        for _ in 0..20 {
            let m = rx.recv_timeout(TIMEOUT).unwrap();
            assert!(
                m.iter().all(|&x| x == next),
                "message {next} torn or out of order"
            );
            next += 1;
        }
        child.kill().unwrap();
        assert!(matches!(
            procs::join(&child),
            Err(ProcessError::Killed { signal: 9 })
        ));
        for m in drain(&rx) {
            assert!(
                m.iter().all(|&x| x == next),
                "message {next} torn or out of order"
            );
            next += 1;
        }
        assert!(next > 20, "{method:?}");
    }
}

#[test]
fn poll_sees_data_then_close_and_close_before_poll() {
    // Seed 003: data then the other end closes...
    let (a, b) = Pipe::<u8>::new().unwrap();
    let child = Process::new(|c: Connection<u8>| c.send(&1).unwrap(), a)
        .start()
        .unwrap();
    procs::join(&child).unwrap();
    assert!(b.poll(Some(TIMEOUT)).unwrap());
    assert_eq!(b.recv_timeout(TIMEOUT).unwrap(), 1);
    // The end of the stream comes when every copy of `a` is closed, not when the child exits:
    // a process that a test running beside this one starts meanwhile holds copies of all of
    // this process's descriptors between its `fork` and its `exec` (spawn) or its letting go
    // of inherited pipe ends (fork), which under load can be after the child has exited. So
    // wait for it (bounded), rather than only look.
    assert!(b.poll(Some(TIMEOUT)).unwrap(), "closed: readable");
    assert!(matches!(b.recv_timeout(TIMEOUT), Err(PipeError::Eof)));
    // ... and the other end closes before anything is sent.
    let (a, b) = Pipe::<u8>::new().unwrap();
    let child = Process::new(|c: Connection<u8>| drop(c), a)
        .start()
        .unwrap();
    procs::join(&child).unwrap();
    assert!(b.poll(Some(TIMEOUT)).unwrap(), "closed: readable");
    assert!(matches!(b.recv_timeout(TIMEOUT), Err(PipeError::Eof)));
}
