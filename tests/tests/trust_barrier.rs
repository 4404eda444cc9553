//! A barrier's action is a code address in shared memory: a peer holding the barrier (or
//! sending a hand-made barrier segment) must not be able to make a party call a function of
//! its choice, nor crash it with a garbage address (issue 15, finding 1).
//!
//! The peer here is a real process that maps the barrier's segment and rewrites it, as any
//! holder of the handle could.

#![allow(
    clippy::needless_pass_by_value,
    reason = "process targets receive their arguments by value, deserialized"
)]

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicU32, Ordering};

use integration_tests::{METHODS, procs};
use mproc::codec::{self, Fd};
use mproc::prelude::*;

/// Where the barrier's state starts in its segment, and the action's fields in that state
/// (`lock u64, seq, parties, count, state, broken_by, has_action: u32 each`, then the action).
const STATE: usize = 64;
const ACTION: usize = STATE + 32;

/// How many times each function ran in this process. Only `counted` may ever run: the
/// other two are the actions of barriers whose action a peer tampered with.
static LEGIT_RAN: AtomicU32 = AtomicU32::new(0);
static EVIL_RAN: AtomicU32 = AtomicU32::new(0);
static COUNTED_RAN: AtomicU32 = AtomicU32::new(0);

fn counted() {
    COUNTED_RAN.fetch_add(1, Ordering::SeqCst);
}

fn legit() {
    LEGIT_RAN.fetch_add(1, Ordering::SeqCst);
}

fn evil() {
    EVIL_RAN.fetch_add(1, Ordering::SeqCst);
}

/// The descriptor of a handle that serializes as one (every shared-memory handle does).
fn fd_of<T: serde::Serialize>(handle: &T) -> Fd {
    let (bytes, fds) = codec::encode(handle).unwrap().into_parts();
    codec::decode::<Fd>(&bytes, fds).unwrap()
}

/// A shared, writable view of a whole segment.
struct View {
    ptr: *mut u8,
    len: usize,
}

impl View {
    fn map(fd: &OwnedFd) -> Self {
        let len = usize::try_from(nix::sys::stat::fstat(fd.as_fd()).unwrap().st_size).unwrap();
        // SAFETY: maps `len` bytes of an open memfd, shared, at an address the kernel picks.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        assert_ne!(ptr, libc::MAP_FAILED, "mmap of the barrier segment");
        Self {
            ptr: ptr.cast(),
            len,
        }
    }

    fn read_u64(&self, at: usize) -> u64 {
        assert!(at + 8 <= self.len);
        // SAFETY: in bounds (checked); the segment is shared, a plain read is what a peer does.
        unsafe { self.ptr.add(at).cast::<u64>().read_unaligned() }
    }

    fn write_u64(&self, at: usize, value: u64) {
        assert!(at + 8 <= self.len);
        // SAFETY: as above, for a write.
        unsafe { self.ptr.add(at).cast::<u64>().write_unaligned(value) }
    }

    fn bytes(&self) -> Vec<u8> {
        // SAFETY: `len` bytes are mapped at `ptr`.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }.to_vec()
    }
}

impl Drop for View {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly what `map` mapped.
        unsafe { libc::munmap(self.ptr.cast(), self.len) };
    }
}

/// The distance from `legit` to `evil` in this executable: the same in every process
/// running it, so a peer can aim the stored offset at `evil`.
fn aim() -> i64 {
    let legit = legit as fn() as usize;
    let evil = evil as fn() as usize;
    i64::try_from(evil.wrapping_sub(legit).cast_signed()).unwrap()
}

/// The hostile peer: rewrites the action's offset by `shift` bytes.
fn rewrite_action((fd, shift): (Fd, i64)) {
    let fd = fd.into_inner();
    let view = View::map(&fd);
    let offset = view.read_u64(ACTION).cast_signed();
    view.write_u64(ACTION, offset.wrapping_add(shift).cast_unsigned());
}

/// Lets a peer rewrite the action of a one-party barrier, then arrives at it.
fn arrive_after_rewrite(method: StartMethod, shift: i64) -> Result<u32, BarrierError> {
    let barrier = Barrier::with_action(1, legit).unwrap();
    let peer = Process::new(rewrite_action, (fd_of(&barrier), shift))
        .start_method(method)
        .start()
        .unwrap();
    procs::join(&peer).unwrap();
    barrier.wait_timeout(integration_tests::TIMEOUT)
}

#[test]
fn an_action_aimed_elsewhere_by_a_peer_is_never_called() {
    for method in METHODS {
        let evil_before = EVIL_RAN.load(Ordering::SeqCst);
        let legit_before = LEGIT_RAN.load(Ordering::SeqCst);
        let got = arrive_after_rewrite(method, aim());
        assert!(
            matches!(got, Err(BarrierError::ActionRejected)),
            "{method:?}: {got:?}"
        );
        assert_eq!(EVIL_RAN.load(Ordering::SeqCst), evil_before, "{method:?}");
        assert_eq!(LEGIT_RAN.load(Ordering::SeqCst), legit_before, "{method:?}");
    }
}

#[test]
fn a_garbage_action_address_is_an_error_not_a_crash() {
    // Into the middle of a function, and far outside the executable.
    for shift in [3, 1 << 40] {
        let got = arrive_after_rewrite(StartMethod::Fork, shift);
        assert!(matches!(got, Err(BarrierError::ActionRejected)), "{got:?}");
    }
}

#[test]
fn a_rejected_action_breaks_the_barrier_until_reset() {
    let barrier = Barrier::with_action(1, legit).unwrap();
    let peer = Process::new(rewrite_action, (fd_of(&barrier), aim()))
        .start()
        .unwrap();
    procs::join(&peer).unwrap();
    assert!(matches!(
        barrier.wait_timeout(integration_tests::TIMEOUT),
        Err(BarrierError::ActionRejected)
    ));
    assert!(barrier.is_broken());
    assert!(matches!(
        barrier.wait_timeout(integration_tests::TIMEOUT),
        Err(BarrierError::Broken)
    ));
}

#[test]
fn an_untouched_action_still_runs_in_every_party() {
    fn party(b: Barrier) -> u32 {
        b.wait_timeout(integration_tests::TIMEOUT).unwrap()
    }
    for method in METHODS {
        let before = COUNTED_RAN.load(Ordering::SeqCst);
        let barrier = Barrier::with_action(2, counted).unwrap();
        let child = Process::new(party, barrier.clone())
            .start_method(method)
            .start()
            .unwrap();
        let mine = barrier.wait_timeout(integration_tests::TIMEOUT).unwrap();
        let theirs = procs::join(&child).unwrap();
        assert_eq!(mine + theirs, 1);
        // The action ran once, in whichever party came last: here, or in the child.
        assert!(COUNTED_RAN.load(Ordering::SeqCst) - before <= 1);
    }
}

/// The hostile peer, second form: makes a barrier segment of its own (a copy of a real one,
/// with the action turned on and aimed at `evil`) and sends it through a pipe.
fn send_crafted((template, shift, out): (Fd, i64, Connection<Fd>)) {
    let template = View::map(&template.into_inner());
    let mut bytes = template.bytes();
    let put = |bytes: &mut Vec<u8>, at: usize, v: u64| {
        bytes[at..at + 8].copy_from_slice(&v.to_le_bytes());
    };
    let offset = template.read_u64(ACTION).cast_signed();
    put(
        &mut bytes,
        ACTION,
        offset.wrapping_add(shift).cast_unsigned(),
    );
    out.send(&Fd::from(sealed_memfd(&bytes))).unwrap();
}

fn sealed_memfd(bytes: &[u8]) -> OwnedFd {
    let fd = nix::sys::memfd::memfd_create(
        c"crafted",
        nix::sys::memfd::MFdFlags::MFD_CLOEXEC | nix::sys::memfd::MFdFlags::MFD_ALLOW_SEALING,
    )
    .unwrap();
    nix::unistd::write(&fd, bytes).unwrap();
    // SAFETY: fcntl on an open descriptor; F_ADD_SEALS only changes its seal set.
    let ret = unsafe {
        libc::fcntl(
            fd.as_raw_fd(),
            libc::F_ADD_SEALS,
            libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_SEAL,
        )
    };
    assert_eq!(ret, 0);
    fd
}

#[test]
fn a_crafted_barrier_received_through_a_pipe_never_calls_the_peers_choice() {
    // The template has an action, so the copy's code is real but covers the old address.
    let template = Barrier::with_action(1, legit).unwrap();
    let (here, there) = Pipe::<Fd>::new().unwrap();
    let peer = Process::new(send_crafted, (fd_of(&template), aim(), there))
        .start()
        .unwrap();
    let crafted = here.recv_timeout(integration_tests::TIMEOUT).unwrap();
    procs::join(&peer).unwrap();
    // Received as a barrier (a `Connection<Barrier>` decodes exactly this way).
    let (bytes, fds) = codec::encode(&crafted).unwrap().into_parts();
    let barrier: Barrier = codec::decode(&bytes, fds).unwrap();
    let evil_before = EVIL_RAN.load(Ordering::SeqCst);
    let got = barrier.wait_timeout(integration_tests::TIMEOUT);
    assert!(matches!(got, Err(BarrierError::ActionRejected)), "{got:?}");
    assert_eq!(EVIL_RAN.load(Ordering::SeqCst), evil_before);
}

#[test]
fn a_barrier_from_another_program_key_does_not_run_its_action() {
    // A segment whose action and code are intact, but made under another key: a process of
    // another program tree (here: a copy of our segment with the code's bytes changed, as a
    // code under a different key would be).
    let template = Barrier::with_action(1, legit).unwrap();
    let view = View::map(&fd_of(&template).into_inner());
    let tag = view.read_u64(ACTION + 16);
    view.write_u64(ACTION + 16, tag ^ 0x5a5a);
    let before = LEGIT_RAN.load(Ordering::SeqCst);
    let got = template.wait_timeout(integration_tests::TIMEOUT);
    assert!(matches!(got, Err(BarrierError::ActionRejected)), "{got:?}");
    assert_eq!(LEGIT_RAN.load(Ordering::SeqCst), before);
}
