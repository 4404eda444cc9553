//! The fork server itself: refusing connections without the key, ending with its program, and
//! forking children that hold only their own descriptors and are children of the program.
//! (Killing the server: `forkserver_restart.rs`, a process of its own.)

#![allow(
    clippy::needless_pass_by_value,
    reason = "process targets take their arguments by value: they arrive deserialized"
)]

use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::Duration;

use integration_tests::gate::{self, Gate, Opener};
use integration_tests::{TIMEOUT, procs};
use mproc::diag::fork_server_pid;
use mproc::prelude::*;
use nix::sys::socket::{self, AddressFamily, MsgFlags, SockFlag, SockType, UnixAddr};

const FS: StartMethod = StartMethod::ForkServer;

fn plus_one(x: u32) -> u32 {
    x + 1
}

/// The running server's pid (starting one if needed).
fn server() -> i32 {
    let child = Process::new(plus_one, 0).start_method(FS).start().unwrap();
    assert_eq!(procs::join(&child).unwrap(), 1);
    fork_server_pid().expect("a fork server runs after a ForkServer start")
}

/// The abstract socket name the server listens on, as any local process can read it.
fn server_address() -> Vec<u8> {
    let pid = server();
    let me = std::process::id();
    let table = std::fs::read_to_string("/proc/net/unix").unwrap();
    let prefix = format!("@mproc-forkserver/{me}/");
    let path = table
        .lines()
        .filter_map(|l| l.split_whitespace().nth(7))
        .find(|p| p.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no listener of server {pid} in /proc/net/unix"));
    path.as_bytes()[1..].to_vec()
}

fn connect(address: &[u8]) -> OwnedFd {
    let sock = socket::socket(
        AddressFamily::Unix,
        SockType::SeqPacket,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .unwrap();
    socket::connect(sock.as_raw_fd(), &UnixAddr::new_abstract(address).unwrap()).unwrap();
    sock
}

/// Receives messages until end of stream (within [`TIMEOUT`]); returns their lengths.
fn drain(sock: &OwnedFd) -> Vec<usize> {
    let mut file = std::fs::File::from(sock.try_clone().unwrap());
    let mut lens = Vec::new();
    let mut fds = [nix::poll::PollFd::new(
        sock.as_fd(),
        nix::poll::PollFlags::POLLIN,
    )];
    loop {
        let ms = u16::try_from(TIMEOUT.as_millis()).unwrap_or(u16::MAX);
        assert!(
            nix::poll::poll(&mut fds, ms).unwrap() > 0,
            "server kept it open"
        );
        let mut buf = [0u8; 256];
        match file.read(&mut buf) {
            Ok(0) | Err(_) => return lens,
            Ok(n) => lens.push(n),
        }
    }
}

#[test]
fn a_connection_without_the_key_is_refused() {
    let address = server_address();
    let pid = fork_server_pid().unwrap();

    // 1. Something that is not an answer, with a descriptor attached: dropped unread, and the
    //    descriptor closed (the pipe's reader sees end of stream once ours is closed too).
    let sock = connect(&address);
    let (reader, writer) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
    let mut request = vec![0x01]; // an inline record, as mproc frames them
    request.extend_from_slice(&[7u8; 200]);
    socket::sendmsg::<()>(
        sock.as_raw_fd(),
        &[std::io::IoSlice::new(&request)],
        &[socket::ControlMessage::ScmRights(&[writer.as_raw_fd()])],
        MsgFlags::empty(),
        None,
    )
    .unwrap();
    drop(writer);
    assert_eq!(drain(&sock), vec![33], "only the challenge, then closed");
    let mut rest = Vec::new();
    std::fs::File::from(reader).read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty(), "the server let go of the descriptor");

    // 2. An answer of the right size, made without the key.
    let sock = connect(&address);
    let mut file = std::fs::File::from(sock.try_clone().unwrap());
    let mut challenge = [0u8; 64];
    assert_eq!(file.read(&mut challenge).unwrap(), 33);
    let mut answer = vec![0x01];
    answer.extend_from_slice(&[0u8; 64]);
    file.write_all(&answer).unwrap();
    assert_eq!(drain(&sock), Vec::<usize>::new(), "refused");

    // 3. Silence: the server does not wait for it, and serves others meanwhile.
    let silent = connect(&address);
    let child = Process::new(plus_one, 1).start_method(FS).start().unwrap();
    assert_eq!(procs::join(&child).unwrap(), 2);
    drop(silent);

    assert_eq!(fork_server_pid(), Some(pid), "the same server still serves");
}

fn report_server((report, hold): (Opener, Gate)) {
    let child = Process::new(plus_one, 1).start_method(FS).start().unwrap();
    assert_eq!(child.join_timeout(TIMEOUT).unwrap(), 2);
    let pid = fork_server_pid().unwrap();
    report.send_u64(u64::try_from(pid).unwrap());
    let _ = hold.wait(Duration::from_hours(1));
}

#[test]
fn the_server_ends_with_its_program() {
    for kill in [false, true] {
        let (report, reported) = gate::gate();
        let (release, hold) = gate::gate();
        let program = Process::new(report_server, (report, hold))
            .start_method(StartMethod::Spawn)
            .start()
            .unwrap();
        let server = i32::try_from(reported.recv_u64(TIMEOUT).unwrap()).unwrap();
        assert!(procs::is_running(server));
        if kill {
            program.kill().unwrap();
        } else {
            release.open();
        }
        let _ = procs::join(&program);
        assert!(
            procs::wait_for_exit(server, TIMEOUT),
            "the server outlived its program (killed: {kill})"
        );
    }
}

/// This process's descriptors, as kinds of target (`socket`, `pipe`, a path...), sorted.
fn descriptor_kinds(_: Gate) -> Vec<String> {
    let mut kinds: Vec<String> = std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .map(|target| {
            let t = target.to_string_lossy().into_owned();
            t.split_once(":[")
                .map_or(t.clone(), |(kind, _)| kind.to_owned())
        })
        .filter(|t| !t.starts_with("/proc/")) // the directory being listed
        .collect();
    kinds.sort();
    kinds
}

#[test]
fn a_child_holds_only_its_own_descriptors() {
    let mut seen = Vec::new();
    for method in [StartMethod::Spawn, FS] {
        let (_open, gate) = gate::gate();
        let child = Process::new(descriptor_kinds, gate)
            .start_method(method)
            .start()
            .unwrap();
        seen.push(procs::join(&child).unwrap());
    }
    assert_eq!(
        seen[0], seen[1],
        "a fork server child holds what a spawned one holds"
    );
    let sockets = seen[1].iter().filter(|k| *k == "socket").count();
    assert_eq!(sockets, 1, "only its result socket: {:?}", seen[1]);
}

fn own_parentage(_: ()) -> (i32, i32, Option<StartMethod>) {
    let me = std::process::id().cast_signed();
    (
        me,
        nix::unistd::getppid().as_raw(),
        mproc::diag::started_by(),
    )
}

fn start_grandchild(_: ()) -> (i32, (i32, i32, Option<StartMethod>), i32) {
    let me = std::process::id().cast_signed();
    let child = Process::new(own_parentage, ())
        .start_method(FS)
        .start()
        .unwrap();
    let grandchild = child.join_timeout(TIMEOUT).unwrap();
    (me, grandchild, fork_server_pid().unwrap())
}

/// A child of the fork server is a child of the program; a child process of any method that
/// uses the fork server gets a server of its own (so its children are its own).
#[test]
fn children_belong_to_the_program_that_asked() {
    let me = std::process::id().cast_signed();
    let child = Process::new(own_parentage, ())
        .start_method(FS)
        .start()
        .unwrap();
    let (pid, parent, method) = procs::join(&child).unwrap();
    assert_eq!((pid, parent, method), (child.pid(), me, Some(FS)));
    let ours = fork_server_pid().unwrap();
    for method in [StartMethod::Fork, StartMethod::Spawn, FS] {
        let child = Process::new(start_grandchild, ())
            .start_method(method)
            .start()
            .unwrap();
        let (middle, (grandchild, its_parent, how), theirs) = procs::join(&child).unwrap();
        assert_eq!(middle, child.pid());
        assert_eq!(
            its_parent, middle,
            "{method:?}: the grandchild is the middle's child"
        );
        assert_ne!(grandchild, middle);
        assert_eq!(how, Some(FS));
        assert_ne!(
            theirs, ours,
            "{method:?}: the middle process has a server of its own"
        );
        assert!(
            procs::wait_for_exit(theirs, TIMEOUT),
            "{method:?}: its server ended"
        );
    }
}

#[test]
fn many_threads_start_children_at_once() {
    let threads: Vec<_> = (0..4u32)
        .map(|t| {
            std::thread::spawn(move || {
                for i in 0..25 {
                    let child = Process::new(plus_one, t * 100 + i)
                        .start_method(FS)
                        .start()
                        .unwrap();
                    assert_eq!(procs::join(&child).unwrap(), t * 100 + i + 1);
                }
            })
        })
        .collect();
    for t in threads {
        integration_tests::threads::join(t).unwrap();
    }
}

/// The child's thread id is where glibc keeps it, and its robust-mutex list is registered: a
/// process-shared robust mutex held by a child that exits is reported as orphaned
/// (`EOWNERDEAD`) to the next locker, under every start method.
#[test]
fn a_robust_mutex_held_by_an_ended_child_reports_its_owner_dead() {
    fn lock_and_leave(fd: mproc::codec::Fd) -> (u32, u32) {
        let map = Mapping::new(fd.into_inner());
        let mutex = map.mutex();
        // SAFETY: the mapping holds an initialized process-shared robust mutex.
        assert_eq!(unsafe { libc::pthread_mutex_lock(mutex) }, 0);
        // SAFETY: glibc keeps the owner's thread id in the mutex's first word.
        let owner = unsafe { mutex.cast::<u32>().read_volatile() } & 0x3fff_ffff;
        // Still mapped when the process exits, so the kernel can mark the mutex orphaned.
        std::mem::forget(map);
        (owner, std::process::id())
    }
    for method in integration_tests::METHODS {
        let memfd =
            nix::sys::memfd::memfd_create(c"robust", nix::sys::memfd::MFdFlags::MFD_CLOEXEC)
                .unwrap();
        nix::unistd::ftruncate(&memfd, 4096).unwrap();
        let map = Mapping::new(memfd.try_clone().unwrap());
        map.init_robust();
        let child = Process::new(lock_and_leave, mproc::codec::Fd::from(memfd))
            .start_method(method)
            .start()
            .unwrap();
        let (owner, pid) = procs::join(&child).unwrap();
        assert_eq!(owner, pid, "{method:?}: the mutex names the child's thread");
        let mut deadline = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: a valid out-pointer for clock_gettime.
        unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &raw mut deadline) };
        deadline.tv_sec += libc::time_t::try_from(TIMEOUT.as_secs()).unwrap();
        // SAFETY: the mutex is initialized; the deadline is a valid timespec.
        let got = unsafe { libc::pthread_mutex_timedlock(map.mutex(), &raw const deadline) };
        assert_eq!(got, libc::EOWNERDEAD, "{method:?}");
        // Unlocked before it is unmapped: glibc links held robust mutexes into a list through
        // the mutexes themselves.
        // SAFETY: this thread holds the mutex (EOWNERDEAD hands it over).
        unsafe {
            assert_eq!(libc::pthread_mutex_consistent(map.mutex()), 0);
            assert_eq!(libc::pthread_mutex_unlock(map.mutex()), 0);
        }
    }
}

/// A shared mapping of a memfd holding a `pthread_mutex_t` at offset 0.
struct Mapping {
    addr: std::ptr::NonNull<libc::c_void>,
    _fd: OwnedFd,
}

impl Mapping {
    fn new(fd: OwnedFd) -> Self {
        // SAFETY: a fresh shared mapping of one page of a file we hold; nothing else is
        // mapped there.
        let addr = unsafe {
            nix::sys::mman::mmap(
                None,
                std::num::NonZeroUsize::new(4096).unwrap(),
                nix::sys::mman::ProtFlags::PROT_READ | nix::sys::mman::ProtFlags::PROT_WRITE,
                nix::sys::mman::MapFlags::MAP_SHARED,
                &fd,
                0,
            )
        }
        .unwrap();
        Self { addr, _fd: fd }
    }

    fn mutex(&self) -> *mut libc::pthread_mutex_t {
        self.addr.as_ptr().cast()
    }

    fn init_robust(&self) {
        // SAFETY: plain-data attribute object, initialized before use and destroyed after.
        unsafe {
            let mut attr: libc::pthread_mutexattr_t = std::mem::zeroed();
            assert_eq!(libc::pthread_mutexattr_init(&raw mut attr), 0);
            assert_eq!(
                libc::pthread_mutexattr_setpshared(&raw mut attr, libc::PTHREAD_PROCESS_SHARED),
                0
            );
            assert_eq!(
                libc::pthread_mutexattr_setrobust(&raw mut attr, libc::PTHREAD_MUTEX_ROBUST),
                0
            );
            assert_eq!(libc::pthread_mutex_init(self.mutex(), &raw const attr), 0);
            libc::pthread_mutexattr_destroy(&raw mut attr);
        }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: the mapping was made in `new` and is not used after this.
        let _ = unsafe { nix::sys::mman::munmap(self.addr, 4096) };
    }
}
