//! The server side of the synchronization objects: [`SyncObject`] and [`SyncObject::run`],
//! which answers one [`SyncOp`], waiting in the calling connection's thread when it must.

use std::collections::VecDeque;
use std::sync::Arc;

use super::super::error::RemoteError;
use super::super::protocol::Response;
use super::state::{
    Arrival, BarrierState, Cell, ConditionState, Interrupted, LockState, Owner, QueueState,
    SemaphoreState, deadline,
};
use super::wire::{SyncOp, SyncSpec, Wait};

/// One synchronization object of the server. Cloning shares it: a connection thread takes a
/// clone out of the store and waits on it without holding the store's lock.
#[derive(Clone)]
pub(crate) enum SyncObject {
    Lock(Arc<Cell<LockState>>),
    Semaphore(Arc<Cell<SemaphoreState>>),
    Event(Arc<Cell<bool>>),
    Condition(Arc<Cell<ConditionState>>),
    Barrier(Arc<Cell<BarrierState>>),
    Queue(Arc<Cell<QueueState>>),
}

impl SyncObject {
    /// A new object as `spec` says; a barrier of no parties is refused.
    pub(crate) fn new(spec: SyncSpec) -> Result<Self, RemoteError> {
        fn cell<S>(state: S) -> Arc<Cell<S>> {
            Arc::new(Cell::new(state))
        }
        Ok(match spec {
            SyncSpec::Lock => Self::Lock(cell(LockState::new(false))),
            SyncSpec::RLock => Self::Lock(cell(LockState::new(true))),
            SyncSpec::Semaphore { value, bounded } => Self::Semaphore(cell(SemaphoreState {
                value,
                bound: bounded.then_some(value),
            })),
            SyncSpec::Event => Self::Event(cell(false)),
            SyncSpec::Condition => Self::Condition(cell(ConditionState::new())),
            SyncSpec::Barrier { parties: 0 } => return Err(RemoteError::Malformed),
            SyncSpec::Barrier { parties } => Self::Barrier(cell(BarrierState::new(parties))),
            SyncSpec::Queue { maxsize, joinable } => Self::Queue(cell(QueueState {
                items: VecDeque::new(),
                maxsize: maxsize.filter(|&m| m > 0),
                unfinished: joinable.then_some(0),
            })),
        })
    }

    /// A client left for good: locks its threads held are released (so the others go on, see
    /// the module docs). Semaphores are not owned, as in Python, and stay as they are.
    pub(crate) fn forget(&self, client: u64) {
        let released = match self {
            Self::Lock(cell) => cell.lock().forget(client),
            Self::Condition(cell) => cell.lock().lock.forget(client),
            _ => false,
        };
        if released {
            match self {
                Self::Lock(cell) => cell.changed(),
                Self::Condition(cell) => cell.changed(),
                _ => {}
            }
        }
    }

    /// Answers `op` from `me`; `alive` says whether the client still waits for the answer.
    pub(crate) fn run(&self, me: Owner, op: SyncOp, alive: &dyn Fn() -> bool) -> Response {
        let answer = match self {
            Self::Lock(cell) => lock_op(cell, me, &op, alive),
            Self::Semaphore(cell) => semaphore_op(cell, &op, alive),
            Self::Event(cell) => event_op(cell, &op, alive),
            Self::Condition(cell) => condition_op(cell, me, &op, alive),
            Self::Barrier(cell) => barrier_op(cell, &op, alive),
            Self::Queue(cell) => queue_op(cell, op, alive),
        };
        answer.unwrap_or_else(Response::Failed)
    }
}

type Answer = Result<Response, RemoteError>;

/// Acquires `lock` (inside `S`, reached by `get`) for `me`, waiting at most `wait`.
fn acquire<S>(
    cell: &Cell<S>,
    me: Owner,
    wait: Wait,
    alive: &dyn Fn() -> bool,
    get: fn(&mut S) -> &mut LockState,
) -> Response {
    let got = cell.wait(
        deadline(wait),
        alive,
        |s| get(s).try_acquire(me).then_some(true),
        |_, _| false,
    );
    Response::Flag(got)
}

fn lock_op(cell: &Cell<LockState>, me: Owner, op: &SyncOp, alive: &dyn Fn() -> bool) -> Answer {
    match op {
        SyncOp::Acquire(wait) => Ok(acquire(cell, me, *wait, alive, |s| s)),
        SyncOp::Release { n: 1 } => {
            cell.lock().release(me)?;
            cell.changed();
            Ok(Response::Done)
        }
        SyncOp::IsSet => Ok(Response::Flag(cell.lock().is_held())),
        _ => Err(RemoteError::Malformed),
    }
}

fn semaphore_op(cell: &Cell<SemaphoreState>, op: &SyncOp, alive: &dyn Fn() -> bool) -> Answer {
    match op {
        SyncOp::Acquire(wait) => {
            let wait = *wait;
            let take = |s: &mut SemaphoreState| {
                (s.value > 0).then(|| {
                    s.value -= 1;
                    true
                })
            };
            Ok(Response::Flag(cell.wait(
                deadline(wait),
                alive,
                take,
                |_, _| false,
            )))
        }
        SyncOp::Release { n } => {
            cell.lock().release(*n)?;
            cell.changed();
            Ok(Response::Done)
        }
        SyncOp::Capacity => Ok(Response::Len(cell.lock().value)),
        _ => Err(RemoteError::Malformed),
    }
}

fn event_op(cell: &Cell<bool>, op: &SyncOp, alive: &dyn Fn() -> bool) -> Answer {
    match op {
        SyncOp::Set | SyncOp::Clear => {
            *cell.lock() = matches!(op, SyncOp::Set);
            cell.changed();
            Ok(Response::Done)
        }
        SyncOp::IsSet => Ok(Response::Flag(*cell.lock())),
        SyncOp::Wait(wait) => Ok(Response::Flag(cell.wait(
            deadline(*wait),
            alive,
            |set| set.then_some(true),
            |set, _| *set,
        ))),
        _ => Err(RemoteError::Malformed),
    }
}

fn condition_op(
    cell: &Cell<ConditionState>,
    me: Owner,
    op: &SyncOp,
    alive: &dyn Fn() -> bool,
) -> Answer {
    let held = |cell: &Cell<ConditionState>| {
        if cell.lock().lock.held_by(me) {
            Ok(())
        } else {
            Err(RemoteError::NotHeld)
        }
    };
    match op {
        SyncOp::Acquire(wait) => Ok(acquire(cell, me, *wait, alive, |s| &mut s.lock)),
        SyncOp::Release { n: 1 } => {
            cell.lock().lock.release(me)?;
            cell.changed();
            Ok(Response::Done)
        }
        SyncOp::IsSet => Ok(Response::Flag(cell.lock().lock.is_held())),
        SyncOp::Notify { n } => {
            held(cell)?;
            cell.lock().notify(*n);
            cell.changed();
            Ok(Response::Done)
        }
        SyncOp::NotifyAll => {
            held(cell)?;
            cell.lock().notify_all();
            cell.changed();
            Ok(Response::Done)
        }
        SyncOp::Wait(wait) => condition_wait(cell, me, *wait, alive),
        _ => Err(RemoteError::Malformed),
    }
}

/// Python's `Condition.wait`: release the lock fully, wait to be notified (or time out), then
/// take the lock back at the same depth — however long that takes, as Python does.
fn condition_wait(
    cell: &Cell<ConditionState>,
    me: Owner,
    wait: Wait,
    alive: &dyn Fn() -> bool,
) -> Answer {
    let (levels, ticket) = {
        let mut state = cell.lock();
        let levels = state.lock.release_all(me)?;
        (levels, state.enqueue())
    };
    cell.changed();
    let notified = cell.wait(
        deadline(wait),
        alive,
        |s| s.take_notified(ticket).then_some(Ok(true)),
        |s, why| match why {
            Interrupted::TimedOut => Ok(s.leave(ticket)),
            Interrupted::Gone => {
                s.leave(ticket);
                Err(Interrupted::Gone)
            }
        },
    );
    let Ok(notified) = notified else {
        // Nobody reads the answer, and the lock stays released.
        return Ok(Response::Flag(false));
    };
    let restored = cell.wait(
        None,
        alive,
        |s| s.lock.restore(me, levels).then_some(true),
        |_, _| false,
    );
    Ok(Response::Flag(notified && restored))
}

fn barrier_op(cell: &Cell<BarrierState>, op: &SyncOp, alive: &dyn Fn() -> bool) -> Answer {
    let change = |f: fn(&mut BarrierState)| {
        f(&mut cell.lock());
        cell.changed();
        Ok(Response::Done)
    };
    match op {
        SyncOp::Wait(wait) => {
            let arrival = cell.lock().arrive()?;
            let (generation, index) = match arrival {
                Arrival::Passed(index) => {
                    cell.changed();
                    return Ok(Response::Len(index));
                }
                Arrival::Waiting { generation, index } => (generation, index),
            };
            // A timeout or a party that left breaks the barrier for everyone, as in Python.
            cell.wait(
                deadline(*wait),
                alive,
                |s| s.outcome(generation),
                |s, _| {
                    s.abort();
                    Err(RemoteError::BrokenBarrier)
                },
            )?;
            Ok(Response::Len(index))
        }
        SyncOp::Abort => change(BarrierState::abort),
        SyncOp::Reset => change(BarrierState::reset),
        SyncOp::Capacity => Ok(Response::Len(cell.lock().parties)),
        SyncOp::Count => Ok(Response::Len(cell.lock().arrived)),
        SyncOp::Broken => Ok(Response::Flag(cell.lock().broken)),
        _ => Err(RemoteError::Malformed),
    }
}

fn queue_op(cell: &Cell<QueueState>, op: SyncOp, alive: &dyn Fn() -> bool) -> Answer {
    match op {
        SyncOp::Put { item, wait } => {
            let mut item = Some(item);
            let stored = cell.wait(
                deadline(wait),
                alive,
                |q| {
                    if q.is_full() {
                        return None;
                    }
                    q.push(item.take()?);
                    Some(true)
                },
                |_, _| false,
            );
            Ok(Response::Flag(stored))
        }
        // A client that left while waiting takes nothing: the item stays for the others
        // (also one taken just as the client left; once the answer is on its way, an item
        // lost with its reader is lost, as with any consumer killed after `get` returned).
        SyncOp::Get(wait) => {
            let item = cell.wait(
                deadline(wait),
                alive,
                |q| q.items.pop_front().map(Some),
                |_, _| None,
            );
            match item {
                Some(item) if !alive() => {
                    cell.lock().items.push_front(item);
                    cell.changed();
                    Ok(Response::Bytes(None))
                }
                item => Ok(Response::Bytes(item)),
            }
        }
        SyncOp::Count => Ok(Response::Len(cell.lock().items.len() as u64)),
        SyncOp::Capacity => Ok(Response::Len(cell.lock().maxsize.unwrap_or(0))),
        SyncOp::TaskDone => {
            cell.lock().task_done()?;
            cell.changed();
            Ok(Response::Done)
        }
        SyncOp::Wait(wait) => {
            let done = |q: &mut QueueState| (q.unfinished.unwrap_or(0) == 0).then_some(true);
            if cell.lock().unfinished.is_none() {
                return Err(RemoteError::Malformed);
            }
            Ok(Response::Flag(cell.wait(
                deadline(wait),
                alive,
                done,
                |_, _| false,
            )))
        }
        _ => Err(RemoteError::Malformed),
    }
}
