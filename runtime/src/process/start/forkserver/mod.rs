//! The `ForkServer` start method: a clean, single-threaded server process forks the children.
//!
//! On first use, a program starts its fork server: a fresh execution of its own executable,
//! intercepted before `main` by a constructor (as a `Spawn` child is), so no user code and no
//! thread ever runs in it. Each child is a `fork` of that small, quiet process, which is sound
//! whatever threads the program runs, and fast (the server's address space is tiny).
//!
//! - **Parentage.** The server forks with `CLONE_PARENT` (see `sys::clone`): each child is a
//!   child of the *program*, not of the server. The program reaps it, waits on its pidfd, sends
//!   it signals and reads its exact exit status exactly as for a `Fork` child: `Child<R>` cannot
//!   tell the methods apart, no status has to travel, and no child depends on the server once
//!   it runs (if the server dies, its children go on, and their statuses still arrive).
//! - **Requests** travel over an authenticated Unix socket ([`protocol`]): the entry point as
//!   offsets in the executable, the identity, the encoded arguments, and as descriptors the
//!   child's end of its result socket and the arguments' handles. A child holds only those (and
//!   stdio, and `/dev/null`): the server's own descriptors are closed in it first.
//! - **Life.** The server ends with the program: end of stream on its life-line, and
//!   `PR_SET_PDEATHSIG` from the program's launcher thread (see [`launch`]) for abrupt deaths.
//!   A daemon child also gets `PR_SET_PDEATHSIG`, so it dies with the program too.
//! - **Restart.** A server that died (killed, say) is replaced transparently by the next
//!   start. If it dies holding a request, the child (if it was forked) reports its pid on its
//!   result socket, so it is never lost nor started twice ([`client`]).
//! - **What a child inherits** is the server's state at its start: the program's environment,
//!   working directory and executable *as they were when the server started*.

mod client;
mod launch;
mod protocol;
mod server;

pub(crate) use client::{FORK_HOOK, server_pid, shutdown, start};
#[cfg(all(test, not(loom)))]
mod proptests;
