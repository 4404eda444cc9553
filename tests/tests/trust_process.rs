//! The trust boundary of processes: what another process of the same user can do to a parent
//! and its children, and what a child inherits that it was not given.
//!
//! - A `Fork` child's large outcome travels to its parent's result listener, an abstract
//!   socket any same-user process can find (in `/proc/net/unix`) and connect to. A forged
//!   delivery aimed at a live child's ticket must never become that child's result, and idle
//!   connections must not grow the parent without bound.
//! - A `Spawn` (or fork server) child holds only the descriptors it is given, plus stdio: a
//!   descriptor the parent holds without close-on-exec is not open in it.

#![allow(
    clippy::needless_pass_by_value,
    reason = "process targets take their arguments by value: they arrive deserialized"
)]

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use integration_tests::gate::{Gate, Opener, Passed, gate};
use integration_tests::{TIMEOUT, procs};
use mproc::prelude::*;

/// Whether descriptor `fd` is open in this process.
fn fd_is_open(fd: RawFd) -> bool {
    // SAFETY: F_GETFD only reads the flags of the descriptor; any number is a valid argument.
    unsafe { libc::fcntl(fd, libc::F_GETFD) != -1 }
}

#[test]
fn spawned_children_do_not_inherit_descriptors_they_were_not_given() {
    // SAFETY: a NUL-terminated path and plain flags.
    let raw = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    assert!(raw >= 0, "open /dev/null");
    // SAFETY: just opened; nothing else owns it.
    let original = unsafe { OwnedFd::from_raw_fd(raw) };
    // F_DUPFD (not F_DUPFD_CLOEXEC): a copy *without* close-on-exec, at a number far above
    // anything a child opens for itself, so a child's own descriptor cannot be mistaken for it.
    // SAFETY: duplicates a descriptor this test owns; the copy is owned below.
    let high = unsafe { libc::fcntl(original.as_raw_fd(), libc::F_DUPFD, 900) };
    assert!(high >= 900, "F_DUPFD");
    // SAFETY: just made; nothing else owns it.
    let leaky = unsafe { OwnedFd::from_raw_fd(high) };
    assert!(fd_is_open(high));
    for method in [StartMethod::Spawn, StartMethod::ForkServer] {
        let child = Process::new(fd_is_open, high)
            .start_method(method)
            .start()
            .unwrap();
        let open = procs::join(&child).unwrap();
        assert!(
            !open,
            "{method}: the parent's descriptor {high} (no close-on-exec) is open in the child"
        );
    }
    drop(leaky);
}

/// The abstract name (without its leading NUL) of the result listener of process `pid`, as
/// any process of the system can read it in `/proc/net/unix`.
fn result_listener_of(pid: i32) -> Option<Vec<u8>> {
    let table = std::fs::read_to_string("/proc/net/unix").ok()?;
    let prefix = format!("@mproc-results-{pid}-");
    table
        .lines()
        .filter_map(|line| line.split_whitespace().nth(7))
        .find(|path| path.starts_with(&prefix))
        .map(|path| path.as_bytes()[1..].to_vec())
}

/// A `SOCK_SEQPACKET` connection to the abstract address `name`, made with raw system calls
/// (as an attacker would, without mproc).
fn connect_raw(name: &[u8]) -> OwnedFd {
    // SAFETY: plain arguments; returns a new descriptor or -1.
    let raw = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC, 0) };
    assert!(raw >= 0, "socket");
    // SAFETY: just made; nothing else owns it.
    let sock = unsafe { OwnedFd::from_raw_fd(raw) };
    // SAFETY: sockaddr_un is plain data; all-zero is valid.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    addr.sun_family = libc::sa_family_t::try_from(libc::AF_UNIX).unwrap();
    assert!(name.len() < addr.sun_path.len());
    for (dst, &src) in addr.sun_path[1..].iter_mut().zip(name) {
        *dst = src.cast_signed();
    }
    let len = std::mem::size_of::<libc::sa_family_t>() + 1 + name.len();
    // SAFETY: `addr` is a valid sockaddr_un of which the first `len` bytes are used.
    let ret = unsafe {
        libc::connect(
            sock.as_raw_fd(),
            (&raw const addr).cast(),
            libc::socklen_t::try_from(len).unwrap(),
        )
    };
    assert_eq!(ret, 0, "connect: {}", std::io::Error::last_os_error());
    sock
}

/// Sends one record (`0x01`, inline, then `payload`) with `fds` attached.
fn send_record(sock: BorrowedFd<'_>, payload: &[u8], fds: &[RawFd]) {
    use nix::sys::socket::{ControlMessage, MsgFlags, sendmsg};
    let mut record = vec![0x01];
    record.extend_from_slice(payload);
    let iov = [std::io::IoSlice::new(&record)];
    let rights = [ControlMessage::ScmRights(fds)];
    let cmsgs: &[ControlMessage<'_>] = if fds.is_empty() { &[] } else { &rights };
    sendmsg::<()>(sock.as_raw_fd(), &iov, cmsgs, MsgFlags::empty(), None).expect("sendmsg");
}

const REAL_LEN: usize = 5000;

/// Returns a value too large for a result slot (so it goes to the result listener), once
/// `gate` opens.
fn large_after(gate: Gate) -> Vec<u8> {
    assert_eq!(gate.wait(TIMEOUT), Passed::Opened);
    vec![7; REAL_LEN]
}

#[test]
fn a_forged_delivery_never_becomes_a_forked_childs_result() {
    let (opener, waiting) = gate();
    let child = Process::new(large_after, waiting)
        .start_method(StartMethod::Fork)
        .start()
        .unwrap();
    let address = result_listener_of(std::process::id().cast_signed())
        .expect("the result listener is listed in /proc/net/unix");
    let ticket = mproc::diag::fork_result_ticket(&child.handle()).expect("a fork child");

    // Let the child deliver its real value and end (without reaping it, which would let the
    // parent read the delivery before the forgeries arrive).
    opener.open();
    assert!(procs::wait_for_exit(child.pid(), TIMEOUT), "child ended");

    // The forged value, and a descriptor riding along: a pipe whose read end tells when every
    // copy of the write end is closed.
    let forged = mproc::codec::encode(&vec![6u8; REAL_LEN]).unwrap();
    let mut outcome = vec![0u8]; // the "returned" tag
    outcome.extend_from_slice(forged.bytes());
    let (read_end, write_end) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
    let fds = [write_end.as_raw_fd()];

    // Old layout: the outcome message with the ticket last, one message per connection.
    let mut with_ticket = outcome.clone();
    with_ticket.extend_from_slice(&ticket.to_le_bytes());
    let old = connect_raw(&address);
    send_record(old.as_fd(), &with_ticket, &fds);
    // Current layout: the ticket and a (wrong) secret first, then the outcome message.
    let mut credentials = ticket.to_le_bytes().to_vec();
    credentials.extend_from_slice(&[0x5a; 32]);
    let new = connect_raw(&address);
    send_record(new.as_fd(), &credentials, &[]);
    send_record(new.as_fd(), &outcome, &fds);
    drop(write_end);

    let value = procs::join(&child).expect("the child's own result");
    assert!(
        value == vec![7u8; REAL_LEN],
        "a forged delivery became the result"
    );

    // The forged deliveries' descriptors were closed by the parent (end of stream on the read
    // end), not kept.
    let mut fds = [nix::poll::PollFd::new(
        read_end.as_fd(),
        nix::poll::PollFlags::POLLIN,
    )];
    let ms = u16::try_from(TIMEOUT.as_millis()).unwrap_or(u16::MAX);
    assert_eq!(
        nix::poll::poll(&mut fds, ms).unwrap(),
        1,
        "write end still open"
    );
    drop((old, new));
}

const IDLE: usize = 300;

/// In a process of its own: connects `IDLE` times to `address` and sends nothing; says so
/// through `ready`, then waits for `release` before ending (which closes them).
fn park_idle_connections((address, ready, release): (Vec<u8>, Opener, Gate)) -> usize {
    let conns: Vec<OwnedFd> = (0..IDLE).map(|_| connect_raw(&address)).collect();
    ready.open();
    assert_eq!(release.wait(TIMEOUT), Passed::Opened);
    conns.len()
}

fn large(len: usize) -> Vec<u8> {
    vec![1; len]
}

#[test]
fn idle_connections_to_the_result_listener_are_bounded() {
    // Make sure the listener exists (it is opened by the first `Fork` start).
    let first = Process::new(large, REAL_LEN)
        .start_method(StartMethod::Fork)
        .start()
        .unwrap();
    assert_eq!(procs::join(&first).unwrap().len(), REAL_LEN);
    let address = result_listener_of(std::process::id().cast_signed())
        .expect("the result listener is listed in /proc/net/unix");

    let (ready, ready_wait) = gate();
    let (release, release_wait) = gate();
    let attacker = Process::new(park_idle_connections, (address, ready, release_wait))
        .start_method(StartMethod::Spawn)
        .start()
        .unwrap();
    assert_eq!(ready_wait.wait(TIMEOUT), Passed::Opened);

    let before = procs::fd_count();
    // A large result makes the parent accept what waits at the listener.
    let child = Process::new(large, REAL_LEN)
        .start_method(StartMethod::Fork)
        .start()
        .unwrap();
    assert_eq!(procs::join(&child).unwrap().len(), REAL_LEN);
    let grown = procs::fd_count().saturating_sub(before);
    release.open();
    assert_eq!(procs::join(&attacker).unwrap(), IDLE);
    assert!(
        grown < IDLE / 2,
        "{IDLE} idle connections grew the parent by {grown} descriptors"
    );
}
