//! `Condition` and `Barrier` across real processes: `CPython`'s `_TestCondition` (`notify`,
//! `notify(n)`, `notify_all`, `wait` timeout, `wait_for`) and `_TestBarrier` (indices, action,
//! abort, reset, timeout) behaviours.

#![allow(
    clippy::needless_pass_by_value,
    reason = "`#[process]` functions receive their arguments by value, deserialized"
)]

use integration_tests::TIMEOUT;
use std::sync::OnceLock;
use std::time::Duration;

use integration_tests::sync_support::{LIMIT, eventually, in_futex_wait, wait_parked};
use mproc::prelude::*;
use mproc::{BarrierCreateError, BarrierError, ConditionError};

const SHORT: Duration = Duration::from_millis(30);

#[process]
fn cond_wait(cond: Condition, woke: Value<u32>) -> Result<bool, ConditionError> {
    let _held = cond.lock_timeout(TIMEOUT).unwrap();
    let notified = match cond.wait_timeout(LIMIT) {
        Ok(()) => true,
        Err(ConditionError::Timeout) => false,
        Err(e) => return Err(e),
    };
    assert!(
        cond.get_lock().is_owned(),
        "the lock is held again after wait"
    );
    woke.fetch_add(1);
    Ok(notified)
}

fn start_waiters(
    cond: &Condition,
    woke: &Value<u32>,
    n: u32,
) -> Vec<Child<Result<bool, ConditionError>>> {
    let kids: Vec<_> = (0..n)
        .map(|i| {
            let method = if i % 2 == 0 {
                StartMethod::Fork
            } else {
                StartMethod::Spawn
            };
            cond_wait::builder()
                .start_method(method)
                .spawn(cond.clone(), woke.clone())
                .unwrap()
        })
        .collect();
    // Registered (under the lock) and then parked on the condition's futex.
    assert!(eventually(|| cond.waiters() == n));
    for k in &kids {
        wait_parked(k.pid());
    }
    kids
}

#[test]
fn notify_n_wakes_exactly_n_then_notify_all_the_rest() {
    let (cond, woke) = (Condition::new().unwrap(), Value::new(0u32).unwrap());
    let kids = start_waiters(&cond, &woke, 4);
    {
        let _g = cond.lock_timeout(TIMEOUT).unwrap();
        cond.notify().unwrap();
    }
    assert!(eventually(|| woke.get() == 1));
    assert!(eventually(
        || kids.iter().filter(|k| k.is_alive()).count() == 3
    ));
    for k in kids.iter().filter(|k| k.is_alive()) {
        assert!(in_futex_wait(k.pid()), "notify() woke more than one");
    }
    assert_eq!(woke.get(), 1);
    {
        let _g = cond.lock_timeout(TIMEOUT).unwrap();
        cond.notify_n(2).unwrap();
    }
    assert!(eventually(|| woke.get() == 3));
    assert!(eventually(
        || kids.iter().filter(|k| k.is_alive()).count() == 1
    ));
    let last = kids.iter().find(|k| k.is_alive()).unwrap();
    assert!(in_futex_wait(last.pid()), "the fourth is still waiting");
    assert_eq!(woke.get(), 3);
    {
        let _g = cond.lock_timeout(TIMEOUT).unwrap();
        cond.notify_all().unwrap();
    }
    for k in &kids {
        assert_eq!(k.join_timeout(LIMIT).unwrap(), Ok(true));
    }
    assert_eq!(woke.get(), 4);
    assert_eq!(cond.waiters(), 0);
}

#[test]
fn wait_timeout_returns_false_and_holds_the_lock_again() {
    let cond = Condition::new().unwrap();
    let _outer = cond.lock_timeout(TIMEOUT).unwrap();
    let inner = cond.lock_timeout(TIMEOUT).unwrap(); // wait releases every level, then restores them
    assert_eq!(cond.wait_timeout(SHORT), Err(ConditionError::Timeout));
    assert!(cond.get_lock().is_owned());
    drop(inner);
    assert!(cond.get_lock().is_owned(), "one level left");
}

#[test]
fn wait_and_notify_need_the_lock() {
    let cond = Condition::new().unwrap();
    assert_eq!(cond.wait_timeout(TIMEOUT), Err(ConditionError::NotOwner));
    assert_eq!(cond.notify_all(), Err(ConditionError::NotOwner));
    assert_eq!(cond.notify_n(3), Err(ConditionError::NotOwner));
}

#[process]
fn set_when_told(cond: Condition, state: Value<u32>, steps: u32) {
    for i in 1..=steps {
        let _g = cond.lock_timeout(TIMEOUT).unwrap();
        state.set(i);
        cond.notify_all().unwrap();
    }
}

#[test]
fn wait_for_returns_when_the_predicate_holds() {
    let (cond, state) = (Condition::new().unwrap(), Value::new(0u32).unwrap());
    let g = cond.lock_timeout(TIMEOUT).unwrap();
    let child = set_when_told::spawn(cond.clone(), state.clone(), 5).unwrap();
    assert_eq!(cond.wait_for_timeout(|| state.get() == 5, LIMIT), Ok(()));
    drop(g);
    child.join_timeout(LIMIT).unwrap();
    let held = cond.lock_timeout(TIMEOUT).unwrap();
    // CPython: wait_for with a predicate that stays false returns it after the timeout.
    assert_eq!(
        cond.wait_for_timeout(|| state.get() == 6, SHORT),
        Err(ConditionError::Timeout)
    );
    drop(held);
    // The untimed form, in a thread joined within the bound.
    integration_tests::threads::bounded(move || {
        let _g = cond.lock_timeout(TIMEOUT).unwrap();
        cond.wait_for(|| state.get() == 5)
    })
    .unwrap();
}

#[process]
fn barrier_rounds(b: Barrier, rounds: u32) -> Result<Vec<u32>, BarrierError> {
    (0..rounds).map(|_| b.wait_timeout(LIMIT)).collect()
}

#[test]
fn each_round_hands_out_distinct_indices() {
    const PARTIES: u32 = 4;
    const ROUNDS: u32 = 5;
    let b = Barrier::new(PARTIES).unwrap();
    assert_eq!(b.parties(), PARTIES);
    let kids: Vec<_> = (0..PARTIES - 1)
        .map(|i| {
            let method = if i == 0 {
                StartMethod::Spawn
            } else {
                StartMethod::Fork
            };
            barrier_rounds::builder()
                .start_method(method)
                .spawn(b.clone(), ROUNDS)
                .unwrap()
        })
        .collect();
    let mine: Vec<u32> = (0..ROUNDS)
        .map(|_| b.wait_timeout(LIMIT).unwrap())
        .collect();
    let theirs: Vec<Vec<u32>> = kids
        .iter()
        .map(|k| k.join_timeout(LIMIT).unwrap().unwrap())
        .collect();
    for round in 0..ROUNDS as usize {
        let mut idx: Vec<u32> = theirs.iter().map(|t| t[round]).collect();
        idx.push(mine[round]);
        idx.sort_unstable();
        assert_eq!(idx, [0, 1, 2, 3], "round {round}");
    }
    assert_eq!(b.n_waiting(), 0);
    assert!(!b.is_broken());
}

static ACTION_RUNS: OnceLock<Value<u32>> = OnceLock::new();

fn count_action() {
    ACTION_RUNS.get().expect("set before waiting").fetch_add(1);
}

#[process]
fn party_with_action(b: Barrier, runs: Value<u32>, rounds: u32) -> Result<Vec<u32>, BarrierError> {
    // Under Spawn the static starts empty: the action reaches shared state through it.
    let _ = ACTION_RUNS.set(runs);
    (0..rounds).map(|_| b.wait_timeout(LIMIT)).collect()
}

#[test]
fn the_action_runs_once_per_round_in_any_process() {
    let runs = Value::new(0u32).unwrap();
    let _ = ACTION_RUNS.set(runs.clone());
    // One child per start method, and this process.
    let parties = u32::try_from(integration_tests::METHODS.len()).unwrap() + 1;
    let b = Barrier::with_action(parties, count_action).unwrap();
    let kids: Vec<_> = integration_tests::METHODS
        .into_iter()
        .map(|m| {
            party_with_action::builder()
                .start_method(m)
                .spawn(b.clone(), runs.clone(), 4)
                .unwrap()
        })
        .collect();
    for _ in 0..4 {
        b.wait_timeout(LIMIT).unwrap();
    }
    for k in kids {
        assert_eq!(k.join_timeout(LIMIT).unwrap().unwrap().len(), 4);
    }
    assert_eq!(ACTION_RUNS.get().unwrap().get(), 4);
}

fn panicking_action() {
    panic!("action failed");
}

#[test]
fn a_panicking_action_breaks_the_barrier() {
    let b = Barrier::with_action(2, panicking_action).unwrap();
    let child = barrier_rounds::spawn(b.clone(), 1).unwrap();
    wait_parked(child.pid());
    assert_eq!(
        b.wait_timeout(LIMIT),
        Err(BarrierError::ActionPanicked {
            message: "action failed".into()
        })
    );
    assert_eq!(
        child.join_timeout(LIMIT).unwrap(),
        Err(BarrierError::Broken)
    );
    assert!(b.is_broken());
}

#[test]
fn abort_breaks_it_for_waiters_and_newcomers_until_reset() {
    let b = Barrier::new(3).unwrap();
    let child = barrier_rounds::spawn(b.clone(), 1).unwrap();
    assert!(eventually(|| b.n_waiting() == 1));
    b.abort();
    assert_eq!(
        child.join_timeout(LIMIT).unwrap(),
        Err(BarrierError::Broken)
    );
    assert_eq!(b.wait_timeout(LIMIT), Err(BarrierError::Broken));
    b.reset();
    assert!(!b.is_broken());
    let kids: Vec<_> = (0..2)
        .map(|_| barrier_rounds::spawn(b.clone(), 1).unwrap())
        .collect();
    b.wait_timeout(LIMIT).unwrap();
    for k in kids {
        assert!(k.join_timeout(LIMIT).unwrap().is_ok());
    }
}

#[test]
fn reset_releases_current_waiters_broken_and_reopens() {
    let b = Barrier::new(3).unwrap();
    let kids: Vec<_> = (0..2)
        .map(|_| barrier_rounds::spawn(b.clone(), 1).unwrap())
        .collect();
    assert!(eventually(|| b.n_waiting() == 2));
    b.reset();
    for k in kids {
        assert_eq!(k.join_timeout(LIMIT).unwrap(), Err(BarrierError::Broken));
    }
    assert!(!b.is_broken(), "reset leaves it usable");
    let kids: Vec<_> = (0..2)
        .map(|_| barrier_rounds::spawn(b.clone(), 2).unwrap())
        .collect();
    for _ in 0..2 {
        b.wait_timeout(LIMIT).unwrap();
    }
    for k in kids {
        assert_eq!(k.join_timeout(LIMIT).unwrap().unwrap().len(), 2);
    }
}

#[test]
fn a_timeout_breaks_it_for_every_party() {
    let b = Barrier::new(3).unwrap();
    let child = barrier_rounds::spawn(b.clone(), 1).unwrap();
    assert!(eventually(|| b.n_waiting() == 1));
    assert_eq!(b.wait_timeout(SHORT), Err(BarrierError::Timeout));
    assert_eq!(
        child.join_timeout(LIMIT).unwrap(),
        Err(BarrierError::Broken)
    );
    assert!(b.is_broken());
}

#[test]
fn zero_parties_is_an_error() {
    assert!(matches!(
        Barrier::new(0),
        Err(BarrierCreateError::InvalidParties { parties: 0, .. })
    ));
}
