//! Side-by-side measurements of the synchronization primitives against Python 3's
//! `multiprocessing`, in one quick table (the `bench` binary measures the same primitives, and
//! more, with repetitions, floors and pinning; this is the five-row summary):
//!
//! ```sh
//! cargo run --release -p bench --example sync_side_by_side
//! taskset -c 0 cargo run --release -p bench --example sync_side_by_side   # one core
//! ```
//!
//! Each figure is the best of three runs. Nothing here asserts a timing. (It was the test
//! `tests/tests/sync_bench.rs`: a benchmark does not belong among the tests.)

#![allow(
    clippy::needless_pass_by_value,
    reason = "`#[process]` functions receive their arguments by value, deserialized"
)]
#![allow(
    clippy::cast_precision_loss,
    reason = "operation counts far below 2^52 become f64 for rates"
)]

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use mproc::prelude::*;

/// How long a child may take to finish before the run is abandoned.
const LIMIT: Duration = Duration::from_secs(20);

fn best<F: FnMut() -> f64>(mut f: F) -> f64 {
    (0..3).map(|_| f()).fold(f64::INFINITY, f64::min)
}

fn lock_uncontended_ns() -> f64 {
    const N: u32 = 10_000_000;
    let lock = Lock::new().unwrap();
    best(|| {
        let t = Instant::now();
        for _ in 0..N {
            lock.acquire().unwrap();
            lock.release().unwrap();
        }
        t.elapsed().as_nanos() as f64 / f64::from(N)
    })
}

fn semaphore_uncontended_ns() -> f64 {
    const N: u32 = 10_000_000;
    let sem = Semaphore::new(1).unwrap();
    best(|| {
        let t = Instant::now();
        for _ in 0..N {
            sem.acquire().unwrap();
            sem.release().unwrap();
        }
        t.elapsed().as_nanos() as f64 / f64::from(N)
    })
}

/// How long the two-process throughput runs last: long enough that both processes surely
/// overlap (a wake-up costs ~0.1 ms), short enough to keep the benchmark quick.
const WINDOW: std::time::Duration = std::time::Duration::from_millis(300);

#[process]
fn hammer_lock(lock: Lock, count: Value<u64>, go: Event, stop: Event) {
    go.wait().unwrap();
    let mut n = 0u64;
    while !stop.is_set() {
        for _ in 0..256 {
            lock.acquire().unwrap();
            lock.release().unwrap();
        }
        n += 256;
    }
    count.fetch_add(n);
}

#[process]
fn add_loop(v: Value<u64>, mine: Value<u64>, go: Event, stop: Event) {
    go.wait().unwrap();
    let mut n = 0u64;
    while !stop.is_set() {
        for _ in 0..256 {
            v.fetch_add(1);
        }
        n += 256;
    }
    mine.fetch_add(n);
}

/// What a two-process run starts: the children, their operation count, and (for
/// `fetch_add`) the shared value that must end equal to that count.
type Run = (Vec<Child<()>>, Value<u64>, Option<Value<u64>>);

/// Runs two children for [`WINDOW`]; returns millions of operations per second.
fn two_process_rate(run: impl Fn(&Event, &Event) -> Run) -> f64 {
    best(|| {
        let (go, stop) = (Event::new().unwrap(), Event::new().unwrap());
        let (kids, count, exact) = run(&go, &stop);
        go.set();
        std::thread::sleep(WINDOW); // the measurement window, not synchronization
        stop.set();
        for k in kids {
            k.join_timeout(LIMIT).unwrap();
        }
        if let Some(v) = exact {
            assert_eq!(v.get(), count.get(), "fetch_add lost an increment");
        }
        -(count.get() as f64 / WINDOW.as_secs_f64() / 1e6)
    })
    .abs()
}

/// Two processes acquire and release one lock as fast as they can.
fn lock_contended_mops() -> f64 {
    two_process_rate(|go, stop| {
        let (lock, count) = (Lock::new().unwrap(), Value::new(0u64).unwrap());
        let kids = (0..2)
            .map(|_| {
                hammer_lock::spawn(lock.clone(), count.clone(), go.clone(), stop.clone()).unwrap()
            })
            .collect();
        (kids, count, None)
    })
}

/// Two processes `fetch_add` one value; the total must equal the operations counted.
fn fetch_add_mops() -> f64 {
    two_process_rate(|go, stop| {
        let (v, count) = (Value::new(0u64).unwrap(), Value::new(0u64).unwrap());
        let kids = (0..2)
            .map(|_| add_loop::spawn(v.clone(), count.clone(), go.clone(), stop.clone()).unwrap())
            .collect();
        (kids, count, Some(v))
    })
}

#[process]
fn ponger(ask: Event, answer: Event, n: u32) {
    for _ in 0..n {
        ask.wait().unwrap();
        ask.clear();
        answer.set();
    }
}

/// Round trip through two events between two processes, in microseconds.
fn event_round_trip_us() -> f64 {
    const N: u32 = 20_000;
    best(|| {
        let (ping, pong_e) = (Event::new().unwrap(), Event::new().unwrap());
        let child = ponger::spawn(ping.clone(), pong_e.clone(), N).unwrap();
        let t = Instant::now();
        for _ in 0..N {
            ping.set();
            pong_e.wait().unwrap();
            pong_e.clear();
        }
        let us = t.elapsed().as_secs_f64() * 1e6 / f64::from(N);
        child.join_timeout(LIMIT).unwrap();
        us
    })
}

/// A shared anonymous page, inherited by forked children at the same address.
fn shared_word() -> &'static AtomicU32 {
    // SAFETY: a fresh anonymous shared mapping, never unmapped (leaked for the benchmark's
    // lifetime); an AtomicU32 is valid for the zeroed page.
    unsafe {
        let p = libc::mmap(
            std::ptr::null_mut(),
            4096,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        assert_ne!(p, libc::MAP_FAILED);
        &*p.cast::<AtomicU32>()
    }
}

fn futex_wait(w: &AtomicU32, v: u32) {
    // SAFETY: a shared (non-private) futex wait on a live word.
    unsafe { libc::syscall(libc::SYS_futex, w.as_ptr(), libc::FUTEX_WAIT, v, 0, 0, 0) };
}

fn futex_wake(w: &AtomicU32) {
    // SAFETY: as above.
    unsafe { libc::syscall(libc::SYS_futex, w.as_ptr(), libc::FUTEX_WAKE, 1, 0, 0, 0) };
}

fn raw_pong((addr, n): (usize, u32)) {
    // SAFETY: `addr` is the shared page mapped before the fork (Fork keeps addresses).
    let w = unsafe { &*(addr as *const AtomicU32) };
    for _ in 0..n {
        while w.load(Ordering::Acquire) != 1 {
            futex_wait(w, 0);
        }
        w.store(0, Ordering::Release);
        futex_wake(w);
    }
}

/// The floor: a bare futex ping-pong (no spinning) between two processes, in microseconds.
fn raw_futex_round_trip_us() -> f64 {
    const N: u32 = 20_000;
    let w = shared_word();
    best(|| {
        w.store(0, Ordering::SeqCst);
        // Fork: the child must inherit the page at the same address (outside the test
        // harness, the default start method is the fork server's).
        let child = Process::new(raw_pong, (std::ptr::from_ref(w) as usize, N))
            .start_method(StartMethod::Fork)
            .start()
            .unwrap();
        let t = Instant::now();
        for _ in 0..N {
            w.store(1, Ordering::Release);
            futex_wake(w);
            while w.load(Ordering::Acquire) != 0 {
                futex_wait(w, 1);
            }
        }
        let us = t.elapsed().as_secs_f64() * 1e6 / f64::from(N);
        child.join_timeout(LIMIT).unwrap();
        us
    })
}

const PYTHON: &str = r#"
import multiprocessing as mp, time, sys

def best(f):
    return min(f() for _ in range(3))

def lock_unc():
    n = 1_000_000; l = mp.Lock()
    t = time.perf_counter()
    for _ in range(n):
        l.acquire(); l.release()
    return (time.perf_counter() - t) / n * 1e9

def sem_unc():
    n = 1_000_000; s = mp.Semaphore(1)
    t = time.perf_counter()
    for _ in range(n):
        s.acquire(); s.release()
    return (time.perf_counter() - t) / n * 1e9

WINDOW = 0.3

def hammer(l, count, go, stop):
    go.wait(); n = 0
    while not stop.is_set():
        for _ in range(256):
            l.acquire(); l.release()
        n += 256
    with count.get_lock():
        count.value += n

def adder(v, count, go, stop):
    go.wait(); n = 0
    while not stop.is_set():
        for _ in range(256):
            with v.get_lock():
                v.value += 1
        n += 256
    with count.get_lock():
        count.value += n

def two(target, shared):
    count = mp.Value('q', 0); go = mp.Event(); stop = mp.Event()
    ps = [mp.Process(target=target, args=(shared, count, go, stop)) for _ in range(2)]
    for p in ps: p.start()
    go.set(); time.sleep(WINDOW); stop.set()
    for p in ps: p.join()
    return count.value

def lock_cont():
    return -(two(hammer, mp.Lock()) / WINDOW / 1e6)

def fetch_add():
    v = mp.Value('q', 0)
    n = two(adder, v)
    assert v.value == n
    return -(n / WINDOW / 1e6)

def ponger(a, b, n):
    for _ in range(n):
        a.wait(); a.clear(); b.set()

def event_rt():
    n = 20_000; a = mp.Event(); b = mp.Event()
    p = mp.Process(target=ponger, args=(a, b, n)); p.start()
    t = time.perf_counter()
    for _ in range(n):
        a.set(); b.wait(); b.clear()
    r = (time.perf_counter() - t) / n * 1e6
    p.join()
    return r

if __name__ == "__main__":
    mp.set_start_method("fork")
    print(best(lock_unc), abs(best(lock_cont)), best(event_rt), best(sem_unc), abs(best(fetch_add)))
"#;

fn python() -> Option<[f64; 5]> {
    let out = Command::new("python3").args(["-c", PYTHON]).output().ok()?;
    if !out.status.success() {
        eprintln!("python3 failed: {}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    let v: Vec<f64> = text
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    v.try_into().ok()
}

fn main() {
    let ours = [
        lock_uncontended_ns(),
        lock_contended_mops(),
        event_round_trip_us(),
        semaphore_uncontended_ns(),
        fetch_add_mops(),
    ];
    let floor = raw_futex_round_trip_us();
    let py = python();
    let rows = [
        ("Lock acquire+release, uncontended", "ns/op", false),
        ("Lock, 2 processes contending", "M ops/s", true),
        ("Event round trip, 2 processes", "us", false),
        ("Semaphore acquire+release, uncontended", "ns/op", false),
        ("Value fetch_add, 2 processes (exact)", "M ops/s", true),
    ];
    println!(
        "\n{:<42} {:>10} {:>10} {:>12}",
        "workload", "mproc", "python", "mproc gain"
    );
    for (i, (name, unit, higher_is_better)) in rows.iter().enumerate() {
        let (p, gain) = match py {
            Some(py) => {
                let gain = if *higher_is_better {
                    ours[i] / py[i]
                } else {
                    py[i] / ours[i]
                };
                (format!("{:.3}", py[i]), format!("{gain:.1}x"))
            }
            None => ("-".into(), "-".into()),
        };
        println!("{name:<42} {:>10.3} {p:>10} {gain:>12}   {unit}", ours[i]);
    }
    println!(
        "raw futex ping-pong round trip (floor): {floor:.3} us; Event / floor = {:.2}",
        ours[2] / floor
    );
}
