"""Value: two processes incrementing one shared integer under its lock (ops/s, total checked)."""

import multiprocessing as mp
import time

from mp_common import check, join_all, main, repeat

ctx = mp.get_context("fork")


def add(value, barrier, ends, index, ops):
    barrier.wait()
    for _ in range(ops):
        # The correct form: `value.value += 1` alone is a read and a write, not atomic.
        with value.get_lock():
            value.value += 1
    ends[index] = time.monotonic_ns()


def fetch_add(sizes):
    ops = sizes["value_contended_ops"]

    def run():
        value = ctx.Value("q", 0)
        ends = ctx.RawArray("q", 2)
        barrier = ctx.Barrier(3)
        procs = [
            ctx.Process(target=add, args=(value, barrier, ends, i, ops)) for i in range(2)
        ]
        for p in procs:
            p.start()
        barrier.wait()
        start = time.monotonic_ns()
        join_all(procs)
        check(value.value == 2 * ops, f"value {value.value}, expected {2 * ops}")
        return 2 * ops / ((max(ends) - start) / 1e9)

    return repeat(sizes, run)


FIGURES = {
    "value.fetch_add": ("ops/s", fetch_add, False),
    # Python has no atomic add: both rows measure its only correct form.
    "value.locked_add": ("ops/s", fetch_add, False),
}

if __name__ == "__main__":
    main(FIGURES)
