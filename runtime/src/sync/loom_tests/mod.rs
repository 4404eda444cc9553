//! `loom` models of the algorithms that need no OS: the lock word (also with an owner that
//! dies holding it, before or while others wait), the semaphore counter and the event flag, on
//! the heap, with every interleaving of two or three threads explored; the barrier and the
//! condition (with the recursive lock it uses) in [`barrier`] and [`condition`].
//! The lock word's models guard a plain `loom` cell, so a weakened ordering of the acquiring
//! CAS or the releasing swap is a reported data race; a release that forgets the wake leaves
//! a parked waiter blocked, which loom reports as a deadlock.
//!
//! Run with `RUSTFLAGS="--cfg loom" cargo test -p mproc --lib --release loom`.

use std::time::Instant;

use loom::cell::UnsafeCell;
use loom::sync::Arc;
use loom::sync::atomic::Ordering::{Relaxed, SeqCst};
use loom::thread;

use super::atomic::{AtomicU32, AtomicU64};
use super::event::EventState;
use super::park::{Park, Waited};
use super::raw_lock::{self, Acquired};
use super::semaphore::SemState;

mod barrier;
mod condition;

loom::thread_local! {
    /// The identity the calling model thread plays (0: none yet).
    static ME: std::cell::Cell<u64> = std::cell::Cell::new(0);
}

/// Makes the calling model thread play the process (and thread) `id`: what the parks of
/// these models return from `Park::self_id` and `Park::self_tid`.
pub(crate) fn play(id: u64) {
    assert!(id != 0 && id < u64::from(u32::MAX));
    ME.with(|me| me.set(id));
}

/// The identity the calling model thread plays (see [`play`]).
fn me() -> u64 {
    let id = ME.with(std::cell::Cell::get);
    assert!(
        id != 0,
        "a model thread calls `play` before it uses an identity"
    );
    id
}

/// The thread id of the identity the calling model thread plays.
fn my_tid() -> u32 {
    u32::try_from(me()).expect("invariant: `play` takes ids below u32::MAX")
}

/// Parking for the models: a futex emulated with one mutex and condition variable for all
/// words (wake-ups may be spurious, as with a real futex; callers re-check). A wake the
/// algorithm forgets leaves a waiter blocked, which loom reports as a deadlock. Every owner
/// is alive; deadlines are not modelled (the models wait without one). Each thread is the
/// identity it [`play`]s.
pub(crate) struct Model;

loom::lazy_static! {
    static ref FUTEX: (loom::sync::Mutex<()>, loom::sync::Condvar) =
        (loom::sync::Mutex::new(()), loom::sync::Condvar::new());
}

fn futex_wait(current: impl Fn() -> u32, expected: u32) -> Waited {
    let guard = FUTEX.0.lock().unwrap();
    if current() == expected {
        drop(FUTEX.1.wait(guard).unwrap());
    }
    Waited::Woken
}

fn futex_wake() {
    let _guard = FUTEX.0.lock().unwrap();
    FUTEX.1.notify_all();
}

impl Park for Model {
    fn wait(word: &AtomicU32, expected: u32, _: Option<Instant>) -> Waited {
        futex_wait(|| word.load(SeqCst), expected)
    }
    fn wake(_: &AtomicU32, _: u32) {
        futex_wake();
    }
    fn wait_low(word: &AtomicU64, expected: u32, _: Option<Instant>) -> Waited {
        #[allow(clippy::cast_possible_truncation, reason = "the low half")]
        futex_wait(|| word.load(SeqCst) as u32, expected)
    }
    fn wake_low(_: &AtomicU64, _: u32) {
        futex_wake();
    }
    fn alive(_: u64) -> bool {
        true
    }
    fn spin() {
        thread::yield_now();
    }
    fn self_id() -> u64 {
        me()
    }
    fn self_tid() -> u32 {
        my_tid()
    }
}

/// Runs a model with at most two preemptions per execution unless `LOOM_MAX_PREEMPTIONS`
/// says otherwise: bugs in these small protocols show within that bound, and the full state
/// space of the spin-then-park loops would take hours.
pub(crate) fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(2);
    }
    // A waiter that polls a live owner's liveness takes many steps per execution (each poll
    // is a few atomics and a yield) before the owner dies; loom's default (1000) cuts those
    // executions short.
    if std::env::var_os("LOOM_MAX_BRANCHES").is_none() {
        builder.max_branches = builder.max_branches.max(20_000);
    }
    builder.check(f);
}

#[test]
fn loom_lock_word_gives_mutual_exclusion() {
    model(|| {
        let word = Arc::new(AtomicU64::new(0));
        let inside = Arc::new(AtomicU32::new(0));
        let threads: Vec<_> = (1..=2u64)
            .map(|me| {
                let (word, inside) = (word.clone(), inside.clone());
                thread::spawn(move || {
                    let got = raw_lock::lock::<Model>(&word, me, None).unwrap();
                    assert_eq!(got, Acquired::Clean);
                    assert_eq!(inside.fetch_add(1, Relaxed), 0, "two holders at once");
                    inside.fetch_sub(1, Relaxed);
                    assert_eq!(raw_lock::unlock::<Model>(&word), Ok(me));
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert!(!raw_lock::is_locked(&word));
    });
}

/// Plain (non-atomic) data guarded by a lock word, as the bytes of a `Value` are: loom reports
/// a data race if a holder's writes are not visible to the next holder, so weakening the
/// acquiring CAS or the releasing swap below `Acquire`/`Release` fails the model.
struct Guarded {
    word: AtomicU64,
    data: UnsafeCell<u64>,
}

// SAFETY: `data` is only accessed by the lock word's holder; loom checks every access for
// races, which is what the models test.
unsafe impl Sync for Guarded {}

impl Guarded {
    fn new(word: u64, data: u64) -> Arc<Self> {
        Arc::new(Self {
            word: AtomicU64::new(word),
            data: UnsafeCell::new(data),
        })
    }

    /// A non-atomic read-modify-write; the caller holds the lock word.
    fn increment(&self) -> u64 {
        // SAFETY: the caller holds the lock; loom reports the access if it races.
        let old = self.data.with(|p| unsafe { *p });
        // SAFETY: as above.
        self.data.with_mut(|p| unsafe { *p = old + 1 });
        old
    }
}

#[test]
fn loom_lock_word_orders_plain_data_between_holders() {
    model(|| {
        let g = Guarded::new(0, 0);
        let threads: Vec<_> = (1..=2u64)
            .map(|me| {
                let g = g.clone();
                thread::spawn(move || {
                    raw_lock::lock::<Model>(&g.word, me, None).unwrap();
                    g.increment();
                    assert_eq!(raw_lock::unlock::<Model>(&g.word), Ok(me));
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        raw_lock::lock::<Model>(&g.word, 3, None).unwrap();
        assert_eq!(g.increment(), 2, "an update was lost");
    });
}

#[test]
fn loom_unlock_wakes_a_parked_waiter() {
    // A parked waiter leaves `Model::wait_low` only when woken (the models have no deadline,
    // so no periodic dead-owner check either): if a release forgets the wake, loom reports
    // the waiter blocked forever.
    for release_as_owner in [false, true] {
        model(move || {
            let word = Arc::new(AtomicU64::new(0));
            raw_lock::lock::<Model>(&word, 1, None).unwrap();
            let w2 = word.clone();
            let waiter = thread::spawn(move || {
                raw_lock::lock::<Model>(&w2, 2, None).unwrap();
                assert_eq!(raw_lock::unlock::<Model>(&w2), Ok(2));
            });
            // Release only once the waiter has announced itself (it may or may not be asleep
            // yet: both cases are explored).
            while word.load(SeqCst) & raw_lock::WAITERS == 0 {
                thread::yield_now();
            }
            if release_as_owner {
                assert!(raw_lock::unlock_if_owner::<Model>(&word, 1));
            } else {
                assert_eq!(raw_lock::unlock::<Model>(&word), Ok(1));
            }
            waiter.join().unwrap();
        });
    }
}

/// Identity 7 is dead; everyone else is alive. Blocking is [`Model`]'s.
pub(crate) struct SevenIsDead;

pub(crate) const DEAD: u64 = 7;

impl Park for SevenIsDead {
    fn wait(word: &AtomicU32, expected: u32, deadline: Option<Instant>) -> Waited {
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
        id != DEAD
    }
    fn spin() {
        Model::spin();
    }
    fn self_id() -> u64 {
        me()
    }
    fn self_tid() -> u32 {
        my_tid()
    }
}

#[test]
fn loom_a_dead_owners_lock_is_taken_over_once_with_its_data() {
    model(|| {
        let g = Guarded::new(0, 0);
        // The owner locks, updates the data and dies holding the lock. (Its death is joined
        // first: the kernel orders a process's death before anyone learns of it.)
        let owner = {
            let g = g.clone();
            thread::spawn(move || {
                raw_lock::lock::<SevenIsDead>(&g.word, DEAD, None).unwrap();
                g.increment();
            })
        };
        owner.join().unwrap();
        let takers: Vec<_> = (1..=2u64)
            .map(|me| {
                let g = g.clone();
                thread::spawn(
                    move || match raw_lock::try_lock::<SevenIsDead>(&g.word, me) {
                        Ok(how) => {
                            let seen = g.increment();
                            assert_eq!(raw_lock::unlock::<SevenIsDead>(&g.word), Ok(me));
                            Some((how, seen))
                        }
                        Err(raw_lock::TimedOut) => None,
                    },
                )
            })
            .collect();
        let got: Vec<_> = takers.into_iter().map(|t| t.join().unwrap()).collect();
        let died: Vec<_> = got
            .iter()
            .flatten()
            .filter(|(how, _)| *how == Acquired::OwnerDied(DEAD))
            .collect();
        assert_eq!(
            died.len(),
            1,
            "exactly one taker learns of the death: {got:?}"
        );
        assert_eq!(died[0].1, 1, "the taker sees the dead owner's update");
        for (how, seen) in got.iter().flatten() {
            if *how == Acquired::Clean {
                assert_eq!(*seen, 2, "a later holder sees both updates");
            }
        }
        assert!(!raw_lock::is_locked(&g.word));
    });
}

loom::lazy_static! {
    /// Whether identity [`DEAD`] has died (in [`DiesWhileHeld`]'s models).
    pub(crate) static ref DIED: loom::sync::atomic::AtomicBool = loom::sync::atomic::AtomicBool::new(false);
}

/// Identity [`DEAD`] is alive until it says it died (`DIED`); everyone else is alive. A timed
/// park (every park of a contended lock is one: the waiter checks its owner's liveness at
/// each deadline) yields and then lets the deadline pass on a virtual clock, so a waiter
/// parked on an owner that is about to die keeps checking, and loom explores the death at
/// every point of its wait.
pub(crate) struct DiesWhileHeld;

impl DiesWhileHeld {
    /// A timed wait: yields, then lets the virtual clock reach the deadline.
    pub(crate) fn timed_out(deadline: Option<Instant>) -> Waited {
        thread::yield_now();
        if let Some(d) = deadline {
            ELAPSED.with(|e| e.set(e.get().max(d.saturating_duration_since(*EPOCH))));
        }
        Waited::TimedOut
    }

    /// The calling thread's virtual clock.
    pub(crate) fn virtual_now() -> Instant {
        *EPOCH + ELAPSED.with(std::cell::Cell::get)
    }
}

loom::lazy_static! {
    /// The start of the virtual clocks of an execution.
    static ref EPOCH: Instant = Instant::now();
}

loom::thread_local! {
    /// How far the calling thread's virtual clock is past [`EPOCH`]: deterministic, so loom
    /// can replay an execution, and nothing sleeps.
    static ELAPSED: std::cell::Cell<std::time::Duration> =
        std::cell::Cell::new(std::time::Duration::ZERO);
}

impl Park for DiesWhileHeld {
    fn wait(word: &AtomicU32, expected: u32, deadline: Option<Instant>) -> Waited {
        if deadline.is_some() {
            return Self::timed_out(deadline);
        }
        Model::wait(word, expected, deadline)
    }
    fn wake(word: &AtomicU32, n: u32) {
        Model::wake(word, n);
    }
    fn wait_low(word: &AtomicU64, expected: u32, deadline: Option<Instant>) -> Waited {
        if deadline.is_some() {
            return Self::timed_out(deadline);
        }
        Model::wait_low(word, expected, deadline)
    }
    fn wake_low(word: &AtomicU64, n: u32) {
        Model::wake_low(word, n);
    }
    fn now() -> Instant {
        DiesWhileHeld::virtual_now()
    }
    fn alive(id: u64) -> bool {
        id != DEAD || !DIED.load(SeqCst)
    }
    fn spin() {
        Model::spin();
    }
    fn self_id() -> u64 {
        me()
    }
    fn self_tid() -> u32 {
        my_tid()
    }
}

/// The owner's death is scripted inside the model: it takes the lock (or waits for it),
/// updates the data and dies holding it, at any point of a blocking waiter's wait. The waiter
/// ends in every interleaving (no hang), holding the lock: cleanly if it came first (then the
/// owner dies holding it after), or taken over from the dead owner with the owner's update
/// visible, reported as `OwnerDied`; never both, never neither.
#[test]
fn loom_a_parked_waiter_takes_over_from_an_owner_that_dies_holding_the_lock() {
    model(|| {
        DIED.store(false, SeqCst);
        let g = Guarded::new(0, 0);
        let owner = {
            let g = g.clone();
            thread::spawn(move || {
                raw_lock::lock_blocking::<DiesWhileHeld>(&g.word, DEAD);
                g.increment();
                DIED.store(true, SeqCst); // dies: never unlocks
            })
        };
        let waiter = {
            let g = g.clone();
            thread::spawn(move || {
                let how = raw_lock::lock_blocking::<DiesWhileHeld>(&g.word, 1);
                let seen = g.increment();
                assert_eq!(raw_lock::unlock::<DiesWhileHeld>(&g.word), Ok(1));
                (how, seen)
            })
        };
        let (how, seen) = waiter.join().unwrap();
        owner.join().unwrap();
        match how {
            Acquired::OwnerDied(id) => {
                assert_eq!(id, DEAD);
                assert_eq!(seen, 1, "the taker sees the dead owner's update");
                assert!(!raw_lock::is_locked(&g.word), "the taker released it");
            }
            Acquired::Clean => {
                assert_eq!(seen, 0, "first: before the owner's update");
                assert_eq!(
                    raw_lock::owner(g.word.load(Relaxed)),
                    DEAD,
                    "the owner took it after and died holding it"
                );
            }
        }
    });
}

#[test]
fn loom_a_guard_never_releases_someone_elses_lock() {
    model(|| {
        let word = Arc::new(AtomicU64::new(0));
        raw_lock::lock::<Model>(&word, 1, None).unwrap();
        let w2 = word.clone();
        // Another process releases it (Python allows that; it may find it already released)
        // and locks it as 2...
        let t = thread::spawn(move || {
            let _ = raw_lock::unlock::<Model>(&w2);
            raw_lock::lock::<Model>(&w2, 2, None).unwrap();
        });
        // ...while 1's guard drops: it may release its own hold, never 2's.
        raw_lock::unlock_if_owner::<Model>(&word, 1);
        t.join().unwrap();
        assert_eq!(raw_lock::owner(word.load(Relaxed)), 2);
    });
}

#[test]
fn loom_semaphore_never_over_grants_and_never_loses_a_wakeup() {
    model(|| {
        let sem = Arc::new(SemState::new(0, u32::MAX));
        let taken = Arc::new(AtomicU32::new(0));
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let (sem, taken) = (sem.clone(), taken.clone());
                thread::spawn(move || {
                    assert!(sem.acquire::<Model>(None));
                    taken.fetch_add(1, Relaxed);
                })
            })
            .collect();
        sem.release::<Model>(1).unwrap();
        sem.release::<Model>(1).unwrap();
        for w in waiters {
            w.join().unwrap();
        }
        assert_eq!(taken.load(Relaxed), 2);
        assert_eq!(sem.value(), 0);
    });
}

#[test]
fn loom_bounded_release_is_checked_atomically() {
    model(|| {
        let sem = Arc::new(SemState::new(0, 1));
        let s2 = sem.clone();
        let t = thread::spawn(move || s2.release::<Model>(1).is_ok());
        let mine = sem.release::<Model>(1).is_ok();
        let theirs = t.join().unwrap();
        assert!(mine ^ theirs, "exactly one release fits under the bound");
        assert_eq!(sem.value(), 1);
    });
}

#[test]
fn loom_event_set_is_seen_by_every_waiter() {
    model(|| {
        let ev = Arc::new(EventState::new());
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let ev = ev.clone();
                thread::spawn(move || assert!(ev.wait::<Model>(None)))
            })
            .collect();
        ev.set::<Model>();
        for w in waiters {
            w.join().unwrap();
        }
        ev.clear();
        assert!(!ev.is_set());
    });
}
