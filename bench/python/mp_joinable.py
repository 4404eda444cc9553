"""JoinableQueue: put N items and join() while a consumer calls task_done() (items/s)."""

import multiprocessing as mp
import time

from mp_common import join_all, main, repeat, total_runs

ctx = mp.get_context("fork")


def consume(queue, count):
    for _ in range(count):
        queue.get()
        queue.task_done()


def throughput(sizes):
    items = sizes["joinable_items"]
    queue = ctx.JoinableQueue()
    child = ctx.Process(target=consume, args=(queue, items * total_runs(sizes)))
    child.start()

    def run():
        start = time.perf_counter()
        for item in range(items):
            queue.put(item)
        queue.join()
        return items / (time.perf_counter() - start)

    samples = repeat(sizes, run)
    join_all([child])
    return samples


FIGURES = {
    "joinable.throughput": ("items/s", throughput, True),
}

if __name__ == "__main__":
    main(FIGURES)
