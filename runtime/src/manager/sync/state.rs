//! The server's synchronization objects: plain state behind a mutex and a condition
//! variable ([`Cell`]), and the one waiting loop every blocking operation uses
//! ([`Cell::wait`]). No I/O: whether the waiting client is still there is a closure.
//!
//! A wait never holds the store's lock, so a client blocked in `queue.get()` or
//! `lock.acquire()` blocks only its own connection's thread.

use std::collections::{BTreeSet, VecDeque};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::super::error::RemoteError;

/// How often a waiting thread looks whether its client is still connected and the server
/// still running.
const SLICE: Duration = Duration::from_millis(100);

/// Who asks: a client process (by the id it said hello with) and one of its threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Owner {
    pub(crate) client: u64,
    pub(crate) thread: u64,
}

/// Why a wait ended without its condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Interrupted {
    /// The deadline passed.
    TimedOut,
    /// The waiting client left (or the server is stopping): nobody will read the answer.
    Gone,
}

/// One object's state and the condition variable its waiters sleep on.
pub(crate) struct Cell<S> {
    state: Mutex<S>,
    changed: Condvar,
}

impl<S> Cell<S> {
    pub(crate) fn new(state: S) -> Self {
        Self {
            state: Mutex::new(state),
            changed: Condvar::new(),
        }
    }

    /// The state, for an operation that does not wait. Every operation completes its
    /// mutation before it can fail, so a poisoned state is still consistent.
    pub(crate) fn lock(&self) -> MutexGuard<'_, S> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Wakes every waiter to look at the state again.
    pub(crate) fn changed(&self) {
        self.changed.notify_all();
    }

    /// Runs `step` until it gives an answer, sleeping between tries until the state changes;
    /// gives up with `give_up` when `deadline` passes or `alive` says the client left. Both
    /// run under the state's lock, and waiters are woken after either, since both may change
    /// the state.
    pub(crate) fn wait<R>(
        &self,
        deadline: Option<Instant>,
        alive: &dyn Fn() -> bool,
        mut step: impl FnMut(&mut S) -> Option<R>,
        give_up: impl FnOnce(&mut S, Interrupted) -> R,
    ) -> R {
        let mut state = self.lock();
        loop {
            if let Some(answer) = step(&mut state) {
                drop(state);
                self.changed();
                return answer;
            }
            let slice = match deadline {
                None => SLICE,
                Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => left.min(SLICE),
                    _ => return self.end(state, give_up, Interrupted::TimedOut),
                },
            };
            state = self
                .changed
                .wait_timeout(state, slice)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
            if !alive() {
                return self.end(state, give_up, Interrupted::Gone);
            }
        }
    }

    fn end<R>(
        &self,
        mut state: MutexGuard<'_, S>,
        give_up: impl FnOnce(&mut S, Interrupted) -> R,
        why: Interrupted,
    ) -> R {
        let answer = give_up(&mut state, why);
        drop(state);
        self.changed();
        answer
    }
}

/// The deadline `wait` from now; `None` (never) if it does not fit the clock.
pub(crate) fn deadline(wait: Option<Duration>) -> Option<Instant> {
    wait.and_then(|w| Instant::now().checked_add(w))
}

/// A `Lock` (any client may release it) or an `RLock` (only its owner may, once per acquire).
#[derive(Debug)]
pub(crate) struct LockState {
    holder: Option<Owner>,
    count: u64,
    reentrant: bool,
}

impl LockState {
    pub(crate) fn new(reentrant: bool) -> Self {
        Self {
            holder: None,
            count: 0,
            reentrant,
        }
    }

    pub(crate) fn is_held(&self) -> bool {
        self.holder.is_some()
    }

    pub(crate) fn held_by(&self, me: Owner) -> bool {
        self.holder == Some(me)
    }

    pub(crate) fn try_acquire(&mut self, me: Owner) -> bool {
        match self.holder {
            None => {
                self.holder = Some(me);
                self.count = 1;
                true
            }
            Some(holder) if self.reentrant && holder == me => match self.count.checked_add(1) {
                Some(count) => {
                    self.count = count;
                    true
                }
                None => false,
            },
            Some(_) => false,
        }
    }

    pub(crate) fn release(&mut self, me: Owner) -> Result<(), RemoteError> {
        match self.holder {
            None => Err(RemoteError::NotHeld),
            Some(holder) if self.reentrant && holder != me => Err(RemoteError::NotHeld),
            Some(_) => {
                self.count = self.count.saturating_sub(1);
                if self.count == 0 {
                    self.holder = None;
                }
                Ok(())
            }
        }
    }

    /// Releases every level `me` holds and returns how many (a condition's wait).
    pub(crate) fn release_all(&mut self, me: Owner) -> Result<u64, RemoteError> {
        if !self.held_by(me) {
            return Err(RemoteError::NotHeld);
        }
        self.holder = None;
        Ok(std::mem::take(&mut self.count))
    }

    /// Takes the lock back at `count` levels if it is free (a condition's wait ending).
    pub(crate) fn restore(&mut self, me: Owner, count: u64) -> bool {
        if self.holder.is_some() {
            return false;
        }
        self.holder = Some(me);
        self.count = count;
        true
    }

    /// Releases the lock if a thread of `client` holds it; whether it did.
    pub(crate) fn forget(&mut self, client: u64) -> bool {
        if self.holder.is_some_and(|h| h.client == client) {
            self.holder = None;
            self.count = 0;
            return true;
        }
        false
    }
}

/// A `Semaphore`, bounded or not.
#[derive(Debug)]
pub(crate) struct SemaphoreState {
    pub(crate) value: u64,
    pub(crate) bound: Option<u64>,
}

impl SemaphoreState {
    pub(crate) fn release(&mut self, n: u64) -> Result<(), RemoteError> {
        let value = self.value.checked_add(n).ok_or(RemoteError::OverReleased)?;
        if self.bound.is_some_and(|bound| value > bound) {
            return Err(RemoteError::OverReleased);
        }
        self.value = value;
        Ok(())
    }
}

/// A `Condition`: its re-entrant lock, and the tickets of its waiters in arrival order.
#[derive(Debug)]
pub(crate) struct ConditionState {
    pub(crate) lock: LockState,
    next_ticket: u64,
    waiting: VecDeque<u64>,
    notified: BTreeSet<u64>,
}

impl ConditionState {
    pub(crate) fn new() -> Self {
        Self {
            lock: LockState::new(true),
            next_ticket: 0,
            waiting: VecDeque::new(),
            notified: BTreeSet::new(),
        }
    }

    /// Queues a waiter; its ticket.
    pub(crate) fn enqueue(&mut self) -> u64 {
        self.next_ticket += 1;
        self.waiting.push_back(self.next_ticket);
        self.next_ticket
    }

    /// Wakes the `n` longest waiting.
    pub(crate) fn notify(&mut self, n: u64) {
        for _ in 0..n {
            match self.waiting.pop_front() {
                Some(ticket) => self.notified.insert(ticket),
                None => break,
            };
        }
    }

    pub(crate) fn notify_all(&mut self) {
        self.notified.extend(self.waiting.drain(..));
    }

    /// Whether `ticket` was notified (consuming the notification).
    pub(crate) fn take_notified(&mut self, ticket: u64) -> bool {
        self.notified.remove(&ticket)
    }

    /// A waiter gives up: leaves the queue; whether it had been notified meanwhile.
    pub(crate) fn leave(&mut self, ticket: u64) -> bool {
        self.waiting.retain(|&t| t != ticket);
        self.take_notified(ticket)
    }
}

/// A `Barrier`: generations; a generation ends released (every party arrived) or broken.
#[derive(Debug)]
pub(crate) struct BarrierState {
    pub(crate) parties: u64,
    pub(crate) arrived: u64,
    generation: u64,
    /// The latest generation that ended with every party arrived.
    released: Option<u64>,
    pub(crate) broken: bool,
}

/// How a party's wait at a barrier is going.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arrival {
    /// The party's generation ended released; its arrival index.
    Passed(u64),
    /// Still waiting, in generation `generation` with index `index`.
    Waiting { generation: u64, index: u64 },
}

impl BarrierState {
    pub(crate) fn new(parties: u64) -> Self {
        Self {
            parties,
            arrived: 0,
            generation: 0,
            released: None,
            broken: false,
        }
    }

    /// A party arrives.
    pub(crate) fn arrive(&mut self) -> Result<Arrival, RemoteError> {
        if self.broken {
            return Err(RemoteError::BrokenBarrier);
        }
        let index = self.arrived;
        self.arrived += 1;
        if self.arrived >= self.parties {
            self.released = Some(self.generation);
            self.generation += 1;
            self.arrived = 0;
            return Ok(Arrival::Passed(index));
        }
        Ok(Arrival::Waiting {
            generation: self.generation,
            index,
        })
    }

    /// Whether a party waiting in `generation` may go: `Some(Ok)` released, `Some(Err)` broken
    /// or reset, `None` still waiting.
    pub(crate) fn outcome(&self, generation: u64) -> Option<Result<(), RemoteError>> {
        if self.generation != generation {
            return Some(if self.released == Some(generation) {
                Ok(())
            } else {
                Err(RemoteError::BrokenBarrier)
            });
        }
        self.broken.then_some(Err(RemoteError::BrokenBarrier))
    }

    /// Breaks the barrier: every waiter, and every later arrival until a reset, fails.
    pub(crate) fn abort(&mut self) {
        self.broken = true;
    }

    /// Back to the initial state; parties waiting now fail.
    pub(crate) fn reset(&mut self) {
        if self.arrived > 0 {
            self.generation += 1;
        }
        self.arrived = 0;
        self.broken = false;
    }
}

/// A `Queue` or `JoinableQueue` of encoded items.
#[derive(Debug)]
pub(crate) struct QueueState {
    pub(crate) items: VecDeque<Vec<u8>>,
    pub(crate) maxsize: Option<u64>,
    /// Items put and not yet marked done (joinable queues only).
    pub(crate) unfinished: Option<u64>,
}

impl QueueState {
    pub(crate) fn is_full(&self) -> bool {
        self.maxsize
            .is_some_and(|max| self.items.len() as u64 >= max)
    }

    pub(crate) fn push(&mut self, item: Vec<u8>) {
        self.items.push_back(item);
        if let Some(unfinished) = &mut self.unfinished {
            *unfinished = unfinished.saturating_add(1);
        }
    }

    pub(crate) fn task_done(&mut self) -> Result<(), RemoteError> {
        match &mut self.unfinished {
            Some(0) => Err(RemoteError::OverReleased),
            Some(unfinished) => {
                *unfinished -= 1;
                Ok(())
            }
            None => Err(RemoteError::Malformed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Owner = Owner {
        client: 1,
        thread: 1,
    };
    const B: Owner = Owner {
        client: 2,
        thread: 1,
    };

    #[test]
    fn locks_are_released_by_anyone_rlocks_only_by_their_owner() {
        let mut lock = LockState::new(false);
        assert!(lock.try_acquire(A));
        assert!(!lock.try_acquire(A));
        assert_eq!(lock.release(B), Ok(()));
        assert_eq!(lock.release(B), Err(RemoteError::NotHeld));
        let mut rlock = LockState::new(true);
        assert!(rlock.try_acquire(A) && rlock.try_acquire(A));
        assert!(!rlock.try_acquire(B));
        assert_eq!(rlock.release(B), Err(RemoteError::NotHeld));
        assert_eq!(rlock.release(A), Ok(()));
        assert!(rlock.is_held());
        assert!(rlock.forget(1));
        assert!(!rlock.is_held() && rlock.try_acquire(B));
    }

    #[test]
    fn bounded_semaphores_refuse_over_release() {
        let mut sem = SemaphoreState {
            value: 1,
            bound: Some(2),
        };
        assert_eq!(sem.release(1), Ok(()));
        assert_eq!(sem.release(1), Err(RemoteError::OverReleased));
        assert_eq!(sem.value, 2);
    }

    #[test]
    fn conditions_notify_in_arrival_order_and_a_leaver_takes_no_notification() {
        let mut cond = ConditionState::new();
        let (first, second, third) = (cond.enqueue(), cond.enqueue(), cond.enqueue());
        assert!(!cond.leave(first));
        cond.notify(1);
        assert!(cond.take_notified(second));
        assert!(!cond.take_notified(third));
        cond.notify_all();
        assert!(cond.leave(third));
    }

    #[test]
    fn barriers_release_generations_and_break_on_abort_and_reset() {
        let mut barrier = BarrierState::new(2);
        let Ok(Arrival::Waiting { generation, index }) = barrier.arrive() else {
            panic!("first party must wait")
        };
        assert_eq!((generation, index), (0, 0));
        assert_eq!(barrier.outcome(0), None);
        assert_eq!(barrier.arrive(), Ok(Arrival::Passed(1)));
        assert_eq!(barrier.outcome(0), Some(Ok(())));
        let Ok(Arrival::Waiting { generation, .. }) = barrier.arrive() else {
            panic!("a new generation starts")
        };
        barrier.reset();
        assert_eq!(
            barrier.outcome(generation),
            Some(Err(RemoteError::BrokenBarrier))
        );
        barrier.abort();
        assert_eq!(barrier.arrive(), Err(RemoteError::BrokenBarrier));
        barrier.reset();
        assert!(matches!(barrier.arrive(), Ok(Arrival::Waiting { .. })));
    }

    #[test]
    fn joinable_queues_count_unfinished_items() {
        let mut queue = QueueState {
            items: VecDeque::new(),
            maxsize: Some(1),
            unfinished: Some(0),
        };
        queue.push(vec![1]);
        assert!(queue.is_full());
        assert_eq!(queue.task_done(), Ok(()));
        assert_eq!(queue.task_done(), Err(RemoteError::OverReleased));
    }
}
