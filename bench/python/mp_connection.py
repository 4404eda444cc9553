"""Connection: multiprocessing.connection Listener/Client over TCP loopback and a Unix socket
(abstract name); ping-pong of a 16-byte message (µs per round trip), and throughput (bytes/s).
Raw messages (send_bytes/recv_bytes) on both sides, as on the mproc side."""

import multiprocessing as mp
import os
import time
from multiprocessing.connection import Client, Listener

from mp_common import PATIENCE, check, join_all, main, repeat, total_runs

ctx = mp.get_context("fork")

MESSAGE = b"\x07" * 16
AUTHKEY = os.urandom(32)


def listen(family):
    if family == "tcp":
        return Listener(("127.0.0.1", 0), authkey=AUTHKEY)
    return Listener("\0mproc-bench-connection-py-%d" % os.getpid(), authkey=AUTHKEY)


def start(listener, target, *args):
    child = ctx.Process(target=target, args=(listener.address, *args))
    child.start()
    listener._listener._socket.settimeout(PATIENCE)  # a child that never connects fails
    conn = listener.accept()
    return child, conn


def echo(address, rounds):
    conn = Client(address, authkey=AUTHKEY)
    for _ in range(rounds):
        conn.send_bytes(conn.recv_bytes())


def pingpong(sizes, family):
    listener = listen(family)
    rounds = sizes["pingpong"]
    child, conn = start(listener, echo, rounds * total_runs(sizes))

    def run():
        start_time = time.perf_counter()
        for _ in range(rounds):
            conn.send_bytes(MESSAGE)
            back = conn.recv_bytes()
        elapsed = time.perf_counter() - start_time
        check(back == MESSAGE, "the echo came back changed")
        return elapsed * 1e6 / rounds

    samples = repeat(sizes, run)
    join_all([child])
    listener.close()
    return samples


def sink(address, size, count, runs):
    conn = Client(address, authkey=AUTHKEY)
    for _ in range(runs):
        for _ in range(count):
            check(len(conn.recv_bytes()) == size, "short message")
        conn.send_bytes(b"k")


def throughput(sizes, family, size):
    count = max(sizes["pipe_bytes"] // size, 1)
    listener = listen(family)
    child, conn = start(listener, sink, size, count, total_runs(sizes))
    message = b"\x07" * size

    def run():
        start_time = time.perf_counter()
        for _ in range(count):
            conn.send_bytes(message)
        conn.recv_bytes()
        return count * size / (time.perf_counter() - start_time)

    samples = repeat(sizes, run)
    join_all([child])
    listener.close()
    return samples


def connector(address, count):
    for _ in range(count):
        Client(address, authkey=AUTHKEY).close()


def handshake(sizes, family):
    per_run = max(sizes["pingpong"] // 10, 1)
    listener = listen(family)
    child = ctx.Process(target=connector, args=(listener.address, per_run * total_runs(sizes)))
    child.start()
    listener._listener._socket.settimeout(PATIENCE)

    def run():
        start_time = time.perf_counter()
        for _ in range(per_run):
            listener.accept().close()
        return (time.perf_counter() - start_time) * 1e6 / per_run

    samples = repeat(sizes, run)
    join_all([child])
    listener.close()
    return samples


FIGURES = {
    "connection.pingpong.tcp": ("us", lambda s: pingpong(s, "tcp"), False),
    "connection.pingpong.unix": ("us", lambda s: pingpong(s, "unix"), False),
    "connection.throughput.tcp.64k": ("B/s", lambda s: throughput(s, "tcp", 64 << 10), False),
    "connection.throughput.tcp.1m": ("B/s", lambda s: throughput(s, "tcp", 1 << 20), False),
    "connection.throughput.unix.64k": ("B/s", lambda s: throughput(s, "unix", 64 << 10), False),
    "connection.throughput.unix.1m": ("B/s", lambda s: throughput(s, "unix", 1 << 20), False),
    "connection.handshake.tcp": ("us", lambda s: handshake(s, "tcp"), False),
    "connection.handshake.unix": ("us", lambda s: handshake(s, "unix"), False),
}

if __name__ == "__main__":
    main(FIGURES)
