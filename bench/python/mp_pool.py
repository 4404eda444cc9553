"""Pool: trivial maps (µs per task), apply_async round trips (µs), CPU-bound speedup (×)."""

import multiprocessing as mp
import time

from mp_common import PATIENCE, check, main, repeat

ctx = mp.get_context("fork")

WORKERS = 2
MASK = (1 << 64) - 1


def task(x):
    """The trivial task."""
    return x + 1


def with_pool(sizes, measure):
    """Runs measure(pool) in the runs of a 2-worker pool, then reaps the workers."""
    pool = ctx.Pool(WORKERS)
    try:
        samples = repeat(sizes, lambda: measure(pool))
    finally:
        pool.close()
        pool.join()  # reaped workers count in RUSAGE_CHILDREN
    return samples


def map_per_task(sizes, tasks, chunksize):
    expected = list(range(1, tasks + 1))

    def measure(pool):
        start = time.perf_counter()
        if chunksize is None:
            results = pool.map(task, range(tasks))
        else:
            results = pool.map(task, range(tasks), chunksize=chunksize)
        elapsed = time.perf_counter() - start
        check(results == expected, "wrong results")
        return elapsed * 1e6 / tasks

    return with_pool(sizes, measure)


def apply_async(sizes):
    rounds = sizes["pingpong"]

    def measure(pool):
        start = time.perf_counter()
        for x in range(rounds):
            check(pool.apply_async(task, (x,)).get(PATIENCE) == x + 1, "wrong result")
        return (time.perf_counter() - start) * 1e6 / rounds

    return with_pool(sizes, measure)


def hash_sum(lo, hi):
    """splitmix64's finalizer of every integer in lo..hi, summed mod 2^64 (as the Rust floor)."""
    total = 0
    for x in range(lo, hi):
        z = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        total = (total + (z ^ (z >> 31))) & MASK
    return total


def hash_range(bounds):
    return hash_sum(*bounds)


def cpu_speedup(sizes):
    iters, chunks = sizes["cpu_iters_python"], sizes["cpu_chunks"]
    step = -(-iters // chunks)
    ranges = [(lo, min(lo + step, iters)) for lo in range(0, iters, step)]

    def measure(pool):
        start = time.perf_counter()
        alone = hash_sum(0, iters)
        one = time.perf_counter() - start
        start = time.perf_counter()
        together = sum(pool.map(hash_range, ranges, chunksize=1)) & MASK
        two = time.perf_counter() - start
        check(together == alone, "the chunks do not add up to the whole")
        return one / two

    return with_pool(sizes, measure)


SKEWED_WORKERS = 5


def skewed_durations():
    """2 long tasks first, then 13 short ones (30 to a long one), in seconds (as the Rust side)."""
    long = 1.0
    return [long, long] + [long / 30] * 13


def sleep_for(seconds):
    time.sleep(seconds)
    return seconds


def map_skewed(sizes):
    durations = skewed_durations()
    pool = ctx.Pool(SKEWED_WORKERS)
    try:

        def measure():
            start = time.perf_counter()
            slept = pool.map(sleep_for, durations)
            elapsed = time.perf_counter() - start
            check(slept == durations, "wrong results")
            return elapsed * 1e3

        return repeat(sizes, measure)
    finally:
        pool.close()
        pool.join()


FIGURES = {
    "pool.map.chunk1": ("us", lambda s: map_per_task(s, s["pool_tasks_chunk1"], 1), True),
    "pool.map.default": ("us", lambda s: map_per_task(s, s["pool_tasks_default"], None), True),
    "pool.apply_async": ("us", apply_async, True),
    "pool.apply_async.pinned": ("us", apply_async, False),
    "pool.cpu.speedup": ("x", cpu_speedup, True),
    "pool.map.skewed": ("ms", map_skewed, False),
}

if __name__ == "__main__":
    main(FIGURES)
