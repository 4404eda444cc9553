"""Helpers shared by the Python side of the mproc benchmark (standard library only).

Each script is run by the benchmark runner as

    python3 -B mp_<workload>.py <figure-id> <sizes-json>

measures that one figure and prints one JSON line on stdout:

    {"figure": "...", "unit": "us", "samples": [...], "rss_parent_kib": ..., "rss_worker_kib": ...}

`samples` holds one value per measured run (warm-up runs are done first and dropped). The
sizes are the same JSON the Rust sides receive (see bench/src/config.rs), so both languages do
the same amount of work. Anything that goes wrong raises, which exits non-zero with a
traceback: the runner reports the figure as failed.
"""

import json
import os
import resource
import sys

# How long any single wait may block before the script gives up (seconds).
PATIENCE = 120


def repeat(sizes, run):
    """Calls run() for the warm-up runs (dropped), then for the measured runs."""
    for _ in range(sizes["warmup"]):
        run()
    return [run() for _ in range(sizes["runs"])]


def total_runs(sizes):
    """Warm-up plus measured runs: what a child living through every run must serve."""
    return sizes["warmup"] + sizes["runs"]


def join_all(processes):
    """Joins every process, failing if one does not end in time or ends badly."""
    for p in processes:
        p.join(PATIENCE)
        if p.exitcode is None:
            p.kill()
            p.join()
            raise RuntimeError(f"{p.name} did not finish within {PATIENCE} s")
        if p.exitcode != 0:
            raise RuntimeError(f"{p.name} ended with exit code {p.exitcode}")


def check(condition, message):
    """Raises with message unless condition holds (assert would vanish under -O)."""
    if not condition:
        raise RuntimeError(message)


def main(figures):
    """Measures the figure named on the command line.

    figures maps a figure id to (unit, function(sizes) -> samples, reports_memory).
    """
    figure, sizes = sys.argv[1], json.loads(sys.argv[2])
    if figure not in figures:
        raise SystemExit(f"unknown figure {figure}")
    unit, measure, memory = figures[figure]
    if sizes.get("pinned"):
        os.sched_setaffinity(0, {0})  # like taskset -c 0; children inherit it
    samples = measure(sizes)
    line = {"figure": figure, "unit": unit, "samples": samples}
    if memory:
        # Linux reports ru_maxrss in KiB. RUSAGE_CHILDREN: the largest child waited for.
        line["rss_parent_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        worker = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        if worker > 0:
            line["rss_worker_kib"] = worker
    print(json.dumps(line), flush=True)
