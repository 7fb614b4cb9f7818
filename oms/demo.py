"""`oms demo`: the engine on the built-in venue, in one screen.

Replays the bundled demo flow (`oms/data/demo_flow.csv`: crossing orders,
partial fills, a replace, IOC, FOK and market orders, self-trade prevention
between two desks of one firm, and a few bad lines), prints the trades and the
final book, then times a generated flow of a million commands through the
batch door.
"""
from __future__ import annotations

import sys
import time
from importlib import resources

from engine.config import load_config
from engine.matching import MatchingEngine
from engine.refdata import ReferenceData

from . import flowgen
from .replay import run_file, summary


def run_demo(orders: int) -> int:
    config = load_config()
    ref = ReferenceData.from_config(config)
    flow = resources.files("oms") / "data" / "demo_flow.csv"
    with resources.as_file(flow) as path:
        print(f"Replaying {flow.name} on the built-in venue "
              f"({', '.join(ref.symbols())})\n")
        print("Bad lines, reported and skipped:")
        result = run_file(str(path), ref, None, None, err=sys.stdout, config=config)
    print("\nTrades:")
    print(f"  {'id':>3} {'symbol':<7} {'price':>10} {'qty':>7} {'buy':>5} {'sell':>5}  aggressor")
    for trade_id, symbol, price, qty, buy, sell, aggressor in result.trades:
        print(f"  {trade_id:>3} {symbol:<7} {price:>10} {qty:>7} {buy:>5} {sell:>5}  {aggressor}")
    print("\nFinal book (resting orders, best first, in time priority):")
    print(f"  {'symbol':<7} {'side':<5} {'price':>10} {'order':>6} {'leaves':>7}")
    for symbol, side, price, order_id, leaves in result.resting:
        print(f"  {symbol:<7} {side:<5} {price:>10} {order_id:>6} {leaves:>7}")
    print(f"\n{summary(result)}")

    books, accounts = flowgen.venue()
    cmds = flowgen.generate(orders)
    engine = MatchingEngine(books, accounts)
    start = time.perf_counter()
    events = engine.run(cmds)
    seconds = time.perf_counter() - start
    print(f"\nThroughput: {len(cmds):,} generated commands ({events:,} events) through the "
          f"batch door in {seconds:.3f} s: {len(cmds) / seconds / 1e6:.2f} M commands/s")
    print("More: `oms bench book` measures both doors, latency and memory.")
    return 0
