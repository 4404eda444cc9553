"""Event ping-pong between two processes: µs per round trip."""

import multiprocessing as mp
import time

from mp_common import PATIENCE, check, join_all, main, repeat, total_runs

ctx = mp.get_context("fork")


def pong(ping, pong_, rounds):
    for _ in range(rounds):
        check(ping.wait(PATIENCE), "no ping")
        ping.clear()
        pong_.set()


def pingpong(sizes):
    ping, pong_ = ctx.Event(), ctx.Event()
    rounds = sizes["pingpong"]
    child = ctx.Process(target=pong, args=(ping, pong_, rounds * total_runs(sizes)))
    child.start()

    def run():
        start = time.perf_counter()
        for _ in range(rounds):
            ping.set()
            check(pong_.wait(PATIENCE), "no pong")
            pong_.clear()
        return (time.perf_counter() - start) * 1e6 / rounds

    samples = repeat(sizes, run)
    join_all([child])
    return samples


FIGURES = {
    "event.pingpong.pinned": ("us", pingpong, False),
    "event.pingpong.unpinned": ("us", pingpong, False),
}

if __name__ == "__main__":
    main(FIGURES)
