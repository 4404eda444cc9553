//! `Value`'s atomics across real processes: lock-free operations and locked sections never
//! lose an update, a lock-free store waits for a lock holder, a killed lock-free incrementer
//! wedges no one, and garbage a peer writes into the gate neither wedges nor miscounts.

#![allow(
    clippy::needless_pass_by_value,
    reason = "`#[process]` functions receive their arguments by value, deserialized"
)]

use integration_tests::TIMEOUT;
use integration_tests::sync_support::LIMIT;
use mproc::prelude::*;

use mproc::ShmBool;

const N: u64 = 20_000;

fn kill(child: &Child<impl serde::de::DeserializeOwned>) {
    child.kill().unwrap();
    let status = child.handle().wait_timeout(LIMIT).unwrap();
    assert_eq!(status.signal(), Some(9));
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
