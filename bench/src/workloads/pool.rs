//! Pool: trivial tasks (per-task overhead), a single task round trip, and CPU-bound speedup.
//!
//! The floor pool is two forked workers, each on its own `socketpair`. A request is 16 bytes
//! (first task, task count); the reply is one 8-byte result per task. The parent hands chunks
//! out round-robin, keeps up to [`WINDOW`] requests in flight per worker, and reads replies in
//! order.

use std::io::{Read, Write};
use std::ops::Range;
use std::os::unix::net::UnixStream;
use std::sync::atomic::Ordering;
use std::time::Instant;

use super::{Figure, Workload, float, repeat, secs_since};
use crate::config::Sizes;
use crate::outcome::{Error, Measured, Outcome, Unit, fail};
use crate::peers;
use crate::sys::proc::{Pid, fork_child, wait_all_ok};
use crate::sys::shm::ShmRegion;

/// Workers in every pool of this workload (the machine has two cores).
const WORKERS: usize = 2;
/// Requests in flight per floor worker.
const WINDOW: usize = 64;

pub(crate) const WORKLOAD: Workload = Workload {
    name: "pool",
    script: "mp_pool.py",
    figures: &[
        Figure {
            id: "pool.map.chunk1",
            title: "Pool.map trivial task, chunksize 1",
            unit: Unit::Us,
            pinned: false,
            memory: true,
            about: "a pool of 2 workers maps `x + 1` over N integers, one task per message; \
                    µs per task. Python: `Pool(2).map(f, range(N), chunksize=1)`; floor: two \
                    forked workers on socketpairs, one request and one reply per task",
            mproc: mproc_map_chunk1,
            floor: floor_map_chunk1,
            peers: &[peers::procspawn::MAP_CHUNK1_PEER],
        },
        Figure {
            id: "pool.map.default",
            title: "Pool.map trivial task, default chunking",
            unit: Unit::Us,
            pinned: false,
            memory: true,
            about: "the same map with Python's default chunk size (N / (4 × workers), rounded \
                    up); µs per task. Floor: the same workers, one request and one reply per \
                    chunk",
            mproc: mproc_map_default,
            floor: floor_map_default,
            peers: &[peers::procspawn::MAP_PEER],
        },
        Figure {
            id: "pool.apply_async",
            title: "Pool apply_async().get() round trip",
            unit: Unit::Us,
            pinned: false,
            memory: true,
            about: "one task submitted and its result awaited before the next. Python: \
                    `pool.apply_async(f, (i,)).get()`; floor: one 16-byte request and one \
                    8-byte reply to a forked worker",
            mproc: mproc_apply_async,
            floor: floor_apply_async,
            peers: &[peers::procspawn::APPLY_PEER],
        },
        Figure {
            id: "pool.apply_async.pinned",
            title: "Pool apply_async().get() round trip, all on CPU 0",
            unit: Unit::Us,
            pinned: true,
            memory: false,
            about: "as the row above, with the measuring process, its pool (workers and \
                    threads) and the floor's worker all on CPU 0 (`sched_setaffinity` before \
                    the pool starts; children inherit it)",
            mproc: mproc_apply_async,
            floor: floor_apply_async,
            peers: &[peers::procspawn::APPLY_PEER],
        },
        Figure {
            id: "pool.cpu.speedup",
            title: "Pool CPU-bound speedup, 2 workers",
            unit: Unit::Speedup,
            pinned: false,
            memory: true,
            about: "time for one process to hash a range of integers, divided by the time with \
                    2 processes (higher is better). Python: the range split in 8 tasks for \
                    `Pool(2).map` against a plain loop in the parent (its work is 100× \
                    smaller, Python being that much slower per iteration); floor: 2 forked \
                    children each hashing half, against the parent hashing all",
            mproc: mproc_cpu_speedup,
            floor: floor_cpu_speedup,
            peers: &[peers::procspawn::CPU_PEER],
        },
        Figure {
            id: "pool.map.skewed",
            title: "Pool.map skewed durations, 5 workers (makespan)",
            unit: Unit::Ms,
            pinned: false,
            memory: false,
            about: "a pool of 5 workers maps a sleeping task over 2 durations of 1 s then 13 of \
                    1/30 s, default chunking; the makespan in ms (the ideal is 1 s: the longest \
                    task). Python: `Pool(5).map(time.sleep, durations)`; floor: 5 forked \
                    children given the ideal assignment up front (mproc/floor is the makespan \
                    over the ideal)",
            mproc: mproc_map_skewed,
            floor: floor_map_skewed,
            peers: &[peers::procspawn::SKEWED_PEER],
        },
    ],
};

/// Workers of the skewed figure (the issue's `Pool(5)`).
pub(crate) const SKEWED_WORKERS: usize = 5;

/// The skewed durations in µs: 2 long tasks first, then 13 short ones (30 to a long one).
/// `bench/python/mp_pool.py` uses the same.
pub(crate) fn skewed_durations() -> Vec<u64> {
    let long = 1_000_000;
    let mut durations = vec![long; 2];
    durations.extend(std::iter::repeat_n(long / 30, 13));
    durations
}

/// Sleeps `micros` µs (the skewed figure's task).
pub(crate) fn sleep_for(micros: u64) -> u64 {
    std::thread::sleep(std::time::Duration::from_micros(micros));
    micros
}

fn mproc_map_skewed(sizes: &Sizes) -> Result<Outcome, Error> {
    let pool = mproc::Pool::new(SKEWED_WORKERS)?;
    let durations = skewed_durations();
    let samples = repeat(sizes, || {
        let start = Instant::now();
        let slept = pool.map(sleep_for, durations.clone()).run()?;
        let millis = secs_since(start) * 1e3;
        if slept != durations {
            return Err(fail("the mproc pool returned wrong results"));
        }
        Ok(millis)
    });
    pool.close();
    pool.join()?;
    Ok(Outcome::Measured(Measured::new(samples?)))
}

/// The ideal schedule, known up front: each long task on a worker of its own, the short ones
/// spread over the others; five forked children sleep their share.
fn floor_map_skewed(sizes: &Sizes) -> Result<Outcome, Error> {
    let durations = skewed_durations();
    let mut shares = [0u64; SKEWED_WORKERS];
    // Longest first onto the least-loaded child (LPT: optimal here).
    for &d in &durations {
        let least = (0..SKEWED_WORKERS)
            .min_by_key(|&w| shares[w])
            .expect("invariant: workers > 0");
        shares[least] += d;
    }
    let samples = repeat(sizes, || {
        let start = Instant::now();
        let pids = shares
            .iter()
            .map(|&share| {
                fork_child(move || -> Result<(), Error> {
                    sleep_for(share);
                    Ok(())
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        wait_all_ok(&pids)?;
        Ok(secs_since(start) * 1e3)
    })?;
    Ok(Outcome::Measured(Measured::new(samples)))
}

/// Runs `measure` in the runs of a 2-worker `mproc::Pool`, then closes and joins it (so the
/// workers are reaped and their peak RSS is counted).
fn with_mproc_pool(
    sizes: &Sizes,
    mut measure: impl FnMut(&mproc::Pool) -> Result<f64, Error>,
) -> Result<Outcome, Error> {
    let pool = mproc::Pool::new(WORKERS)?;
    let samples = repeat(sizes, || measure(&pool));
    pool.close();
    pool.join()?;
    Ok(Outcome::Measured(Measured::with_rss(samples?)))
}

/// Microseconds per task of `map` over `tasks` tasks (chunk size `chunk`, or Python's
/// default), results checked.
fn mproc_map(sizes: &Sizes, tasks: u64, chunk: Option<usize>) -> Result<Outcome, Error> {
    with_mproc_pool(sizes, |pool| {
        let start = Instant::now();
        let results = match chunk {
            Some(chunk) => pool.map(task, 0..tasks).chunksize(chunk).run()?,
            None => pool.map(task, 0..tasks).run()?,
        };
        let micros = secs_since(start) * 1e6 / float(tasks);
        if results.len() as u64 != tasks || !results.iter().zip(0..).all(|(&r, x)| r == task(x)) {
            return Err(fail("the mproc pool returned wrong results"));
        }
        Ok(micros)
    })
}

fn mproc_map_chunk1(sizes: &Sizes) -> Result<Outcome, Error> {
    mproc_map(sizes, sizes.pool_tasks_chunk1, Some(1))
}

fn mproc_map_default(sizes: &Sizes) -> Result<Outcome, Error> {
    mproc_map(sizes, sizes.pool_tasks_default, None)
}

fn mproc_apply_async(sizes: &Sizes) -> Result<Outcome, Error> {
    let rounds = sizes.pingpong;
    with_mproc_pool(sizes, |pool| {
        let start = Instant::now();
        for x in 0..rounds {
            if pool.apply_async(task, x)?.get()? != task(x) {
                return Err(fail("the mproc pool returned a wrong result"));
            }
        }
        Ok(secs_since(start) * 1e6 / float(rounds))
    })
}

/// `hash_sum` as a pool task over a range given by its ends.
pub(crate) fn hash_range((lo, hi): (u64, u64)) -> u64 {
    hash_sum(lo..hi)
}

/// The range split in 8 tasks for a 2-worker pool (as the Python side), against the parent
/// hashing it all.
fn mproc_cpu_speedup(sizes: &Sizes) -> Result<Outcome, Error> {
    let iters = sizes.cpu_iters_native;
    let step = iters.div_ceil(8);
    let parts: Vec<(u64, u64)> = (0..8)
        .map(|i| (i * step, ((i + 1) * step).min(iters)))
        .collect();
    with_mproc_pool(sizes, |pool| {
        let start = Instant::now();
        let alone = std::hint::black_box(hash_sum(0..iters));
        let one = secs_since(start);
        let start = Instant::now();
        let together = pool
            .map(hash_range, parts.clone())
            .chunksize(1)
            .run()?
            .into_iter()
            .fold(0u64, u64::wrapping_add);
        let two = secs_since(start);
        if together != alone {
            return Err(fail("the pool's parts do not add up to the whole"));
        }
        Ok(one / two)
    })
}

/// The trivial task.
fn task(x: u64) -> u64 {
    x + 1
}

/// A floor worker: answers requests until a request of zero tasks.
fn serve(stream: &mut UnixStream) -> std::io::Result<()> {
    let mut request = [0u8; 16];
    let mut reply = Vec::new();
    loop {
        stream.read_exact(&mut request)?;
        let (first, count) = decode_request(&request);
        if count == 0 {
            return Ok(());
        }
        reply.clear();
        for x in first..first + count {
            reply.extend_from_slice(&task(x).to_le_bytes());
        }
        stream.write_all(&reply)?;
    }
}

fn encode_request(first: u64, count: u64) -> [u8; 16] {
    let mut request = [0u8; 16];
    request[..8].copy_from_slice(&first.to_le_bytes());
    request[8..].copy_from_slice(&count.to_le_bytes());
    request
}

fn decode_request(request: &[u8; 16]) -> (u64, u64) {
    let (first, count) = request.split_at(8);
    let word = |b: &[u8]| u64::from_le_bytes(b.try_into().expect("invariant: 8 bytes"));
    (word(first), word(count))
}

/// Two forked workers, stopped and reaped on `finish`.
struct FloorPool {
    streams: Vec<UnixStream>,
    pids: Vec<Pid>,
}

impl FloorPool {
    fn start() -> Result<Self, Error> {
        let mut streams = Vec::new();
        let mut pids = Vec::new();
        for _ in 0..WORKERS {
            let (parent, mut child) = UnixStream::pair()?;
            // Workers hold copies of other workers' parent ends, so a parent that dies
            // does not always give them EOF: they give up after a long idle time instead.
            child.set_read_timeout(Some(crate::floor::PATIENCE))?;
            pids.push(fork_child(|| serve(&mut child))?);
            streams.push(parent);
        }
        Ok(Self { streams, pids })
    }

    /// Maps the task over `0..tasks` in chunks of `chunk`; returns the results in order.
    fn map(&mut self, tasks: u64, chunk: u64) -> Result<Vec<u64>, Error> {
        let chunks: Vec<Range<u64>> = (0..tasks.div_ceil(chunk))
            .map(|i| i * chunk..((i + 1) * chunk).min(tasks))
            .collect();
        let mut results = Vec::with_capacity(usize::try_from(tasks)?);
        let mut bytes = Vec::new();
        let mut sent = 0;
        let in_flight = (WINDOW * WORKERS).min(chunks.len());
        for (i, range) in chunks.iter().enumerate().take(in_flight) {
            self.send(i, range)?;
            sent += 1;
        }
        for (i, range) in chunks.iter().enumerate() {
            bytes.resize(usize::try_from(range.end - range.start)? * 8, 0);
            self.streams[i % WORKERS].read_exact(&mut bytes)?;
            results.extend(
                bytes
                    .chunks_exact(8)
                    .map(|b| u64::from_le_bytes(b.try_into().expect("invariant: 8 bytes"))),
            );
            if let Some(next) = chunks.get(sent) {
                self.send(sent, next)?;
                sent += 1;
            }
        }
        Ok(results)
    }

    fn send(&mut self, index: usize, range: &Range<u64>) -> Result<(), Error> {
        let request = encode_request(range.start, range.end - range.start);
        self.streams[index % WORKERS].write_all(&request)?;
        Ok(())
    }

    /// Stops the workers and reaps them.
    fn finish(mut self) -> Result<(), Error> {
        for stream in &mut self.streams {
            // A worker that already died shows up in `wait_all_ok` below.
            let _ = stream.write_all(&encode_request(0, 0));
        }
        drop(self.streams);
        wait_all_ok(&self.pids)?;
        Ok(())
    }
}

/// Microseconds per task of maps over `tasks` tasks in chunks of `chunk`, results checked.
fn floor_map(sizes: &Sizes, tasks: u64, chunk: u64) -> Result<Outcome, Error> {
    let mut pool = FloorPool::start()?;
    let samples = repeat(sizes, || {
        let start = Instant::now();
        let results = pool.map(tasks, chunk)?;
        let micros = secs_since(start) * 1e6 / float(tasks);
        if !results.iter().zip(0..).all(|(&r, x)| r == task(x)) || results.len() as u64 != tasks {
            return Err(fail("the floor pool returned wrong results"));
        }
        Ok(micros)
    });
    pool.finish()?;
    Ok(Outcome::Measured(Measured::with_rss(samples?)))
}

fn floor_map_chunk1(sizes: &Sizes) -> Result<Outcome, Error> {
    floor_map(sizes, sizes.pool_tasks_chunk1, 1)
}

/// Python's default: `chunksize, extra = divmod(len, 4 * workers); chunksize += bool(extra)`.
fn default_chunk(tasks: u64) -> u64 {
    tasks.div_ceil(4 * WORKERS as u64).max(1)
}

fn floor_map_default(sizes: &Sizes) -> Result<Outcome, Error> {
    let tasks = sizes.pool_tasks_default;
    floor_map(sizes, tasks, default_chunk(tasks))
}

fn floor_apply_async(sizes: &Sizes) -> Result<Outcome, Error> {
    let mut pool = FloorPool::start()?;
    let rounds = sizes.pingpong;
    let samples = repeat(sizes, || {
        let start = Instant::now();
        for x in 0..rounds {
            let result = pool.map_one(x)?;
            if result != task(x) {
                return Err(fail("the floor worker returned a wrong result"));
            }
        }
        Ok(secs_since(start) * 1e6 / float(rounds))
    });
    pool.finish()?;
    Ok(Outcome::Measured(Measured::with_rss(samples?)))
}

impl FloorPool {
    /// One task on the first worker, waiting for its result.
    fn map_one(&mut self, x: u64) -> Result<u64, Error> {
        let stream = &mut self.streams[0];
        stream.write_all(&encode_request(x, 1))?;
        let mut reply = [0u8; 8];
        stream.read_exact(&mut reply)?;
        Ok(u64::from_le_bytes(reply))
    }
}

/// The CPU-bound work: a 64-bit hash (splitmix64's finalizer) of every integer in `range`,
/// summed. `bench/python/mp_pool.py` computes the same function.
pub(crate) fn hash_sum(range: Range<u64>) -> u64 {
    range.fold(0u64, |sum, x| {
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        sum.wrapping_add(z ^ (z >> 31))
    })
}

fn floor_cpu_speedup(sizes: &Sizes) -> Result<Outcome, Error> {
    let iters = sizes.cpu_iters_native;
    let half = iters / 2;
    let shm = ShmRegion::new(64)?;
    let samples = repeat(sizes, || {
        let start = Instant::now();
        let alone = std::hint::black_box(hash_sum(0..iters));
        let one = secs_since(start);

        let start = Instant::now();
        let halves = [0..half, half..iters];
        let pids = halves
            .iter()
            .enumerate()
            .map(|(i, range)| {
                fork_child(|| -> Result<(), Error> {
                    shm.u64_at(8 * i)
                        .store(hash_sum(range.clone()), Ordering::Release);
                    Ok(())
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        wait_all_ok(&pids)?;
        let two = secs_since(start);
        let together = shm
            .u64_at(0)
            .load(Ordering::Acquire)
            .wrapping_add(shm.u64_at(8).load(Ordering::Acquire));
        if together != alone {
            return Err(fail("the two halves do not add up to the whole"));
        }
        Ok(one / two)
    })?;
    Ok(Outcome::Measured(Measured::with_rss(samples)))
}

#[cfg(test)]
mod tests {
    use super::{default_chunk, hash_sum};

    #[test]
    fn hash_sum_matches_the_python_side() {
        // `hash_sum(0, 1000)` in bench/python/mp_pool.py prints this value.
        assert_eq!(hash_sum(0..1000), 18_255_465_435_705_049_681);
        assert_eq!(
            hash_sum(0..400).wrapping_add(hash_sum(400..1000)),
            hash_sum(0..1000)
        );
    }

    #[test]
    fn default_chunking_follows_python() {
        // divmod(100, 8) = (12, 4) -> 13; divmod(16, 8) = (2, 0) -> 2.
        assert_eq!(default_chunk(100), 13);
        assert_eq!(default_chunk(16), 2);
        assert_eq!(default_chunk(1), 1);
    }
}
