//! In-process checks of the handles: what a received descriptor is checked for, and the
//! single-process behaviour the integration tests build on.

use std::time::Duration;

use crate::codec::{decode, encode};
use crate::{
    Array, Barrier, BarrierCreateError, BoundedSemaphore, Condition, ConditionError, Event, Lock,
    LockError, RLock, Semaphore, Value,
};

fn round_trip<T: serde::Serialize, U: serde::de::DeserializeOwned>(
    value: &T,
) -> Result<U, crate::CodecError> {
    let enc = encode(value)?;
    decode(&enc.bytes, enc.fds)
}

#[test]
fn handles_round_trip_to_the_same_object() {
    let lock = Lock::new().unwrap();
    let back: Lock = round_trip(&lock).unwrap();
    back.acquire().unwrap();
    assert!(lock.is_locked());
    let v = Value::new(5u32).unwrap();
    let back: Value<u32> = round_trip(&v).unwrap();
    back.set(9);
    assert_eq!(v.get(), 9);
    let a = Array::from_slice(&[1u8, 2, 3]).unwrap();
    let back: Array<u8> = round_trip(&a).unwrap();
    assert_eq!(back.to_vec().unwrap(), [1, 2, 3]);
    let c = Condition::new().unwrap();
    let back: Condition = round_trip(&c).unwrap();
    assert_eq!(back.get_lock().is_locked(), c.get_lock().is_locked());
    let b = Barrier::new(3).unwrap();
    let back: Barrier = round_trip(&b).unwrap();
    assert_eq!(back.parties(), 3);
}

/// The typed `ShmError`s themselves are checked in `shm::segment`; through the codec they
/// arrive as `CodecError::Deserialize` (postcard keeps no custom message).
#[test]
fn a_received_handle_of_another_kind_or_type_is_refused() {
    let refused = |e: crate::CodecError| matches!(e, crate::CodecError::Deserialize { .. });
    let sem = Semaphore::new(1).unwrap();
    assert!(refused(
        round_trip::<_, BoundedSemaphore>(&sem).unwrap_err()
    ));
    assert!(refused(round_trip::<_, Lock>(&sem).unwrap_err()));
    let v = Value::new(1u64).unwrap();
    assert!(refused(round_trip::<_, Value<i64>>(&v).unwrap_err()));
    assert!(refused(round_trip::<_, Array<u64>>(&v).unwrap_err()));
    let null = std::os::fd::OwnedFd::from(std::fs::File::open("/dev/null").unwrap());
    assert!(refused(
        round_trip::<_, Event>(&crate::codec::Fd::from(null)).unwrap_err()
    ));
    // The right type still arrives.
    assert!(round_trip::<_, Semaphore>(&sem).is_ok());
}

#[test]
fn a_barrier_takes_every_party_count_from_one_to_the_documented_maximum() {
    for parties in [1, 2, 1 << 16] {
        let b = Barrier::new(parties).unwrap();
        assert_eq!(b.parties(), parties);
        // A receiver checks the count again: the maximum must travel too.
        let back: Barrier = round_trip(&b).unwrap();
        assert_eq!(back.parties(), parties);
    }
    assert!(matches!(
        Barrier::new((1 << 16) + 1),
        Err(BarrierCreateError::InvalidParties {
            parties: 65_537,
            max: 65_536
        })
    ));
}

#[test]
fn errors_are_typed_and_lower_case() {
    let b = Barrier::new(0).unwrap_err();
    assert_eq!(
        b.to_string(),
        "a barrier needs between 1 and 65536 parties, not 0"
    );
    assert!(matches!(
        b,
        BarrierCreateError::InvalidParties { parties: 0, .. }
    ));
    let c = Condition::new().unwrap();
    assert_eq!(c.notify(), Err(ConditionError::NotOwner));
    assert_eq!(
        c.wait_timeout(Duration::ZERO),
        Err(ConditionError::NotOwner)
    );
    assert_eq!(
        LockError::OwnerDied { pid: 7 }.to_string(),
        "the process holding the lock (pid 7) died; the lock was taken over"
    );
    assert_eq!(
        BoundedSemaphore::new(0)
            .unwrap()
            .release()
            .unwrap_err()
            .to_string(),
        "semaphore released too many times"
    );
}

#[test]
fn the_try_and_timeout_forms_say_would_block_and_timeout() {
    let e = Event::new().unwrap();
    assert_eq!(e.try_wait(), Err(crate::EventError::WouldBlock));
    assert_eq!(
        e.wait_timeout(Duration::ZERO),
        Err(crate::EventError::Timeout)
    );
    e.set();
    assert_eq!(
        (e.wait_timeout(Duration::from_secs(30)), e.try_wait()),
        (Ok(()), Ok(()))
    );
    // `?` in a `main` returning `mproc::Result` keeps the outcome.
    let as_error = crate::Error::from(crate::EventError::Timeout);
    assert!(matches!(
        as_error,
        crate::Error::Event(crate::EventError::Timeout)
    ));
    let c = Condition::new().unwrap();
    let _held = c.lock().unwrap();
    assert_eq!(c.wait_timeout(Duration::ZERO), Err(ConditionError::Timeout));
    assert_eq!(
        c.wait_for_timeout(|| false, Duration::ZERO),
        Err(ConditionError::Timeout)
    );
    assert!(c.get_lock().is_owned(), "held again after the timeout");
    let lock = Lock::new().unwrap();
    assert_eq!(
        lock.acquire_timeout(Duration::from_secs(30)),
        Ok(crate::Acquired::Clean)
    );
    assert_eq!(lock.try_acquire(), Err(LockError::WouldBlock));
    assert_eq!(
        lock.acquire_timeout(Duration::ZERO),
        Err(LockError::Timeout)
    );
    assert_eq!(crate::Acquired::OwnerDied { pid: 3 }.owner_died(), Some(3));
    lock.release().unwrap();
}

#[test]
fn threads_contend_on_a_lock_without_losing_updates() {
    let lock = Lock::new().unwrap();
    let v = Value::new(0u64).unwrap();
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (lock, v) = (lock.clone(), v.clone());
            std::thread::spawn(move || {
                for _ in 0..2000 {
                    let _g = lock.lock().unwrap();
                    // A deliberately non-atomic read-modify-write, protected by `lock`.
                    let x = v.get();
                    v.set(x + 1);
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    assert_eq!(v.get(), 8000);
}

#[test]
fn rlock_is_per_thread() {
    let r = RLock::new().unwrap();
    let _g = r.lock().unwrap();
    let r2 = r.clone();
    let t = std::thread::spawn(move || r2.try_acquire());
    assert_eq!(t.join().unwrap(), Err(LockError::WouldBlock));
}

/// The OS parking, counting the wakes a lock word's release issues (one counter per test,
/// selected by a thread-local so tests running in parallel do not see each other's wakes).
struct CountingWakes;

thread_local! {
    static WAKES: std::cell::RefCell<Vec<u32>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl super::park::Park for CountingWakes {
    fn wait(
        word: &super::atomic::AtomicU32,
        expected: u32,
        deadline: Option<std::time::Instant>,
    ) -> super::park::Waited {
        super::park::Os::wait(word, expected, deadline)
    }
    fn wake(word: &super::atomic::AtomicU32, n: u32) {
        super::park::Os::wake(word, n);
    }
    fn wait_low(
        word: &super::atomic::AtomicU64,
        expected: u32,
        deadline: Option<std::time::Instant>,
    ) -> super::park::Waited {
        super::park::Os::wait_low(word, expected, deadline)
    }
    fn wake_low(word: &super::atomic::AtomicU64, n: u32) {
        WAKES.with(|w| w.borrow_mut().push(n));
        super::park::Os::wake_low(word, n);
    }
    fn alive(id: u64) -> bool {
        super::park::Os::alive(id)
    }
    fn spin() {
        super::park::Os::spin();
    }
}

/// A release wakes exactly one parked waiter when `WAITERS` is set, and issues no wake
/// otherwise. Without the wake the lock still works (waiters poll for a dead owner every
/// 1-64 ms), so only counting the wakes catches its loss.
#[test]
fn a_release_wakes_one_waiter_exactly_when_one_may_be_parked() {
    use super::atomic::AtomicU64;
    use super::raw_lock::{self, WAITERS};
    let wakes = || WAKES.with(|w| w.borrow_mut().split_off(0));
    let word = AtomicU64::new(5 | WAITERS);
    assert_eq!(raw_lock::unlock::<CountingWakes>(&word), Ok(5));
    assert_eq!(wakes(), [1]);
    let word = AtomicU64::new(5);
    assert_eq!(raw_lock::unlock::<CountingWakes>(&word), Ok(5));
    assert_eq!(wakes(), [0u32; 0]);
    let word = AtomicU64::new(5 | WAITERS);
    assert!(raw_lock::unlock_if_owner::<CountingWakes>(&word, 5));
    assert_eq!(wakes(), [1]);
    let word = AtomicU64::new(5);
    assert!(raw_lock::unlock_if_owner::<CountingWakes>(&word, 5));
    assert_eq!(wakes(), [0u32; 0]);
    // Not the owner: nothing released, nothing woken.
    let word = AtomicU64::new(5 | WAITERS);
    assert!(!raw_lock::unlock_if_owner::<CountingWakes>(&word, 6));
    assert_eq!(wakes(), [0u32; 0]);
    assert_eq!(word.load(std::sync::atomic::Ordering::Relaxed), 5 | WAITERS);
}
