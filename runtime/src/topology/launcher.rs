//! [`Launcher`]: what a `process!` expansion calls to create the channels and start the
//! processes of a topology, recording who writes which queue.

use std::fmt;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::TopologyError;
use crate::pipe::{Duplex, Pipe, Receiver, Sender};
use crate::process::SpawnError;
use crate::process::{Child, ProcessHandle};
use crate::queue::{Closer, JoinableQueue, Queue};

/// Names a queue of the topology being launched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelId(usize);

/// What the runtime needs to know of one process statement.
#[derive(Debug, Clone, Copy)]
pub struct Member<'a> {
    /// The process's name in the topology.
    pub name: &'static str,
    /// Whether it is a daemon (stopped by the topology once the others have ended).
    pub daemon: bool,
    /// The queues it writes: each closes once its last writer has ended.
    pub writes: &'a [ChannelId],
    /// The queues it reads.
    pub reads: &'a [ChannelId],
}

/// One replica about to be started.
#[derive(Debug, Clone)]
pub struct Replica {
    index: usize,
    name: String,
    daemon: bool,
}

impl Replica {
    /// Its index among the replicas (0 for a process that is not replicated).
    #[must_use]
    pub fn index(&self) -> usize {
        self.index
    }

    /// Its process name: the statement's name, with `-index` for replicas.
    #[must_use]
    pub fn name(&self) -> String {
        self.name.clone()
    }

    /// Whether it is a daemon.
    #[must_use]
    pub fn daemon(&self) -> bool {
        self.daemon
    }
}

/// The bound on the items of a topology's queues and pipes.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot travel through a queue or pipe",
    label = "this type must be `Serialize + DeserializeOwned`",
    note = "items of queues and pipes travel between processes serialized with serde: derive \
            `Serialize` and `Deserialize` for the type"
)]
pub trait ChannelItem: Serialize + DeserializeOwned {}

#[diagnostic::do_not_recommend]
impl<T: Serialize + DeserializeOwned> ChannelItem for T {}

/// A process the topology started.
pub(super) struct Started {
    pub(super) process: &'static str,
    pub(super) handle: ProcessHandle,
    pub(super) daemon: bool,
    pub(super) writes: Vec<usize>,
}

/// A queue of the topology: its name, and how to close it.
pub(super) struct QueueEntry {
    pub(super) name: &'static str,
    pub(super) closer: Closer,
}

/// Creates the channels and starts the processes of one topology.
#[derive(Default)]
pub struct Launcher {
    pub(super) queues: Vec<QueueEntry>,
    pub(super) started: Vec<Started>,
}

impl fmt::Debug for Launcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let queues: Vec<_> = self.queues.iter().map(|q| q.name).collect();
        let started: Vec<_> = self
            .started
            .iter()
            .map(|s| (s.process, s.handle.pid()))
            .collect();
        f.debug_struct("Launcher")
            .field("queues", &queues)
            .field("started", &started)
            .finish()
    }
}

impl Launcher {
    fn add_queue(&mut self, name: &'static str, closer: Closer) -> ChannelId {
        self.queues.push(QueueEntry { name, closer });
        ChannelId(self.queues.len() - 1)
    }

    /// Creates queue `name`, bounded to `capacity` items if given.
    ///
    /// # Errors
    /// [`TopologyError::Queue`].
    pub fn queue<T: ChannelItem>(
        &mut self,
        name: &'static str,
        capacity: Option<usize>,
    ) -> Result<(ChannelId, Queue<T>), TopologyError> {
        let queue =
            Queue::bounded(capacity.unwrap_or(0)).map_err(|source| TopologyError::Queue {
                channel: name,
                source,
            })?;
        let closer = queue.closer();
        Ok((self.add_queue(name, closer), queue))
    }

    /// Creates joinable queue `name`, bounded to `capacity` items if given.
    ///
    /// # Errors
    /// [`TopologyError::Queue`].
    pub fn joinable_queue<T: ChannelItem>(
        &mut self,
        name: &'static str,
        capacity: Option<usize>,
    ) -> Result<(ChannelId, JoinableQueue<T>), TopologyError> {
        let queue = JoinableQueue::bounded(capacity.unwrap_or(0)).map_err(|source| {
            TopologyError::Queue {
                channel: name,
                source,
            }
        })?;
        let closer = queue.closer();
        Ok((self.add_queue(name, closer), queue))
    }

    /// Creates a duplex pipe, named after its first end.
    ///
    /// # Errors
    /// [`TopologyError::Pipe`].
    pub fn pipe<S: ChannelItem, R: ChannelItem>(
        &mut self,
        name: &'static str,
    ) -> Result<Duplex<S, R>, TopologyError> {
        Pipe::<S, R>::new().map_err(|source| TopologyError::Pipe {
            channel: name,
            source,
        })
    }

    /// Creates a one-way pipe, named after its receiving end.
    ///
    /// # Errors
    /// [`TopologyError::Pipe`].
    pub fn simplex<T: ChannelItem>(
        &mut self,
        name: &'static str,
    ) -> Result<(Receiver<T>, Sender<T>), TopologyError> {
        Pipe::<T>::simplex().map_err(|source| TopologyError::Pipe {
            channel: name,
            source,
        })
    }

    /// Starts the one process of `member` through `start`.
    ///
    /// # Errors
    /// [`TopologyError::Spawn`].
    pub fn single<R, F>(&mut self, member: Member<'_>, start: F) -> Result<Child<R>, TopologyError>
    where
        F: FnOnce(Replica) -> Result<Child<R>, SpawnError>,
    {
        let replica = Replica {
            index: 0,
            name: member.name.to_owned(),
            daemon: member.daemon,
        };
        let child = start(replica).map_err(|source| TopologyError::Spawn {
            process: member.name,
            replica: None,
            source,
        })?;
        self.record(&member, &child);
        Ok(child)
    }

    /// Starts `replicas` processes of `member` through `start`.
    ///
    /// # Errors
    /// [`TopologyError::NoReplicas`], [`TopologyError::Spawn`].
    pub fn replicated<R, F>(
        &mut self,
        member: Member<'_>,
        replicas: usize,
        mut start: F,
    ) -> Result<Vec<Child<R>>, TopologyError>
    where
        F: FnMut(Replica) -> Result<Child<R>, SpawnError>,
    {
        if replicas == 0 {
            return Err(TopologyError::NoReplicas {
                process: member.name,
            });
        }
        (0..replicas)
            .map(|index| {
                let replica = Replica {
                    index,
                    name: format!("{}-{index}", member.name),
                    daemon: member.daemon,
                };
                let child = start(replica).map_err(|source| TopologyError::Spawn {
                    process: member.name,
                    replica: Some(index),
                    source,
                })?;
                self.record(&member, &child);
                Ok(child)
            })
            .collect()
    }

    fn record<R>(&mut self, member: &Member<'_>, child: &Child<R>) {
        self.started.push(Started {
            process: member.name,
            handle: child.handle(),
            daemon: member.daemon,
            writes: member.writes.iter().map(|id| id.0).collect(),
        });
    }
}
