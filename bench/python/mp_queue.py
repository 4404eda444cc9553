"""Queue: small items P → C (items/s) and 1 MiB items 1 → 1 (bytes/s)."""

import multiprocessing as mp
import time

from mp_common import check, join_all, main, repeat

ctx = mp.get_context("fork")

MIB = 1 << 20


def produce(queue, barrier, count):
    barrier.wait()
    for item in range(count):
        queue.put(item)
    queue.put(None)  # one sentinel per producer; each consumer stops at the first it gets


def consume(queue, barrier, ends, tallies, index):
    barrier.wait()
    count = total = 0
    while True:
        item = queue.get()
        if item is None:
            break
        count += 1
        total += item
    ends[index] = time.monotonic_ns()
    tallies[2 * index] = count
    tallies[2 * index + 1] = total


def small(sizes, pairs):
    per_producer = sizes["queue_items"] // pairs

    def run():
        queue = ctx.Queue()
        barrier = ctx.Barrier(2 * pairs + 1)
        ends = ctx.RawArray("q", pairs)
        tallies = ctx.RawArray("q", 2 * pairs)
        procs = [ctx.Process(target=produce, args=(queue, barrier, per_producer)) for _ in range(pairs)]
        procs += [
            ctx.Process(target=consume, args=(queue, barrier, ends, tallies, i)) for i in range(pairs)
        ]
        for p in procs:
            p.start()
        barrier.wait()
        start = time.monotonic_ns()
        join_all(procs)
        got = sum(tallies[0::2])
        check(got == per_producer * pairs, f"got {got} items")
        check(sum(tallies[1::2]) == pairs * per_producer * (per_producer - 1) // 2, "wrong items")
        return got / ((max(ends) - start) / 1e9)

    return repeat(sizes, run)


def produce_big(queue, barrier, count):
    payload = b"\x07" * MIB
    barrier.wait()
    for _ in range(count):
        queue.put(payload)


def consume_big(queue, barrier, ends, count):
    barrier.wait()
    for _ in range(count):
        check(len(queue.get()) == MIB, "short item")
    ends[0] = time.monotonic_ns()


def big(sizes):
    count = sizes["queue_big_items"]

    def run():
        queue = ctx.Queue()
        barrier = ctx.Barrier(3)
        ends = ctx.RawArray("q", 1)
        procs = [
            ctx.Process(target=produce_big, args=(queue, barrier, count)),
            ctx.Process(target=consume_big, args=(queue, barrier, ends, count)),
        ]
        for p in procs:
            p.start()
        barrier.wait()
        start = time.monotonic_ns()
        join_all(procs)
        return count * MIB / ((ends[0] - start) / 1e9)

    return repeat(sizes, run)


FIGURES = {
    "queue.small.1to1": ("items/s", lambda s: small(s, 1), True),
    "queue.small.2to2": ("items/s", lambda s: small(s, 2), True),
    "queue.big.1m": ("B/s", big, True),
    "queue.big.1m.loan": ("B/s", big, True),
}

if __name__ == "__main__":
    main(FIGURES)
