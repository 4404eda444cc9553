"""Lock: uncontended acquire+release (ns), and two processes contending (ops/s)."""

import multiprocessing as mp
import time

from mp_common import check, join_all, main, repeat

ctx = mp.get_context("fork")


def uncontended(sizes):
    lock = ctx.Lock()
    ops = sizes["lock_ops"]

    def run():
        start = time.perf_counter()
        for _ in range(ops):
            lock.acquire()
            lock.release()
        return (time.perf_counter() - start) * 1e9 / ops

    return repeat(sizes, run)


def contend(lock, counter, barrier, ends, index, ops):
    barrier.wait()
    for _ in range(ops):
        lock.acquire()
        counter.value += 1
        lock.release()
    ends[index] = time.monotonic_ns()


def contended(sizes):
    ops = sizes["lock_contended_ops"]

    def run():
        lock = ctx.Lock()
        counter = ctx.RawValue("q", 0)
        ends = ctx.RawArray("q", 2)
        barrier = ctx.Barrier(3)
        procs = [
            ctx.Process(target=contend, args=(lock, counter, barrier, ends, i, ops))
            for i in range(2)
        ]
        for p in procs:
            p.start()
        barrier.wait()
        start = time.monotonic_ns()
        join_all(procs)
        check(counter.value == 2 * ops, f"counter {counter.value}, expected {2 * ops}")
        return 2 * ops / ((max(ends) - start) / 1e9)

    return repeat(sizes, run)


FIGURES = {
    "lock.uncontended": ("ns", uncontended, False),
    "lock.contended": ("ops/s", contended, False),
}

if __name__ == "__main__":
    main(FIGURES)
