//! The messages between rank 0 and the worker ranks, and how a chunk's failure travels.
//!
//! A task message is a fixed header (job, chunk, the task's code offsets and their
//! authentication code) followed by the chunk's arguments, postcard-encoded as one sequence;
//! a result message is a header (job, chunk, status) followed by the chunk's outcomes (as the
//! rank's local worker encoded them) or its failure. Both are read with checked slicing: a
//! short or garbled message is a typed error, never a panic.

use serde::{Deserialize, Serialize};

use crate::auth::{MAC_LEN, Tag};
use crate::pool::{PoolError, TaskCode, TaskError, TaskName};
use crate::process::PanicLocation;

/// MPI tags of the messages.
pub(super) const TAG_HELLO: i32 = 71;
pub(super) const TAG_VERDICT: i32 = 72;
pub(super) const TAG_TASK: i32 = 73;
pub(super) const TAG_RESULT: i32 = 74;
pub(super) const TAG_STOP: i32 = 75;

/// Chunks a worker rank holds at once per local worker process: rank 0 sends no more, and the
/// rank can have them all submitted to its local pool. Several per process, so that a local
/// worker finds the next chunk waiting instead of waiting for its round trip through rank 0:
/// a chunk-size-1 map of a trivial task, `-n 3` on 2 shared CPUs, measured 72 µs per task
/// with 2, 40 with 8, 30 with 16 (`.ci/mpi-bench`). More also means a rank holds more of the
/// work, to the cost of balance at the end of a map.
pub(super) const CHUNKS_PER_PROCESS: usize = 8;

/// The longest message either side accepts (a policy, as the pipes' 1 GiB).
pub(super) const MAX_MESSAGE: usize = 1 << 30;

/// Bytes before a task message's arguments.
pub(super) const TASK_HEADER: usize = 8 + 4 + 16 + MAC_LEN;
/// Bytes before a result message's outcomes.
pub(super) const RESULT_HEADER: usize = 8 + 4 + 1;

/// A task message's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct TaskHeader {
    pub(super) job: u64,
    pub(super) chunk: u32,
    pub(super) code: TaskCode,
    pub(super) tag: Tag,
}

impl TaskHeader {
    /// A message holding this header, ready for the arguments to be appended.
    pub(super) fn start_message(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(TASK_HEADER + 64);
        out.extend_from_slice(&self.job.to_le_bytes());
        out.extend_from_slice(&self.chunk.to_le_bytes());
        out.extend_from_slice(&self.code.trampoline.to_le_bytes());
        out.extend_from_slice(&self.code.target.to_le_bytes());
        out.extend_from_slice(&self.tag);
        out
    }

    /// The header and the arguments of a task message; `None` if it is too short.
    pub(super) fn parse(message: &[u8]) -> Option<(Self, &[u8])> {
        let (head, args) = message.split_at_checked(TASK_HEADER)?;
        let (job, rest) = head.split_first_chunk::<8>()?;
        let (chunk, rest) = rest.split_first_chunk::<4>()?;
        let (trampoline, rest) = rest.split_first_chunk::<8>()?;
        let (target, rest) = rest.split_first_chunk::<8>()?;
        let tag: Tag = rest.try_into().ok()?;
        Some((
            Self {
                job: u64::from_le_bytes(*job),
                chunk: u32::from_le_bytes(*chunk),
                code: TaskCode {
                    trampoline: i64::from_le_bytes(*trampoline),
                    target: i64::from_le_bytes(*target),
                },
                tag,
            },
            args,
        ))
    }
}

/// How a chunk came back: its outcomes, or one failure for all its tasks.
pub(super) const STATUS_OUTCOMES: u8 = 0;
pub(super) const STATUS_FAILED: u8 = 1;

/// A result message's header.
pub(super) fn result_message(job: u64, chunk: u32, status: u8) -> Vec<u8> {
    let mut out = Vec::with_capacity(RESULT_HEADER + 64);
    out.extend_from_slice(&job.to_le_bytes());
    out.extend_from_slice(&chunk.to_le_bytes());
    out.push(status);
    out
}

/// `(job, chunk, status, body)` of a result message; `None` if it is too short.
pub(super) fn parse_result(message: &[u8]) -> Option<(u64, u32, u8, &[u8])> {
    let (job, rest) = message.split_first_chunk::<8>()?;
    let (chunk, rest) = rest.split_first_chunk::<4>()?;
    let (status, body) = rest.split_first()?;
    Some((
        u64::from_le_bytes(*job),
        u32::from_le_bytes(*chunk),
        *status,
        body,
    ))
}

/// A whole chunk's failure as it travels from a worker rank to rank 0, which turns it back
/// into the [`TaskError`] the local pool would have given each task (with rank 0's name for
/// the task). One task's own failure (a panic) travels inside the outcomes, as the local
/// worker encoded it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) enum Failure {
    Panicked {
        message: String,
        location: Option<PanicLocation>,
        backtrace: Option<String>,
    },
    /// A local worker process of the rank died; `pid` is a process id on that rank's host.
    WorkerLost {
        pid: i32,
        signal: Option<i32>,
        code: Option<i32>,
    },
    EncodeResult {
        message: String,
    },
    Terminated,
    InitializerFailed {
        message: String,
    },
    WorkersDiedBeforeReady {
        in_a_row: u32,
    },
    /// The rank could not run the chunk (its local pool did not start, its arguments did not
    /// decode, its code did not authenticate, ...).
    Refused {
        message: String,
    },
}

impl Failure {
    /// The failure a worker rank reports for a local pool's [`TaskError`].
    pub(super) fn from_task_error(error: TaskError) -> Self {
        match error {
            TaskError::Panicked {
                message,
                location,
                backtrace,
                ..
            } => Failure::Panicked {
                message,
                location,
                backtrace,
            },
            TaskError::WorkerLost {
                pid, signal, code, ..
            } => Failure::WorkerLost { pid, signal, code },
            TaskError::EncodeResult { message, .. } => Failure::EncodeResult { message },
            TaskError::Terminated { .. } => Failure::Terminated,
            TaskError::Pool(PoolError::InitializerFailed { message }) => {
                Failure::InitializerFailed { message }
            }
            TaskError::Pool(PoolError::WorkersDiedBeforeReady { in_a_row, .. }) => {
                Failure::WorkersDiedBeforeReady { in_a_row }
            }
            other => Failure::Refused {
                message: other.to_string(),
            },
        }
    }

    /// The [`TaskError`] of task `task`, as rank 0 reports it (`rank` ran it).
    pub(super) fn into_task_error(self, task: TaskName, rank: i32) -> TaskError {
        match self {
            Failure::Panicked {
                message,
                location,
                backtrace,
            } => TaskError::Panicked {
                task,
                message,
                location,
                backtrace,
            },
            Failure::WorkerLost { pid, signal, code } => TaskError::WorkerLost {
                task,
                pid,
                signal,
                code,
            },
            Failure::EncodeResult { message } => TaskError::EncodeResult { task, message },
            Failure::Terminated => TaskError::Terminated { task },
            Failure::InitializerFailed { message } => {
                PoolError::InitializerFailed { message }.into()
            }
            Failure::WorkersDiedBeforeReady { in_a_row } => PoolError::WorkersDiedBeforeReady {
                in_a_row,
                last: None,
            }
            .into(),
            Failure::Refused { message } => undecodable(task, format!("rank {rank}: {message}")),
        }
    }
}

/// The error for a chunk whose exchange did not decode.
pub(super) fn undecodable(task: TaskName, detail: String) -> TaskError {
    TaskError::DecodeResult {
        task,
        source: crate::codec::CodecError::Deserialize {
            type_name: "the chunk's outcomes from a worker rank",
            detail,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_round_trip_and_short_messages_are_refused() {
        let header = TaskHeader {
            job: 7,
            chunk: 3,
            code: TaskCode {
                trampoline: -42,
                target: 42,
            },
            tag: [9; MAC_LEN],
        };
        let mut message = header.start_message();
        message.extend_from_slice(b"args");
        let (back, args) = TaskHeader::parse(&message).unwrap();
        assert_eq!(back, header);
        assert_eq!(args, b"args");
        for len in 0..TASK_HEADER {
            assert!(TaskHeader::parse(&message[..len]).is_none());
        }
        let mut result = result_message(5, 6, STATUS_FAILED);
        result.push(1);
        assert_eq!(
            parse_result(&result),
            Some((5, 6, STATUS_FAILED, &[1u8][..]))
        );
        for len in 0..RESULT_HEADER {
            assert!(parse_result(&result[..len]).is_none());
        }
    }

    #[test]
    fn failures_become_the_local_pools_errors() {
        let (t, f) = (TaskName::described("t"), TaskName::described("f"));
        let lost = Failure::from_task_error(TaskError::WorkerLost {
            task: t,
            pid: 12,
            signal: Some(9),
            code: None,
        });
        let back = lost.into_task_error(f, 1);
        assert!(matches!(
            back,
            TaskError::WorkerLost {
                task,
                pid: 12,
                signal: Some(9),
                ..
            } if task == f
        ));
        let refused = Failure::Refused {
            message: "bad".into(),
        };
        assert!(matches!(
            refused.into_task_error(f, 2),
            TaskError::DecodeResult { task, .. } if task == f
        ));
    }
}
