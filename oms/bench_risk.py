"""`oms bench risk`: what the pre-trade checks cost, measured against the same
flow without them, in the same run.

The flow is `oms bench book`'s (`oms.flowgen`), on a venue of the same shape
whose ``[risk]`` tables turn every check on with limits generous enough that
the flow is not refused (`venue_config`); sells are marked short-exempt so
that the short-sale check runs too. Measured on fresh books, JIT warm:

* the per-command door, each call timed, with and without the checks (the
  difference of the medians is what the checks add per order);
* the batch door with and without the checks.

After timing, the event counts with and without the checks are compared and
the rejects counted, so that a gate refusing the flow cannot look fast.
"""
from __future__ import annotations

import json
import time

import numpy as np

from engine.batch import array_to_commands
from engine.config import parse_config
from engine.enums import OrderFlags
from engine.matching import MatchingEngine
from engine.refdata import ReferenceData

from . import flowgen
from .bench import best_of
from .machine import describe, machine_row, two_columns

INSTRUMENTS, ACCOUNTS = 4, 16


def venue_config(instruments: int = INSTRUMENTS, accounts: int = ACCOUNTS):
    """A venue like `flowgen.venue()` (tick 0.01, lot 1, no band) with every
    check on and generous limits."""
    mid = f"{flowgen.MID // 100}.{flowgen.MID % 100:02d}"
    lines = []
    for b in range(instruments):
        lines += [f"[instruments.I{b}]", 'tick_size = "0.01"', ""]
    for a in range(accounts):
        lines += [f"[accounts.A{a:02d}]", ""]
    lines += ["[risk]", "kill_switch = false", ""]
    for b in range(instruments):
        lines += [f"[risk.instruments.I{b}]", f'reference_price = "{mid}"',
                  'collar_percent = "50"', ""]
    lines += ["[risk.defaults]", "max_order_qty = 1000000", 'max_order_notional = "1000000000"',
              'credit_limit = "1000000000000"', "position_limit = 1000000000",
              "gross_position_limit = 10000000000", "max_open_orders = 1000000",
              "max_orders_per_second = 100000", "max_cancels_per_second = 100000",
              "daily_qty_limit = 1000000000000", 'daily_notional_limit = "1000000000000"',
              "allow_short = true", ""]
    return parse_config("\n".join(lines), "<oms bench risk venue>")


def bench_risk(orders: int = 1_000_000, seed: int = 1, progress=None) -> dict:
    from risk.gate import RiskGate
    say = progress or (lambda msg: None)
    config = venue_config()
    ref = ReferenceData.from_config(config)
    say(f"generating {orders:,} commands (seed {seed})")
    cmds = flowgen.generate(orders, seed=seed, instruments=INSTRUMENTS, accounts=ACCOUNTS)
    cmds["flags"][cmds["side"] == -1] |= int(OrderFlags.SHORT_EXEMPT)
    structs = array_to_commands(cmds)

    def plain():
        return MatchingEngine(ref.book_specs(), ref.account_specs())

    def gated():
        return RiskGate(config, ref=ref)

    plain(), gated()                                 # compile or load the kernels

    say("per-command door, without and with the checks")
    lat_plain, ev_plain, _ = _timed(plain(), structs)
    lat_risk, ev_risk, rejects = _timed(gated(), structs)

    say("batch door, without and with the checks")
    batch_plain = best_of(3, lambda book: book.run(cmds), setup=plain)[0]
    batch_risk = best_of(3, lambda book: book.run(cmds), setup=gated)[0]
    if ev_plain != ev_risk:
        raise AssertionError(f"the checks changed the flow: {ev_plain} events without, "
                             f"{ev_risk} with")
    p_plain = np.percentile(lat_plain, [50, 99])
    p_risk = np.percentile(lat_risk, [50, 99])
    return {
        "commands": len(cmds), "events": ev_risk, "risk_rejects": rejects, "seed": seed,
        "submit_p50_ns": float(p_plain[0]), "submit_p99_ns": float(p_plain[1]),
        "risk_submit_p50_ns": float(p_risk[0]), "risk_submit_p99_ns": float(p_risk[1]),
        "risk_added_p50_ns": float(p_risk[0] - p_plain[0]),
        "submit_cmds_per_s": len(cmds) / (lat_plain.sum() / 1e9),
        "risk_submit_cmds_per_s": len(cmds) / (lat_risk.sum() / 1e9),
        "batch_cmds_per_s": len(cmds) / batch_plain,
        "risk_batch_cmds_per_s": len(cmds) / batch_risk,
        "machine": describe(),
    }


def _timed(book, structs: list) -> tuple[np.ndarray, int, int]:
    """Each submit timed; (latencies ns, events, rejects)."""
    clock = time.perf_counter_ns
    submit = book.submit
    out = np.empty(len(structs), np.int64)
    events = rejects = 0
    for i, c in enumerate(structs):
        t0 = clock()
        evs = submit(c)
        out[i] = clock() - t0
        events += len(evs)
        rejects += sum(1 for e in evs if type(e).__name__ == "Rejected" and e.reason // 100 == 2)
    return out, events, rejects


def table(f: dict) -> str:
    m = f["machine"]
    rows = [
        ("flow", f"{f['commands']:,} commands, {f['events']:,} events, "
                 f"{f['risk_rejects']:,} risk rejects, seed {f['seed']}"),
        ("per-command door", f"p50 {f['submit_p50_ns'] / 1e3:.2f} us -> "
                             f"{f['risk_submit_p50_ns'] / 1e3:.2f} us with the checks "
                             f"(+{f['risk_added_p50_ns']:.0f} ns per order); p99 "
                             f"{f['submit_p99_ns'] / 1e3:.2f} -> "
                             f"{f['risk_submit_p99_ns'] / 1e3:.2f} us"),
        ("", f"{f['submit_cmds_per_s'] / 1e6:.2f} -> {f['risk_submit_cmds_per_s'] / 1e6:.2f} "
             f"M commands/s"),
        ("batch door", f"{f['batch_cmds_per_s'] / 1e6:.2f} -> "
                       f"{f['risk_batch_cmds_per_s'] / 1e6:.2f} M commands/s with the checks"),
        machine_row(m),
    ]
    return two_columns(rows)


def main(orders: int, as_json: bool, seed: int, progress) -> int:
    figures = bench_risk(orders, seed, progress)
    print(table(figures))
    if as_json:
        print(json.dumps(figures))
    return 0
