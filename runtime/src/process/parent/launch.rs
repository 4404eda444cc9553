//! Starting a child, from the parent's side: choosing the method, naming the child, and
//! recording it in the registry.

use std::os::fd::OwnedFd;
use std::sync::Arc;

use crate::codec::Encoded;
use crate::process::SpawnError;
use crate::process::child::entry::EntryPoint;
use crate::process::child::main::ChildSpec;
use crate::process::child::outcome::ReportTo;
use crate::process::identity::{self, Identity};
use crate::process::parent::handle::ChildEntry;
use crate::process::parent::slot::Slot;
use crate::process::parent::{overflow, registry};
use crate::process::start::{fork, forkserver, spawn};
use crate::process::stdio::{self, Readers};
use crate::process::{Options, StartMethod, get_start_method, trace};
use crate::sys;
use crate::sys::OsContext;

/// A child's encoded arguments while this process holds them: their descriptors are in the
/// set of pipe ends a forked child lets go of (see `pipe::inherited`), so a child that another
/// thread forks meanwhile does not keep them open (the far end of a pipe sent to this child
/// would then not see its close until that other child exits). Dropping closes them.
pub(crate) struct HeldArgs(Encoded);

impl HeldArgs {
    fn new(args: Encoded) -> Self {
        crate::pipe::inherited::hold(&args.fds);
        Self(args)
    }

    /// The arguments, no longer let go of by this value: the caller does it (the pipe ends'
    /// fork hook, in the parent of a fork), or is the child they were meant for.
    pub(crate) fn into_inner(mut self) -> Encoded {
        std::mem::replace(
            &mut self.0,
            Encoded {
                bytes: Vec::new(),
                fds: Vec::new(),
            },
        )
    }
}

impl std::ops::Deref for HeldArgs {
    type Target = Encoded;
    fn deref(&self) -> &Encoded {
        &self.0
    }
}

impl Drop for HeldArgs {
    fn drop(&mut self) {
        crate::pipe::inherited::let_go(std::mem::take(&mut self.0.fds));
    }
}

/// Starts a child for `entry`: the untyped part of
/// [`Process::start`](crate::Process::start).
pub(crate) fn launch(
    entry: EntryPoint,
    args: Encoded,
    options: Options,
) -> Result<(Arc<ChildEntry>, Option<OwnedFd>, Readers), SpawnError> {
    let mut args = args;
    let readers = stdio::attach(options.stdout, options.stderr, &mut args)
        .map_err(SpawnError::os("making a pipe for the child's output"))?;
    let args = HeldArgs::new(args);
    let me = identity::current_identity();
    let daemon = options.daemon.unwrap_or(me.daemon);
    let method = match options.method {
        Some(method) => method,
        None => get_start_method()?,
    };
    registry::note_start();
    // Made now if it was not yet, so that a forked child inherits it instead of making its own;
    // the other methods carry it in their bootstrap (see `auth`).
    crate::auth::program_key().map_err(SpawnError::os("making the program authkey"))?;
    let channel = Channel::open(method)?;
    registry::register_exit_hook();
    let path = {
        let mut registry = registry::lock();
        registry.reap_finished();
        registry.next_path(&me.path)
    };
    let name = options
        .name
        .unwrap_or_else(|| identity::default_name(&path));
    let spec = ChildSpec {
        entry,
        identity: Identity {
            name: name.clone(),
            daemon,
            path,
        },
        parent_pid: sys::proc::getpid(),
        parent_name: me.name,
        method,
        authkey: None,
    };
    let (pid, slot, parent_sock) = match (method, channel) {
        (_, Channel::Slot(slot, overflow)) => {
            let report = ReportTo::Slot {
                slot: slot.writer(),
                overflow,
            };
            let pid = fork::start(spec, args, report)?;
            (pid, Some(slot), None)
        }
        (StartMethod::ForkServer, Channel::Socket(parent_sock, child_sock)) => {
            let (pid, parent_sock) = forkserver::start(&spec, &args, parent_sock, child_sock)?;
            (pid, None, Some(parent_sock))
        }
        (_, Channel::Socket(parent_sock, child_sock)) => {
            spawn::keep_hook();
            let pid = spawn::start(&spec, &args, &parent_sock, child_sock)?;
            (pid, None, Some(parent_sock))
        }
    };
    let pidfd = match sys::proc::pidfd_open(pid) {
        Ok(fd) => fd,
        Err(e) => {
            // Cannot watch it: do not leave it behind.
            sys::proc::kill_and_reap(pid);
            return Err(SpawnError::os("pidfd_open")(e));
        }
    };
    trace::started(pid, &name, method, daemon);
    let entry = Arc::new(ChildEntry::new(pid, pidfd, name, daemon, slot));
    registry::lock().add(Arc::clone(&entry));
    Ok((entry, parent_sock, readers))
}

/// How a child's result comes back.
enum Channel {
    /// A result slot, and the overflow listener's address.
    Slot(Slot, Arc<[u8]>),
    /// A socketpair: the parent's end, the child's end.
    Socket(OwnedFd, OwnedFd),
}

impl Channel {
    /// A forked child reports in a result slot; the others on a socket.
    fn open(method: StartMethod) -> Result<Self, SpawnError> {
        Ok(if method == StartMethod::Fork {
            let slot = Slot::take().map_err(SpawnError::os("mapping result slots"))?;
            let overflow =
                overflow::address().map_err(SpawnError::os("opening the result listener"))?;
            Channel::Slot(slot, overflow)
        } else {
            let (parent, child) =
                sys::socket::socketpair().map_err(SpawnError::os("socketpair"))?;
            Channel::Socket(parent, child)
        })
    }
}
