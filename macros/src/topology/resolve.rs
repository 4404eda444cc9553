//! Name resolution: which channel each name declares, and which process uses which channel
//! end how. Cannot fail: an unknown or duplicate name resolves to nothing (or to its first
//! declaration), and the validation passes report it.

use std::collections::HashMap;

use syn::Ident;

use super::ast::{Arg, Endpoint, Side, Topology};

/// What a declared name stands for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Channel {
    /// The queue at this index of `Topology::queues`.
    Queue(usize),
    /// End `end` (0 or 1) of the pipe at index `pipe` of `Topology::pipes`.
    PipeEnd { pipe: usize, end: usize },
}

/// How one argument of a process is wired.
#[derive(Clone, Copy)]
pub(crate) enum Use<'a> {
    /// `queue.reader()` / `queue.writer()` of a declared queue.
    Endpoint { queue: usize, side: Side },
    /// A declared queue's name alone: the whole handle (it both reads and writes).
    Handle { queue: usize },
    /// A declared pipe end's name.
    PipeEnd {
        pipe: usize,
        end: usize,
        name: &'a Ident,
    },
    /// `name.reader()` / `name.writer()` where `name` is no declared queue.
    Unknown(&'a Endpoint),
    /// An ordinary value: an expression, or a name that is no channel.
    Value,
}

/// The channel names of a topology (the first declaration of a name wins).
pub(crate) struct Names<'a> {
    by_name: HashMap<String, Channel>,
    /// Every declared name in declaration order, queues first: the candidates of a "did you
    /// mean".
    declared: Vec<(&'a Ident, Channel)>,
}

impl<'a> Names<'a> {
    pub(crate) fn new(topology: &'a Topology) -> Self {
        let queues = topology
            .queues
            .iter()
            .enumerate()
            .map(|(i, q)| (&q.name, Channel::Queue(i)));
        let ends = topology.pipes.iter().enumerate().flat_map(|(pipe, p)| {
            p.ends
                .iter()
                .enumerate()
                .map(move |(end, name)| (name, Channel::PipeEnd { pipe, end }))
        });
        let declared: Vec<_> = queues.chain(ends).collect();
        let mut by_name = HashMap::new();
        for (name, channel) in &declared {
            by_name.entry(name.to_string()).or_insert(*channel);
        }
        Self { by_name, declared }
    }

    /// The channel `name` declares, if any.
    pub(crate) fn get(&self, name: &Ident) -> Option<Channel> {
        self.by_name.get(&name.to_string()).copied()
    }

    /// The declared queue names.
    pub(crate) fn queues(&self) -> impl Iterator<Item = &'a Ident> + '_ {
        self.declared
            .iter()
            .filter(|(_, c)| matches!(c, Channel::Queue(_)))
            .map(|(name, _)| *name)
    }

    /// How `arg` is wired.
    pub(crate) fn resolve(&self, arg: &'a Arg) -> Use<'a> {
        match arg {
            Arg::Endpoint(endpoint) => match self.get(&endpoint.queue) {
                Some(Channel::Queue(queue)) => Use::Endpoint {
                    queue,
                    side: endpoint.side,
                },
                _ => Use::Unknown(endpoint),
            },
            Arg::Name(name) => match self.get(name) {
                Some(Channel::Queue(queue)) => Use::Handle { queue },
                Some(Channel::PipeEnd { pipe, end }) => Use::PipeEnd { pipe, end, name },
                None => Use::Value,
            },
            Arg::Expr(_) => Use::Value,
        }
    }
}

/// Who uses each channel: the facts the wiring checks and the expansion read.
pub(crate) struct Wiring<'a> {
    pub(crate) names: Names<'a>,
    /// Per queue (same index as `Topology::queues`): the processes that write it and those
    /// that read it, by index into `Topology::processes`, each once, in order. A process given
    /// the whole handle is in both.
    pub(crate) queues: Vec<QueueUsers>,
    /// Per pipe, per end: every use, as (process index, the name where it is used).
    pub(crate) ends: Vec<[Vec<(usize, &'a Ident)>; 2]>,
}

/// The writers and readers of one queue.
#[derive(Default)]
pub(crate) struct QueueUsers {
    pub(crate) writers: Vec<usize>,
    pub(crate) readers: Vec<usize>,
}

impl<'a> Wiring<'a> {
    pub(crate) fn new(topology: &'a Topology) -> Self {
        let names = Names::new(topology);
        let mut queues: Vec<QueueUsers> = topology
            .queues
            .iter()
            .map(|_| QueueUsers::default())
            .collect();
        let mut ends: Vec<[Vec<_>; 2]> =
            topology.pipes.iter().map(|_| Default::default()).collect();
        for (index, process) in topology.processes.iter().enumerate() {
            for arg in &process.args {
                let (queue, writes, reads) = match names.resolve(arg) {
                    Use::Endpoint { queue, side } => {
                        (queue, side == Side::Writer, side == Side::Reader)
                    }
                    Use::Handle { queue } => (queue, true, true),
                    Use::PipeEnd { pipe, end, name } => {
                        ends[pipe][end].push((index, name));
                        continue;
                    }
                    Use::Unknown(_) | Use::Value => continue,
                };
                let users = &mut queues[queue];
                if writes && !users.writers.contains(&index) {
                    users.writers.push(index);
                }
                if reads && !users.readers.contains(&index) {
                    users.readers.push(index);
                }
            }
        }
        Self {
            names,
            queues,
            ends,
        }
    }

    /// The queues process `index` writes (indices into `Topology::queues`, ascending).
    pub(crate) fn writes(&self, index: usize) -> Vec<usize> {
        self.users_of(index, |users| &users.writers)
    }

    /// The queues process `index` reads.
    pub(crate) fn reads(&self, index: usize) -> Vec<usize> {
        self.users_of(index, |users| &users.readers)
    }

    fn users_of(&self, index: usize, side: impl Fn(&QueueUsers) -> &Vec<usize>) -> Vec<usize> {
        self.queues
            .iter()
            .enumerate()
            .filter(|(_, users)| side(users).contains(&index))
            .map(|(queue, _)| queue)
            .collect()
    }
}
