"""`oms bench book`: the book's speed on a seeded realistic flow, measured against
the reference book on the same flow, in the same run.

Measured, in this order, each on a fresh engine:

* the batch door (`MatchingEngine.run`) over the whole flow;
* the per-command door (`submit`), once for throughput and once timing every
  call (percentiles include the ~40 ns of reading the clock);
* the reference book (`engine.reference`), the plain-Python twin;
* memory per resting order and throughput with a deep book: the same flow
  after one million resting orders were added.

The JIT is warm before any timing (kernels are compiled when an engine is
built). After timing, the event counts of the three doors are compared, so a
fast wrong answer cannot pass for a result.
"""
from __future__ import annotations

import json
import time

import numpy as np

from engine.batch import array_to_commands
from engine.matching import MatchingEngine
from engine.reference import ReferenceEngine

from . import flowgen
from .machine import describe, machine_row, two_columns


def best_of(runs: int, fn, setup=None):
    """(fastest seconds, last result) of `runs` calls of `fn()`, or of
    `fn(setup())` with the untimed `setup` made fresh for each run."""
    best, result = float("inf"), None
    for _ in range(runs):
        arg = setup() if setup is not None else None
        start = time.perf_counter()
        result = fn() if setup is None else fn(arg)
        best = min(best, time.perf_counter() - start)
    return best, result


def bench_book(orders: int = 1_000_000, deep: int = 1_000_000, seed: int = 1,
               reference_limit: int | None = None, progress=None) -> dict:
    """Run the measurements; returns the figures (see `oms bench book --json`)."""
    say = progress or (lambda msg: None)
    books, accounts = flowgen.venue()
    say(f"generating {orders:,} commands (seed {seed})")
    cmds = flowgen.generate(orders, seed=seed)
    structs = array_to_commands(cmds)

    say("batch door")
    counter = _EventCounter()

    def batch():
        engine = MatchingEngine(books, accounts)
        counter.reset()
        return engine.run(cmds, counter)
    MatchingEngine(books, accounts)                   # compile or load the kernels
    batch_s, batch_events = best_of(3, batch)

    say("per-command door")
    engine = MatchingEngine(books, accounts)
    submit = engine.submit
    start = time.perf_counter()
    submit_events = sum(len(submit(c)) for c in structs)
    submit_s = time.perf_counter() - start

    engine = MatchingEngine(books, accounts)
    latencies = _timed_submits(engine, structs)

    n_ref = len(structs) if reference_limit is None else min(reference_limit, len(structs))
    say(f"reference book ({n_ref:,} commands)")
    ref = ReferenceEngine(books, accounts)
    start = time.perf_counter()
    ref_events = sum(len(ref.submit(c)) for c in structs[:n_ref])
    ref_s = time.perf_counter() - start

    if submit_events != batch_events or (n_ref == len(structs) and ref_events != batch_events):
        raise AssertionError(f"the doors disagree: batch {batch_events} events, submit "
                             f"{submit_events}, reference {ref_events}")

    say(f"deep book ({deep:,} resting orders)")
    deep_figures = _deep_book(books, accounts, cmds, deep)

    p = np.percentile(latencies, [50, 99, 99.9])
    figures = {
        "commands": len(cmds),
        "events": int(batch_events),
        "batch_cmds_per_s": len(cmds) / batch_s,
        "submit_cmds_per_s": len(cmds) / submit_s,
        "reference_cmds_per_s": n_ref / ref_s,
        "reference_commands": n_ref,
        "submit_p50_ns": float(p[0]),
        "submit_p99_ns": float(p[1]),
        "submit_p999_ns": float(p[2]),
        "submit_max_ns": float(latencies.max()),
        **deep_figures,
        "seed": seed,
        "machine": describe(),
    }
    figures["batch_vs_reference"] = figures["batch_cmds_per_s"] / figures["reference_cmds_per_s"]
    figures["submit_vs_reference"] = (figures["submit_cmds_per_s"]
                                      / figures["reference_cmds_per_s"])
    return figures


class _EventCounter:
    """The batch door's consumer in the benchmark: counts rows, keeps nothing."""

    def __init__(self):
        self.events = 0

    def reset(self):
        self.events = 0

    def __call__(self, first, end, rows, first_row):
        self.events += len(rows)


def _timed_submits(engine: MatchingEngine, structs: list) -> np.ndarray:
    clock = time.perf_counter_ns
    submit = engine.submit
    out = np.empty(len(structs), np.int64)
    for i, c in enumerate(structs):
        t0 = clock()
        submit(c)
        out[i] = clock() - t0
    return out


def _deep_book(books, accounts, cmds: np.ndarray, deep: int) -> dict:
    """Memory per resting order, and the flow's speed on top of `deep` resting orders."""
    engine = MatchingEngine(books, accounts)
    before = engine.memory_bytes()
    engine.run(flowgen.resting_book(deep))
    resting = engine.live_orders()
    per_order = (engine.memory_bytes() - before) / max(resting, 1)
    start = time.perf_counter()
    engine.run(cmds)
    seconds = time.perf_counter() - start
    return {"resting_orders": resting, "bytes_per_resting_order": per_order,
            "deep_batch_cmds_per_s": len(cmds) / seconds}


def table(f: dict) -> str:
    """The figures as a plain-text table."""
    m = f["machine"]
    rows = [
        ("flow", f"{f['commands']:,} commands, {f['events']:,} events, seed {f['seed']}"),
        ("batch door", f"{f['batch_cmds_per_s'] / 1e6:,.2f} M commands/s "
                       f"({f['batch_vs_reference']:,.0f}x reference)"),
        ("per-command door", f"{f['submit_cmds_per_s'] / 1e6:,.2f} M commands/s "
                             f"({f['submit_vs_reference']:,.0f}x reference)"),
        ("  latency", f"p50 {f['submit_p50_ns'] / 1e3:.2f} us, p99 "
                      f"{f['submit_p99_ns'] / 1e3:.2f} us, p99.9 "
                      f"{f['submit_p999_ns'] / 1e3:.2f} us, max {f['submit_max_ns'] / 1e3:.0f} us"),
        ("reference book", f"{f['reference_cmds_per_s'] / 1e3:,.1f} k commands/s "
                           f"({f['reference_commands']:,} commands)"),
        ("deep book", f"{f['resting_orders']:,} resting: {f['bytes_per_resting_order']:.0f} "
                      f"bytes/order, batch {f['deep_batch_cmds_per_s'] / 1e6:,.2f} M commands/s"),
        machine_row(m),
    ]
    return two_columns(rows)


def main(orders: int, deep: int, as_json: bool, seed: int, reference_limit: int | None,
         progress) -> int:
    figures = bench_book(orders, deep, seed, reference_limit, progress)
    print(table(figures))
    if as_json:
        print(json.dumps(figures))
    return 0
