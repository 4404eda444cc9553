"""Manager: dict set+get round trip (us per pair), list.append from two processes (ops/s),
Lock acquire+release and Queue put+get round trips (us per pair), a custom object's method
call through BaseManager.register (us per call)."""

import multiprocessing as mp
import multiprocessing.managers
import time
from multiprocessing.managers import BaseManager

from mp_common import check, join_all, main, repeat

ctx = mp.get_context("fork")


def dict_set_get(sizes):
    rounds = sizes["pingpong"]
    with ctx.Manager() as manager:
        d = manager.dict()

        def run():
            start = time.perf_counter()
            for i in range(rounds):
                d[i] = i
                check(d[i] == i, "the dict lost a value")
            return (time.perf_counter() - start) * 1e6 / rounds

        return repeat(sizes, run)


def append(lst, barrier, ends, index, ops):
    barrier.wait()
    for i in range(ops):
        lst.append(i)
    ends[index] = time.monotonic_ns()


def list_append(sizes):
    ops = sizes["pingpong"]
    with ctx.Manager() as manager:

        def run():
            lst = manager.list()
            ends = ctx.RawArray("q", 2)
            barrier = ctx.Barrier(3)
            procs = [
                ctx.Process(target=append, args=(lst, barrier, ends, i, ops))
                for i in range(2)
            ]
            for p in procs:
                p.start()
            barrier.wait()
            start = time.monotonic_ns()
            join_all(procs)
            check(len(lst) == 2 * ops, f"list has {len(lst)}, expected {2 * ops}")
            return 2 * ops / ((max(ends) - start) / 1e9)

        return repeat(sizes, run)


def time_lock(sizes, manager):
    """us per acquire+release pair of a Lock proxy of a started manager."""
    rounds = sizes["pingpong"]
    lock = manager.Lock()

    def run():
        start = time.perf_counter()
        for _ in range(rounds):
            lock.acquire()
            lock.release()
        return (time.perf_counter() - start) * 1e6 / rounds

    return repeat(sizes, run)


def lock_acquire_release(sizes):
    with ctx.Manager() as manager:
        return time_lock(sizes, manager)


def queue_put_get(sizes):
    rounds = sizes["pingpong"]
    with ctx.Manager() as manager:
        q = manager.Queue()

        def run():
            start = time.perf_counter()
            for i in range(rounds):
                q.put(i)
                check(q.get() == i, "the queue lost an item")
            return (time.perf_counter() - start) * 1e6 / rounds

        return repeat(sizes, run)


class Counter:
    """The custom object: add returns the new total."""

    def __init__(self):
        self.total = 0

    def add(self, by):
        self.total += by
        return self.total


class CounterManager(BaseManager):
    pass


CounterManager.register("Counter", Counter)


def custom_call(sizes):
    rounds = sizes["pingpong"]
    with CounterManager(ctx=ctx) as manager:
        counter = manager.Counter()
        expected = [0]

        def run():
            start = time.perf_counter()
            for _ in range(rounds):
                expected[0] += 1
                check(counter.add(1) == expected[0], "the counter lost an increment")
            return (time.perf_counter() - start) * 1e6 / rounds

        return repeat(sizes, run)


def lock_acquire_release_tcp(sizes):
    manager = mp.managers.SyncManager(address=("127.0.0.1", 0), ctx=ctx)
    manager.start()
    try:
        return time_lock(sizes, manager)
    finally:
        manager.shutdown()


FIGURES = {
    "manager.dict_set_get": ("us", dict_set_get, False),
    "manager.list_append": ("ops/s", list_append, False),
    "manager.lock_acquire_release": ("us", lock_acquire_release, False),
    "manager.queue_put_get": ("us", queue_put_get, False),
    "manager.custom_call": ("us", custom_call, False),
    "manager.lock_acquire_release.tcp": ("us", lock_acquire_release_tcp, False),
}

if __name__ == "__main__":
    main(FIGURES)
