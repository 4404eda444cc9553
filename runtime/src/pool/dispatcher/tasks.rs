//! The task table: ring entries name their task by an index into it, and each worker gets the
//! table's code offsets on its own socket, so no code offset travels through the ring's shared
//! memory (which every worker can write).

use std::collections::HashMap;
use std::os::fd::AsFd;

use super::Dispatcher;
use crate::pool::protocol::{self, ToWorker};
use crate::pool::task::TaskCode;

/// Task index → task code (trampoline and function offsets), and back.
#[derive(Debug, Default)]
pub(super) struct TaskTable {
    offsets: Vec<TaskCode>,
    indexes: HashMap<TaskCode, u32>,
    /// The task looked up last, and its index: the chunks of a `map` all name one task, so
    /// most lookups end here, without hashing.
    last: Option<(TaskCode, u32)>,
}

impl TaskTable {
    /// Every offset, in index order (what a new worker starts with).
    pub(super) fn offsets(&self) -> Vec<TaskCode> {
        self.offsets.clone()
    }
}

impl Dispatcher {
    /// The index of the task at `offset`; a task new to the table is first sent to every
    /// worker (a worker that cannot be told is killed: it would not know the task).
    pub(super) fn task_index(&mut self, offset: TaskCode) -> u32 {
        if let Some((last, index)) = self.tasks.last
            && last == offset
        {
            return index;
        }
        if let Some(&index) = self.tasks.indexes.get(&offset) {
            self.tasks.last = Some((offset, index));
            return index;
        }
        let index = u32::try_from(self.tasks.offsets.len()).unwrap_or(u32::MAX);
        self.tasks.offsets.push(offset);
        self.tasks.indexes.insert(offset, index);
        self.tasks.last = Some((offset, index));
        let message = ToWorker::Tasks {
            from: index,
            offsets: vec![offset],
        };
        for worker in self.workers.iter().flatten() {
            if protocol::send_now(worker.sock.as_fd(), &message, &[], &[]).is_err() {
                let _ = worker.child.kill();
            }
        }
        index
    }
}
