"""Spawn + join with each start method: ms per process (see mp_common for the protocol)."""

import multiprocessing as mp
import time

from mp_common import main, repeat


def nothing():
    """The child's work."""


def per_process_ms(sizes, method, count):
    ctx = mp.get_context(method)

    def run():
        start = time.perf_counter()
        for _ in range(count):
            p = ctx.Process(target=nothing)
            p.start()
            p.join()
            if p.exitcode != 0:
                raise RuntimeError(f"child exited with {p.exitcode}")
        return (time.perf_counter() - start) * 1e3 / count

    return repeat(sizes, run)


FIGURES = {
    "spawn.fork": ("ms", lambda s: per_process_ms(s, "fork", s["spawn_fork"]), False),
    "spawn.spawn": ("ms", lambda s: per_process_ms(s, "spawn", s["spawn_exec"]), False),
    # The forkserver itself starts during the first (warm-up) run.
    "spawn.forkserver": ("ms", lambda s: per_process_ms(s, "forkserver", s["spawn_exec"]), False),
}

if __name__ == "__main__":
    main(FIGURES)
