//! Issue #19, how long a custom (`#[managed]`) object lives: as Python's `BaseManager`, until
//! its last proxy in every process is gone. Dropped proxies, a proxy held by a child after its
//! parent let go, and a client killed while holding one. The object's `Drop` runs in the
//! manager and sets an event there, so every test waits on that event (bounded), never sleeps.

#![allow(
    clippy::needless_pass_by_value,
    reason = "process targets take their arguments by value: they arrive deserialized"
)]

use integration_tests::forged::custom_proxy;
use integration_tests::gate::{Gate, Opener, Passed, gate};
use integration_tests::{METHODS, TIMEOUT};
use mproc::manager::{EventProxy, Manager, ManagerError, ObjectError, RemoteError, method_id};
use mproc::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A counter that reports its own end: its `Drop`, run by the manager, sets `dropped`.
struct Tracked {
    n: u64,
    dropped: EventProxy,
}

#[mproc::managed]
impl Tracked {
    pub(crate) fn new(dropped: EventProxy) -> Self {
        Self { n: 0, dropped }
    }

    pub(crate) fn bump(&mut self) -> u64 {
        self.n += 1;
        self.n
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        // The test sees this call; if it cannot be made, the test's bounded wait fails.
        let _ = self.dropped.set();
    }
}

/// What every test starts from, under `method`: a manager, the event a `Tracked` sets when the
/// manager drops it, how many objects the manager held before the `Tracked`, and the
/// `Tracked`, referenced by this process only.
fn tracked_under(method: StartMethod) -> (Manager, EventProxy, u64, TrackedProxy) {
    let manager = Manager::builder()
        .register::<Tracked>()
        .start_method(method)
        .start()
        .unwrap();
    let dropped = manager.event().unwrap();
    let start = manager.number_of_objects().unwrap();
    let tracked = manager.create::<Tracked>(dropped.clone()).unwrap();
    assert_eq!(
        manager.number_of_objects().unwrap(),
        start + 1,
        "{method:?}: a custom object is counted"
    );
    (manager, dropped, start, tracked)
}

/// Waits (bounded) for the object's `Drop` to run in the manager, then checks that the
/// manager no longer counts it.
fn assert_freed(manager: &Manager, dropped: &EventProxy, start: u64, method: StartMethod) {
    dropped.wait_timeout(TIMEOUT).unwrap_or_else(|e| {
        panic!("{method:?}: the object's Drop did not run in the manager: {e}")
    });
    assert_eq!(manager.number_of_objects().unwrap(), start, "{method:?}");
}

/// Gives a clone of `tracked` to a child running `target`, waits until the child holds it,
/// and drops `tracked`: from then on only the child refers to the object. Returns the child
/// and the opener of the gate it waits on.
fn hand_over<R>(
    method: StartMethod,
    target: fn((TrackedProxy, Opener, Gate)) -> R,
    tracked: TrackedProxy,
) -> (Child<R>, Opener)
where
    R: Serialize + DeserializeOwned + 'static,
{
    let (holding, is_holding) = gate();
    let (release, released) = gate();
    let child = Process::new(target, (tracked.clone(), holding, released))
        .start_method(method)
        .start()
        .unwrap();
    assert_eq!(is_holding.wait(TIMEOUT), Passed::Opened, "{method:?}");
    drop(tracked);
    (child, release)
}

#[test]
fn a_custom_object_is_freed_in_the_manager_with_its_last_proxy_under_every_method() {
    for method in METHODS {
        let (manager, dropped, start, tracked) = tracked_under(method);
        let id = tracked.as_ref().id();
        let copy = tracked.clone();
        assert_eq!(tracked.bump().unwrap(), 1);
        drop(tracked);
        // A clone in this process shares the reference: the object is still there.
        assert_eq!(copy.bump().unwrap(), 2, "{method:?}");
        assert!(!dropped.is_set().unwrap(), "{method:?}");
        drop(copy);
        assert_freed(&manager, &dropped, start, method);
        // Its id now names nothing: a call through a proxy forged with it is a typed refusal.
        let forged = custom_proxy(&manager.address().to_string(), id, "Tracked");
        let ghost: TrackedProxy = postcard::from_bytes(&forged).unwrap();
        let refused = ghost.as_ref().call_raw(
            method_id("Tracked", "bump"),
            postcard::to_stdvec(&()).unwrap(),
        );
        assert!(
            matches!(
                refused,
                Err(ManagerError::Remote(RemoteError::Object(
                    ObjectError::UnknownObject { id: gone }
                ))) if gone == id
            ),
            "{method:?}: {refused:?}"
        );
        manager.shutdown().unwrap();
    }
}

/// Holds a proxy: says so, waits to be released, then calls it once more.
fn hold_then_bump((tracked, holding, release): (TrackedProxy, Opener, Gate)) -> Option<u64> {
    holding.open();
    (release.wait(TIMEOUT) == Passed::Opened)
        .then(|| tracked.bump().ok())
        .flatten()
}

#[test]
fn a_custom_proxy_in_a_child_keeps_its_object_until_the_child_ends_under_every_method() {
    for method in METHODS {
        let (manager, dropped, start, tracked) = tracked_under(method);
        assert_eq!(tracked.bump().unwrap(), 1);
        let (child, release) = hand_over(method, hold_then_bump, tracked);
        // Every proxy of this process is gone; the child's keeps the object, state and all.
        assert_eq!(
            manager.number_of_objects().unwrap(),
            start + 1,
            "{method:?}: freed while a child held a proxy"
        );
        assert!(!dropped.is_set().unwrap(), "{method:?}");
        release.open();
        assert_eq!(child.join_timeout(TIMEOUT).unwrap(), Some(2), "{method:?}");
        // The child's reference went with it.
        assert_freed(&manager, &dropped, start, method);
        manager.shutdown().unwrap();
    }
}

/// Holds a proxy (claimed on arrival) and calls it, says so, then waits to be killed.
fn hold_until_killed((tracked, holding, never): (TrackedProxy, Opener, Gate)) -> bool {
    let alive = tracked.bump().is_ok();
    holding.open();
    let _ = never.wait(TIMEOUT);
    alive
}

#[test]
fn a_client_killed_holding_a_custom_proxy_drops_its_reference_under_every_method() {
    for method in METHODS {
        let (manager, dropped, start, tracked) = tracked_under(method);
        let (child, _never) = hand_over(method, hold_until_killed, tracked);
        assert!(!dropped.is_set().unwrap(), "{method:?}: freed while held");
        assert_eq!(manager.number_of_objects().unwrap(), start + 1);
        // SIGKILL: the child gives nothing back itself; its connections close.
        child.kill().unwrap();
        assert!(child.join_timeout(TIMEOUT).is_err(), "{method:?}");
        assert_freed(&manager, &dropped, start, method);
        manager.shutdown().unwrap();
    }
}
