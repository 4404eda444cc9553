"""Pipe: ping-pong of a 16-byte message (µs per round trip), and throughput (bytes/s)."""

import multiprocessing as mp
import time

from mp_common import check, join_all, main, repeat, total_runs

ctx = mp.get_context("fork")

MESSAGE = b"\x07" * 16


def echo(conn, rounds):
    for _ in range(rounds):
        conn.send(conn.recv())


def pingpong(sizes):
    here, there = ctx.Pipe()
    rounds = sizes["pingpong"]
    child = ctx.Process(target=echo, args=(there, rounds * total_runs(sizes)))
    child.start()
    there.close()  # a dead child then shows as EOF here instead of a hang

    def run():
        start = time.perf_counter()
        for _ in range(rounds):
            here.send(MESSAGE)
            back = here.recv()
        elapsed = time.perf_counter() - start
        check(back == MESSAGE, "the echo came back changed")
        return elapsed * 1e6 / rounds

    samples = repeat(sizes, run)
    join_all([child])
    return samples


def sink(conn, size, count, runs):
    for _ in range(runs):
        for _ in range(count):
            check(len(conn.recv_bytes()) == size, "short message")
        conn.send_bytes(b"k")


def throughput(sizes, size):
    count = max(sizes["pipe_bytes"] // size, 1)
    here, there = ctx.Pipe()
    child = ctx.Process(target=sink, args=(there, size, count, total_runs(sizes)))
    child.start()
    there.close()
    message = b"\x07" * size

    def run():
        start = time.perf_counter()
        for _ in range(count):
            here.send_bytes(message)
        here.recv_bytes()
        return count * size / (time.perf_counter() - start)

    samples = repeat(sizes, run)
    join_all([child])
    return samples


FIGURES = {
    "pipe.pingpong.pinned": ("us", pingpong, False),
    "pipe.pingpong.unpinned": ("us", pingpong, False),
    "pipe.throughput.64k": ("B/s", lambda s: throughput(s, 64 << 10), False),
    "pipe.throughput.1m": ("B/s", lambda s: throughput(s, 1 << 20), False),
}

if __name__ == "__main__":
    main(FIGURES)
