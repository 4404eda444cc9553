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

/// How one incrementer adds: the lock-free ops, or Python's locked idioms.
#[derive(Clone, Copy, Debug, serde::Serialize, serde::Deserialize)]
enum Adder {
    FetchAdd,
    CompareExchange,
    Guard,
    GetLock,
}

#[process]
fn add_with(v: Value<u64>, how: Adder, start: Barrier) {
    start.wait_timeout(LIMIT).unwrap();
    for _ in 0..N {
        match how {
            Adder::FetchAdd => {
                v.fetch_add(1);
            }
            Adder::CompareExchange => {
                let mut seen = v.load();
                while let Err(now) = v.compare_exchange(seen, seen + 1) {
                    seen = now;
                }
            }
            Adder::Guard => {
                let mut g = v.lock_timeout(TIMEOUT).unwrap();
                let x = g.get();
                g.set(x + 1);
            }
            Adder::GetLock => {
                // Python's `with v.get_lock(): v.value += 1`, with a lock-free read inside.
                let _held = v.get_lock().lock_timeout(TIMEOUT).unwrap();
                let x = v.load();
                v.store(x + 1);
            }
        }
    }
}

#[test]
fn lock_free_operations_and_locked_sections_never_lose_an_update() {
    let hows = [
        Adder::FetchAdd,
        Adder::CompareExchange,
        Adder::Guard,
        Adder::GetLock,
    ];
    for method in [StartMethod::Fork, StartMethod::Spawn] {
        let v = Value::new(0u64).unwrap();
        let start = Barrier::new(4).unwrap();
        let kids: Vec<_> = hows
            .iter()
            .map(|&how| {
                add_with::builder()
                    .start_method(method)
                    .spawn(v.clone(), how, start.clone())
                    .unwrap()
            })
            .collect();
        for k in kids {
            k.join_timeout(LIMIT).unwrap();
        }
        assert_eq!(v.load(), 4 * N, "{method:?}");
        assert!(v.is_consistent());
    }
}

#[test]
fn value_atomics() {
    let v = Value::new(5u16).unwrap();
    assert_eq!(v.swap(7), 5);
    assert_eq!(v.compare_exchange(6, 9), Err(7));
    assert_eq!(v.compare_exchange(7, 9), Ok(7));
    v.store(u16::MAX);
    assert_eq!(v.fetch_add(2), u16::MAX);
    assert_eq!(v.load(), 1, "wraps");
    assert_eq!(v.fetch_sub(2), 1);
    assert_eq!(v.get(), u16::MAX);
    // Under this thread's own lock, the lock-free forms run under it (no self-deadlock).
    let g = v.lock_timeout(TIMEOUT).unwrap();
    assert_eq!(v.fetch_add(1), u16::MAX);
    assert_eq!(g.get(), 0);
    drop(g);

    // No 128-bit atomic: `fetch_add` takes the lock, and is exact all the same.
    let wide = Value::new(u128::MAX - 1).unwrap();
    assert_eq!(wide.fetch_add(3), u128::MAX - 1);
    assert_eq!(wide.fetch_sub(1), 1);
    assert_eq!(wide.get(), 0);

    // Floats compare bit for bit.
    let f = Value::new(f64::NAN).unwrap();
    assert!(f.compare_exchange(f64::NAN, 1.5).is_ok());
    assert_eq!(
        f.compare_exchange(-0.0, 2.0).map_err(f64::to_bits),
        Err(1.5f64.to_bits())
    );
    assert_eq!(f.swap(0.0).to_bits(), 1.5f64.to_bits());
    assert_eq!(
        f.compare_exchange(-0.0, 2.0).map_err(f64::to_bits),
        Err(0.0f64.to_bits())
    );

    let b = Value::new(ShmBool::FALSE).unwrap();
    assert_eq!(
        b.compare_exchange(ShmBool::FALSE, ShmBool::TRUE),
        Ok(ShmBool::FALSE)
    );
    assert_eq!(b.load().to_bool(), Ok(true));
}

/// Waits for `go`, then stores 99 without the lock (it must wait for the holder) and says so.
#[process]
fn store_99(v: Value<i64>, go: Event, done: Event) {
    go.wait_timeout(LIMIT).unwrap();
    v.store(99);
    done.set();
}

#[test]
fn a_lock_free_store_waits_for_a_section_holding_the_lock() {
    let v = Value::new(1i64).unwrap();
    let (go, done) = (Event::new().unwrap(), Event::new().unwrap());
    let child = store_99::spawn(v.clone(), go.clone(), done.clone()).unwrap();
    let mut g = v.lock_timeout(TIMEOUT).unwrap();
    let read = g.get();
    go.set();
    // The store blocks on the lock (parked on its futex), never writing in the section.
    integration_tests::sync_support::wait_parked(child.pid());
    assert_eq!(g.get(), read);
    g.set(read + 1);
    assert!(!done.is_set());
    drop(g);
    child.join_timeout(LIMIT).unwrap();
    assert!(done.is_set());
    assert_eq!(
        v.load(),
        99,
        "the store lands after the section, not inside it"
    );
}

/// Adds forever with the lock-free form until killed.
#[process]
fn fetch_add_forever(v: Value<u64>, started: Event) {
    started.set();
    loop {
        v.fetch_add(1);
    }
}

/// Runs `f` on another thread and fails the test if it takes longer than [`LIMIT`].
fn bounded<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(f()));
    rx.recv_timeout(LIMIT)
        .expect("the operation did not finish")
}

#[test]
fn killing_a_lock_free_incrementer_never_wedges_a_lock_holder() {
    let v = Value::new(0u64).unwrap();
    for _ in 0..5 {
        let started = Event::new().unwrap();
        let child = fetch_add_forever::spawn(v.clone(), started.clone()).unwrap();
        assert!(started.wait_timeout(LIMIT).is_ok());
        // Killed mostly inside a lock-free operation: its gate slot names a dead process.
        kill(&child);
        let w = v.clone();
        let (before, after) = bounded(move || {
            let mut g = w.lock_timeout(TIMEOUT).unwrap();
            let x = g.get();
            g.set(x + 1);
            drop(g);
            (x, w.load())
        });
        assert_eq!(after, before + 1);
        assert!(
            v.is_consistent(),
            "a killed lock-free operation is whole or absent"
        );
    }
}

/// Where a `Value`'s gate slots are in its segment: after the 64-byte header and the line of
/// the length, one 64-byte line each; the data follows them.
const GATE_AT: u64 = 128;
const GATE_SLOTS: u64 = 16;
const VALUE_DATA_AT: u64 = GATE_AT + GATE_SLOTS * 64;

/// The hostile peer (under `Spawn` it holds only the segments it was given): fills every gate
/// slot of each value segment with `claim`, after checking that the value's data (`marker`)
/// is where it expects it. Returns how many segments it wrote.
#[process]
fn fill_gate_slots(v: Value<u64>, marker: u64, claim: u64) -> usize {
    let mut written = 0;
    for entry in std::fs::read_dir("/proc/self/fd").unwrap().flatten() {
        let Ok(target) = std::fs::read_link(entry.path()) else {
            continue;
        };
        if !target.to_string_lossy().starts_with("/memfd:mproc-value") {
            continue;
        }
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(entry.path())
            .unwrap();
        let mut data = [0u8; 8];
        std::os::unix::fs::FileExt::read_exact_at(&file, &mut data, VALUE_DATA_AT).unwrap();
        assert_eq!(
            u64::from_ne_bytes(data),
            marker,
            "the layout the peer assumes"
        );
        for slot in 0..GATE_SLOTS {
            std::os::unix::fs::FileExt::write_all_at(
                &file,
                &claim.to_ne_bytes(),
                GATE_AT + slot * 64,
            )
            .unwrap();
        }
        written += 1;
    }
    drop(v);
    written
}

#[test]
fn garbage_a_peer_writes_into_the_gate_neither_wedges_nor_miscounts() {
    // All ones (a pid no process has), and the identity of a process that has exited.
    let exited = {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = u64::from(child.id());
        child.wait().unwrap();
        (1 << 32) | pid
    };
    for claim in [u64::MAX, exited] {
        let marker = 0x6761_7465_5f74_6573;
        let v = Value::new(marker).unwrap();
        let written = fill_gate_slots::builder()
            .start_method(StartMethod::Spawn)
            .spawn(v.clone(), marker, claim)
            .unwrap()
            .join_timeout(LIMIT)
            .unwrap();
        assert_eq!(written, 1);
        let w = v.clone();
        let (old, locked, after) = bounded(move || {
            // Every slot looks taken: the lock-free add takes the lock, whose drain clears
            // the claims of processes that are not running.
            let old = w.fetch_add(1);
            let mut g = w.lock_timeout(TIMEOUT).unwrap();
            let locked = g.get();
            g.set(locked + 1);
            drop(g);
            (old, locked, w.fetch_add(1))
        });
        assert_eq!((old, locked, after), (marker, marker + 1, marker + 2));
        assert_eq!(v.load(), marker + 3);
        assert!(v.is_consistent());
    }
}
