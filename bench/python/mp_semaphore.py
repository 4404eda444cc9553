"""Semaphore: uncontended acquire+release of a one-permit semaphore (ns)."""

import multiprocessing as mp
import time

from mp_common import check, main, repeat

ctx = mp.get_context("fork")

# Permits the semaphore starts with (and must hold again after every run).
PERMITS = 1


def uncontended(sizes):
    sem = ctx.Semaphore(PERMITS)
    ops = sizes["semaphore_ops"]

    def run():
        start = time.perf_counter()
        for _ in range(ops):
            sem.acquire()
            sem.release()
        nanos = (time.perf_counter() - start) * 1e9 / ops
        check(sem.get_value() == PERMITS, f"{sem.get_value()} permits, expected {PERMITS}")
        return nanos

    return repeat(sizes, run)


FIGURES = {
    "semaphore.uncontended": ("ns", uncontended, False),
}

if __name__ == "__main__":
    main(FIGURES)
