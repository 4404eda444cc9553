//! `Value` and `Array` across real processes: exact counts from concurrent increments (the
//! seed's two workers), Python's `get_lock()` idiom, guarded slice access, error cases.

#![allow(
    clippy::needless_pass_by_value,
    reason = "`#[process]` functions receive their arguments by value, deserialized"
)]

use integration_tests::TIMEOUT;
use integration_tests::sync_support::LIMIT;
use mproc::prelude::*;
use std::time::Duration;

use mproc::{ArrayError, ConditionError, LockError, ShmBool, ShmError, TryLockError};

const N: u64 = 20_000;

#[process]
fn increment(v: Value<u64>, how: u8) {
    for _ in 0..N {
        match how {
            0 => {
                v.fetch_add(1);
            }
            1 => {
                v.update(|x| x + 1);
            }
            _ => {
                // Python's `with v.get_lock(): v.value += 1`.
                let _held = v.get_lock().lock_timeout(TIMEOUT).unwrap();
                v.set(v.get() + 1);
            }
        }
    }
}

#[test]
fn concurrent_increments_from_two_processes_are_exact() {
    for how in 0..3u8 {
        let v = Value::new(0u64).unwrap();
        let kids = [
            increment::spawn(v.clone(), how).unwrap(),
            increment::builder()
                .start_method(StartMethod::Spawn)
                .spawn(v.clone(), how)
                .unwrap(),
        ];
        for k in kids {
            k.join_timeout(LIMIT).unwrap();
        }
        assert_eq!(v.get(), 2 * N, "method {how}");
        assert!(v.is_consistent());
    }
}

#[test]
fn value_operations() {
    let v = Value::new(10i32).unwrap();
    assert_eq!(v.fetch_add(5), 10);
    assert_eq!(v.fetch_sub(20), 15);
    assert_eq!(v.get(), -5);
    assert_eq!(v.update(|x| x * 2), -10);
    v.set(i32::MAX);
    assert_eq!(v.fetch_add(1), i32::MAX);
    assert_eq!(v.get(), i32::MIN, "wraps as a C int does");
    let mut g = v.lock_timeout(TIMEOUT).unwrap();
    g.set(3);
    assert_eq!(g.get(), 3);
    // The lock is recursive: the accessors work while a guard is held.
    assert_eq!(v.get(), 3);
    drop(g);
    let f = Value::new((1.5f64, ShmBool::TRUE, [7u8; 3])).unwrap();
    assert_eq!(f.get(), (1.5, ShmBool::TRUE, [7, 7, 7]));
    assert_eq!(
        format!("{:?}", Value::new(1u8).unwrap()),
        "Value { value: 1, consistent: true }"
    );
}

#[test]
fn values_share_a_lock_when_asked() {
    let lock = RLock::new().unwrap();
    let a = Value::with_lock(1u32, lock.clone()).unwrap();
    let b = Value::with_lock(2u32, lock.clone()).unwrap();
    let _g = a.get_lock().lock_timeout(TIMEOUT).unwrap();
    assert!(b.get_lock().is_owned());
    assert_eq!(a.get() + b.get(), 3);
}

/// A user type in shared memory, through the derive.
#[derive(Clone, Copy, Debug, PartialEq, ShmSafe)]
#[repr(C)]
struct Particle {
    pos: [f32; 3],
    alive: ShmBool,
    hits: u32,
}

#[process]
fn hit(p: Value<Particle>, all: Array<Particle>) {
    p.update(|mut x| {
        x.hits += 1;
        x
    });
    let mut slots = all.lock_timeout(TIMEOUT).unwrap();
    for s in slots.iter_mut() {
        s.alive = ShmBool::TRUE;
    }
}

#[test]
fn derived_shm_safe_types_cross_processes() {
    let start = Particle {
        pos: [1.0, 2.0, 3.0],
        alive: ShmBool::FALSE,
        hits: 0,
    };
    let p = Value::new(start).unwrap();
    let all = Array::from_slice(&[start; 3]).unwrap();
    for method in integration_tests::METHODS {
        hit::builder()
            .start_method(method)
            .spawn(p.clone(), all.clone())
            .unwrap()
            .join_timeout(LIMIT)
            .unwrap();
    }
    assert_eq!(p.get().hits as usize, integration_tests::METHODS.len());
    assert_eq!(
        p.get().pos.map(f32::to_bits),
        [1.0f32, 2.0, 3.0].map(f32::to_bits)
    );
    assert!(
        all.to_vec()
            .unwrap()
            .iter()
            .all(|x| x.alive.to_bool() == Ok(true))
    );
}

#[process]
fn fill_squares(a: Array<u64>) {
    let mut slots = a.lock_timeout(TIMEOUT).unwrap();
    for (i, x) in slots.iter_mut().enumerate() {
        *x = (i as u64) * (i as u64);
    }
}

#[test]
fn a_child_fills_an_array_through_its_guard() {
    for method in integration_tests::METHODS {
        let a = Array::<u64>::new(6).unwrap();
        assert_eq!(a.to_vec().unwrap(), [0; 6], "zero-filled");
        fill_squares::builder()
            .start_method(method)
            .spawn(a.clone())
            .unwrap()
            .join_timeout(LIMIT)
            .unwrap();
        assert_eq!(a.to_vec().unwrap(), [0, 1, 4, 9, 16, 25], "{method:?}");
    }
}

#[test]
fn array_operations_and_errors() {
    let a = Array::from_slice(&[1i16, 2, 3]).unwrap();
    assert_eq!(a.len(), 3);
    assert!(!a.is_empty());
    assert_eq!(a.get(2), Ok(3));
    assert_eq!(
        a.get(3),
        Err(ArrayError::IndexOutOfRange { index: 3, len: 3 })
    );
    assert_eq!(
        a.set(5, 0),
        Err(ArrayError::IndexOutOfRange { index: 5, len: 3 })
    );
    a.set(0, -1).unwrap();
    assert_eq!(
        a.copy_from_slice(&[1, 2]),
        Err(ArrayError::LengthMismatch {
            expected: 3,
            got: 2
        })
    );
    a.copy_from_slice(&[4, 5, 6]).unwrap();
    let g = a.lock_timeout(TIMEOUT).unwrap();
    assert_eq!(&*g, &[4, 5, 6]);
    // A second guard in the same thread would alias the slice: refused, never a panic.
    assert!(matches!(a.try_lock(), Err(TryLockError::WouldBlock)));
    assert!(matches!(a.lock(), Err(TryLockError::WouldBlock)));
    drop(g);
    assert!(Array::<u8>::new(0).unwrap().is_empty());
}

#[test]
fn a_guard_lends_the_elements_to_no_one_else_in_its_thread() {
    let lock = RLock::new().unwrap();
    let a = Array::with_lock(&[1u32, 2, 3], lock.clone()).unwrap();
    let cond = Condition::with_lock(lock.clone()).unwrap();
    let mut g = a.lock_timeout(TIMEOUT).unwrap();
    // The per-call accessors would write under the guard's `&mut [u32]`: refused.
    assert_eq!(a.get(0), Err(ArrayError::Borrowed));
    assert_eq!(a.set(0, 9), Err(ArrayError::Borrowed));
    assert_eq!(a.to_vec(), Err(ArrayError::Borrowed));
    assert_eq!(a.copy_from_slice(&[7, 8, 9]), Err(ArrayError::Borrowed));
    // The guard's level of the lock is released by dropping the guard, not otherwise.
    assert_eq!(lock.release(), Err(LockError::HeldByGuard));
    assert_eq!(
        cond.wait_timeout(Duration::ZERO),
        Err(ConditionError::Lock(LockError::HeldByGuard))
    );
    // Levels taken on top of the guard's come and go as usual.
    lock.acquire_timeout(TIMEOUT).unwrap();
    lock.release().unwrap();
    g[0] = 10;
    assert_eq!(&*g, &[10, 2, 3]);
    drop(g);
    // Once the guard is gone, everything works again, recursively under `get_lock()` too.
    assert!(!lock.is_locked());
    lock.acquire_timeout(TIMEOUT).unwrap();
    a.set(1, 20).unwrap();
    assert!(matches!(a.lock(), Err(TryLockError::WouldBlock)));
    lock.release().unwrap();
    assert_eq!(a.to_vec().unwrap(), [10, 20, 3]);
}

#[test]
fn a_guard_of_a_killed_holder_leaves_no_pin_behind() {
    let a = Array::<u8>::new(2).unwrap();
    let (rx, tx) = Pipe::<()>::simplex().unwrap();
    let child = Process::new(
        |(a, tx): (Array<u8>, mproc::pipe::Sender<()>)| -> () {
            let mut g = a.lock_timeout(TIMEOUT).unwrap();
            g[0] = 1;
            tx.send(&()).unwrap();
            // Held until killed.
            loop {
                std::thread::park();
            }
        },
        (a.clone(), tx),
    )
    .start()
    .unwrap();
    rx.recv_timeout(LIMIT).unwrap();
    child.kill().unwrap();
    assert!(child.join_timeout(LIMIT).is_err());
    // The next holder takes the lock over through `get_lock()`; the dead guard's pin is gone
    // with it: the accessors run under that level, and a plain release ends it.
    let lock = a.get_lock();
    assert!(matches!(
        lock.acquire_timeout(TIMEOUT),
        Ok(Acquired::OwnerDied { .. })
    ));
    a.set(1, 2).unwrap();
    assert_eq!(a.to_vec().unwrap(), [1, 2]);
    lock.release().unwrap();
    assert!(!lock.is_locked());
    assert!(!a.is_consistent());
    a.mark_consistent();
    assert!(a.lock_timeout(TIMEOUT).is_ok());
}

#[test]
fn a_panic_while_holding_a_guard_marks_the_array_inconsistent() {
    let a = Array::<u8>::new(2).unwrap();
    let child = Process::new(
        |a: Array<u8>| -> () {
            let mut g = a.lock_timeout(TIMEOUT).unwrap();
            g[0] = 1;
            panic!("half-way");
        },
        a.clone(),
    )
    .start()
    .unwrap();
    assert!(child.join_timeout(LIMIT).is_err());
    assert!(!a.is_consistent());
    let Err(TryLockError::OwnerDied(err)) = a.lock_timeout(TIMEOUT) else {
        panic!("expected the array to be inconsistent");
    };
    assert_eq!(err.pid(), 0, "not a death: a panic");
    assert_eq!(&**err.get_ref(), &[1, 0]);
    err.into_inner().mark_consistent();
    assert!(a.lock_timeout(TIMEOUT).is_ok());
}

/// Holds the value's lock through a guard, half-way through an update, until killed.
#[process]
fn hold_value_until_killed(v: Value<[u64; 2]>, held: Event) {
    let mut g = v.lock_timeout(TIMEOUT).unwrap();
    g.set([1, 0]);
    held.set();
    let _ = Event::new().unwrap().wait_timeout(LIMIT);
}

/// Holds the array's lock through a guard until killed.
#[process]
fn hold_array_until_killed(a: Array<u8>, held: Event) {
    let mut g = a.lock_timeout(TIMEOUT).unwrap();
    g[0] = 1;
    held.set();
    let _ = Event::new().unwrap().wait_timeout(LIMIT);
}

fn kill(child: &Child<impl serde::de::DeserializeOwned>) {
    child.kill().unwrap();
    let status = child.handle().wait_timeout(LIMIT).unwrap();
    assert_eq!(status.signal(), Some(9));
}

#[test]
fn a_killed_holder_makes_the_data_inconsistent_before_anyone_takes_the_lock() {
    let (v, held) = (Value::new([0u64; 2]).unwrap(), Event::new().unwrap());
    let holder = hold_value_until_killed::spawn(v.clone(), held.clone()).unwrap();
    assert!(held.wait_timeout(LIMIT).is_ok());
    assert!(v.is_consistent(), "its holder is alive");
    kill(&holder);
    // Nobody has taken the lock over yet: the mark comes from the dead holder itself.
    assert!(v.get_lock().is_locked());
    assert!(!v.is_consistent());
    // Marking it before the takeover changes nothing: the dead holder still has the lock.
    v.mark_consistent();
    assert!(!v.is_consistent());
    // The takeover keeps the mark until the program repairs the value.
    let Err(TryLockError::OwnerDied(err)) = v.lock_timeout(TIMEOUT) else {
        panic!("expected the value to report its holder's death");
    };
    assert_eq!(err.pid(), holder.pid());
    assert!(!v.is_consistent());
    let mut g = err.into_inner();
    g.set([1, 1]);
    g.mark_consistent();
    drop(g);
    assert!(v.is_consistent());

    let (a, held) = (Array::<u8>::new(2).unwrap(), Event::new().unwrap());
    let holder = hold_array_until_killed::spawn(a.clone(), held.clone()).unwrap();
    assert!(held.wait_timeout(LIMIT).is_ok());
    assert!(a.is_consistent());
    kill(&holder);
    assert!(a.get_lock().is_locked());
    assert!(!a.is_consistent());
}

#[test]
fn an_array_too_large_for_the_address_space_reports_what_was_asked() {
    let err = Array::<u64>::new(usize::MAX / 4).unwrap_err();
    let shown = err.to_string();
    let elements = usize::MAX / 4;
    let bytes = u128::try_from(elements).unwrap() * 8;
    assert!(
        shown.contains(&elements.to_string()) && shown.contains(&bytes.to_string()),
        "{shown}"
    );
    assert!(!shown.contains(&usize::MAX.to_string()), "{shown}");
    assert!(matches!(
        err,
        ShmError::ArrayTooLarge {
            len,
            elem_size: 8
        } if len == elements
    ));
    // Within the address space but beyond what a segment may hold: the byte count asked.
    let err = Array::<u64>::new(usize::MAX / 16).unwrap_err();
    let asked = (usize::MAX / 16) * 8;
    assert!(err.to_string().contains(&asked.to_string()), "{err}");
}
