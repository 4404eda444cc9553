//! `loom` models of the barrier (`sync::barrier::Core`): every party passes with a distinct
//! index and none before the last arrives, rounds reuse the barrier, a timeout or an abort
//! breaks it for the others (and `reset` repairs it), and a party that dies, parked or
//! holding the internal lock, breaks it with its pid instead of hanging the others.
//!
//! The models with [`Model`] park without deadlines, so a state change that forgets to wake
//! the parked parties leaves them blocked, which loom reports as a deadlock.

use std::time::Instant;

use loom::sync::Arc;
use loom::sync::atomic::Ordering::{Relaxed, SeqCst};
use loom::thread;

use super::{DEAD, DIED, DiesWhileHeld, Model, model, play};
use crate::sync::atomic::{AtomicU32, AtomicU64};
use crate::sync::barrier::{BarrierState, Core};
use crate::sync::error::BarrierError;
use crate::sync::park::{Park, Waited};

/// A barrier's state and slots on the heap.
struct HeapBarrier {
    state: BarrierState,
    slots: Vec<AtomicU64>,
    parties: u32,
}

impl HeapBarrier {
    fn new(parties: u32) -> Arc<Self> {
        Arc::new(Self {
            state: BarrierState::new(parties),
            slots: (0..parties).map(|_| AtomicU64::new(0)).collect(),
            parties,
        })
    }

    fn core(&self) -> Core<'_> {
        Core::new(&self.state, &self.slots, self.parties)
    }

    /// Nobody inside: no party counted, every slot free.
    fn assert_empty(&self) {
        assert_eq!(self.core().n_waiting(), 0);
        assert!(
            self.slots.iter().all(|s| s.load(Relaxed) == 0),
            "a slot leaked"
        );
    }
}

/// Runs `wait` as party `id` on a new model thread.
fn party<T: Send + 'static>(
    id: u64,
    b: &Arc<HeapBarrier>,
    wait: impl FnOnce(Core<'_>) -> T + Send + 'static,
) -> thread::JoinHandle<T> {
    let b = b.clone();
    thread::spawn(move || {
        play(id);
        wait(b.core())
    })
}

fn sorted(mut v: Vec<u32>) -> Vec<u32> {
    v.sort_unstable();
    v
}

#[test]
fn loom_barrier_lets_every_party_pass_with_distinct_indices() {
    model(|| {
        let b = HeapBarrier::new(3);
        let others: Vec<_> = (1..=2)
            .map(|id| party(id, &b, |c| c.wait_until::<Model>(None).unwrap()))
            .collect();
        play(3);
        let mut got = vec![b.core().wait_until::<Model>(None).unwrap()];
        got.extend(others.into_iter().map(|t| t.join().unwrap()));
        assert_eq!(sorted(got), [0, 1, 2]);
        b.assert_empty();
        assert!(!b.core().is_broken());
    });
}

#[test]
fn loom_barrier_rounds_reuse_it_and_nobody_leaves_a_round_early() {
    model(|| {
        let b = HeapBarrier::new(2);
        let arrived = Arc::new(AtomicU32::new(0));
        let run = |c: Core<'_>, arrived: &AtomicU32| {
            (1..=2u32)
                .map(|round| {
                    arrived.fetch_add(1, SeqCst);
                    let index = c.wait_until::<Model>(None).unwrap();
                    assert!(
                        arrived.load(SeqCst) >= 2 * round,
                        "a party left round {round} before the other arrived"
                    );
                    index
                })
                .collect::<Vec<_>>()
        };
        let a2 = arrived.clone();
        let other = party(1, &b, move |c| run(c, &a2));
        play(2);
        let mine = run(b.core(), &arrived);
        let theirs = other.join().unwrap();
        for round in 0..2 {
            assert_eq!(sorted(vec![mine[round], theirs[round]]), [0, 1]);
        }
        b.assert_empty();
    });
}

/// Parks like [`Model`], except that a wait on the barrier's sequence word with a deadline
/// returns at once as timed out: the deadline of a `wait_until(now)` has passed by then.
struct Expiring;

impl Park for Expiring {
    fn wait(word: &AtomicU32, expected: u32, deadline: Option<Instant>) -> Waited {
        if deadline.is_some() {
            thread::yield_now();
            return Waited::TimedOut;
        }
        Model::wait(word, expected, deadline)
    }
    fn wake(word: &AtomicU32, n: u32) {
        Model::wake(word, n);
    }
    fn wait_low(word: &AtomicU64, expected: u32, deadline: Option<Instant>) -> Waited {
        Model::wait_low(word, expected, deadline)
    }
    fn wake_low(word: &AtomicU64, n: u32) {
        Model::wake_low(word, n);
    }
    fn alive(id: u64) -> bool {
        Model::alive(id)
    }
    fn spin() {
        Model::spin();
    }
    fn self_id() -> u64 {
        Model::self_id()
    }
    fn self_tid() -> u32 {
        Model::self_tid()
    }
}

/// One party gives up at once: either the other had arrived (both pass) or the barrier
/// breaks: the impatient party gets `Timeout`, the other (parked without a deadline, so it
/// must be woken) `Broken`, and `reset` makes it usable again.
#[test]
fn loom_barrier_a_timeout_breaks_it_for_the_other_party() {
    model(|| {
        let b = HeapBarrier::new(2);
        let patient = party(1, &b, |c| c.wait_until::<Model>(None));
        play(2);
        let impatient = b.core().wait_until::<Expiring>(Some(Instant::now()));
        let patient = patient.join().unwrap();
        match (impatient, patient) {
            (Ok(i), Ok(j)) => assert_eq!(sorted(vec![i, j]), [0, 1]),
            (Err(BarrierError::Timeout), Err(BarrierError::Broken)) => {
                assert!(b.core().is_broken());
                b.core().reset::<Model>();
                assert!(!b.core().is_broken());
            }
            other => panic!("neither a passed round nor a broken one: {other:?}"),
        }
        b.assert_empty();
    });
}

#[test]
fn loom_barrier_abort_wakes_a_waiting_party_and_reset_repairs_it() {
    model(|| {
        let b = HeapBarrier::new(2);
        let waiting = party(1, &b, |c| c.wait_until::<Model>(None));
        play(2);
        b.core().abort::<Model>();
        assert!(matches!(waiting.join().unwrap(), Err(BarrierError::Broken)));
        assert!(b.core().is_broken());
        b.core().reset::<Model>();
        let again = party(1, &b, |c| c.wait_until::<Model>(None).unwrap());
        let mine = b.core().wait_until::<Model>(None).unwrap();
        assert_eq!(sorted(vec![mine, again.join().unwrap()]), [0, 1]);
        b.assert_empty();
    });
}

/// [`DiesWhileHeld`]'s liveness (party [`DEAD`] is alive until `DIED`) and lock waits, but a
/// timed wait on the barrier's sequence word returns at once (after a yield): the barrier
/// then checks its parties' liveness, so it does so at every point of the other's life
/// without the model sleeping through the barrier's check intervals.
struct PartyDies;

impl Park for PartyDies {
    fn wait(word: &AtomicU32, expected: u32, deadline: Option<Instant>) -> Waited {
        Expiring::wait(word, expected, deadline)
    }
    fn wake(word: &AtomicU32, n: u32) {
        Model::wake(word, n);
    }
    fn wait_low(word: &AtomicU64, expected: u32, deadline: Option<Instant>) -> Waited {
        DiesWhileHeld::wait_low(word, expected, deadline)
    }
    fn wake_low(word: &AtomicU64, n: u32) {
        Model::wake_low(word, n);
    }
    fn alive(id: u64) -> bool {
        DiesWhileHeld::alive(id)
    }
    fn now() -> Instant {
        DiesWhileHeld::virtual_now()
    }
    fn spin() {
        Model::spin();
    }
    fn self_id() -> u64 {
        Model::self_id()
    }
    fn self_tid() -> u32 {
        Model::self_tid()
    }
}

/// Three parties, of which two come: [`DEAD`] arrives and dies parked (as a process killed
/// in `wait`: counted, in its slot, the lock released), before or after the survivor
/// arrives. The survivor must not wait forever: it gets `PartyDied` with the dead pid, and
/// the dead party's slot and count are cleared.
#[test]
fn loom_barrier_a_party_that_dies_parked_breaks_it_with_its_pid() {
    model(|| {
        DIED.store(false, SeqCst);
        let b = HeapBarrier::new(3);
        let dying = party(DEAD, &b, |c| {
            drop(c.arrive::<PartyDies>(None).unwrap());
            DIED.store(true, SeqCst);
        });
        play(1);
        let got = b.core().wait_until::<PartyDies>(None);
        dying.join().unwrap();
        assert!(
            matches!(got, Err(BarrierError::PartyDied { pid: 7 })),
            "{got:?}"
        );
        assert!(b.core().is_broken());
        b.assert_empty();
    });
}

/// [`DEAD`] dies holding the barrier's internal lock, in the middle of its arrival (counted,
/// in its slot, the round not released), before or after the survivor arrives. The
/// survivor takes the lock over, clears the dead party and gets `PartyDied`.
#[test]
fn loom_barrier_a_party_that_dies_holding_its_lock_breaks_it_with_its_pid() {
    model(|| {
        DIED.store(false, SeqCst);
        let b = HeapBarrier::new(2);
        let dying = party(DEAD, &b, |c| {
            std::mem::forget(c.arrive::<PartyDies>(None).unwrap());
            DIED.store(true, SeqCst);
        });
        play(1);
        let got = b.core().wait_until::<PartyDies>(None);
        dying.join().unwrap();
        assert!(
            matches!(got, Err(BarrierError::PartyDied { pid: 7 })),
            "{got:?}"
        );
        assert!(b.core().is_broken());
        b.assert_empty();
    });
}
