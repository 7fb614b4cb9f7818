"""Synthetic LOBSTER pairs: what the tests and benchmarks replay, because
LOBSTER's own samples may not be shipped with the project.

`generate` runs a small true market (every order with its id, FIFO at each
price) and writes what a level-N LOBSTER file would hold: only the events
that touch the best `depth` levels of their side at that moment, and after
each one the true best `depth` levels. So the files carry LOBSTER's quirks:
volume resting before the first message, cancels and executions of ids never
submitted in the file, levels moving in from beyond the depth with a size
only the orderbook row tells, hidden executions (type 5) that change nothing
visible, and aggressive orders that fill several resting orders under one
timestamp.

`naive_check` is the independent judge of the expected counts: a price-level
book replayed the way LOBSTER's README describes (seed from row 0 with
message 0 undone; take revealed levels from the row; forget levels that left
a full window), with Python dicts, nothing shared with `oms.lobster`.
"""
from __future__ import annotations

import gzip
import random
from dataclasses import dataclass
from pathlib import Path

PAD = 9_999_999_999
TICK = 100                       # one cent in LOBSTER's price unit ($0.0001)


@dataclass
class SynthPair:
    messages: list[tuple]        # (ts_ns, type, order_id, size, price, direction)
    rows: list[list[int]]        # 4 x depth integers per message
    depth: int

    def message_text(self) -> str:
        return "".join(f"{ts // 10**9}.{ts % 10**9:09d},{typ},{oid},{size},{price},{d}\n"
                       for ts, typ, oid, size, price, d in self.messages)

    def orderbook_text(self) -> str:
        return "".join(",".join(map(str, row)) + "\n" for row in self.rows)

    def write(self, folder: Path, name: str = "SYNTH", gz: bool = True) -> tuple[Path, Path]:
        """Write the pair with LOBSTER's file names; returns (message, orderbook)."""
        suffix = ".csv.gz" if gz else ".csv"
        stem = f"{name}_2012-06-21_34200000_57600000"
        paths = (folder / f"{stem}_message_{self.depth}{suffix}",
                 folder / f"{stem}_orderbook_{self.depth}{suffix}")
        for path, text in zip(paths, (self.message_text(), self.orderbook_text())):
            data = text.encode()
            path.write_bytes(gzip.compress(data, 1, mtime=0) if gz else data)
        return paths


class _Market:
    """The true book: every order, FIFO per price; side +1 bids, -1 asks."""

    def __init__(self, rng: random.Random, depth: int):
        self.rng, self.depth = rng, depth
        self.orders: dict[int, list] = {}          # id -> [side, price, qty]
        self.levels = {1: {}, -1: {}}               # side -> price -> [ids]
        self.next_id = 1_000

    def add(self, side: int, price: int, qty: int) -> int:
        oid = self.next_id
        self.next_id += self.rng.randint(1, 7)
        self.orders[oid] = [side, price, qty]
        self.levels[side].setdefault(price, []).append(oid)
        return oid

    def remove(self, oid: int, qty: int) -> None:
        side, price, left = self.orders[oid]
        if qty >= left:
            del self.orders[oid]
            queue = self.levels[side][price]
            queue.remove(oid)
            if not queue:
                del self.levels[side][price]
        else:
            self.orders[oid][2] = left - qty

    def count(self, side: int) -> int:
        """Orders resting on the side."""
        return sum(len(q) for q in self.levels[side].values())

    def prices(self, side: int) -> list[int]:
        """Occupied prices, best first."""
        return sorted(self.levels[side], reverse=side == 1)

    def rank(self, side: int, price: int) -> int:
        """0-based rank of `price` among the side's levels (as if it were there)."""
        return sum(1 for p in self.levels[side] if (p - price) * side > 0)

    def visible(self, side: int, price: int) -> bool:
        return self.rank(side, price) < self.depth

    def row(self) -> list[int]:
        out = []
        asks, bids = self.prices(-1), self.prices(1)
        for level in range(self.depth):
            for side, prices, pad in ((-1, asks, PAD), (1, bids, -PAD)):
                if level < len(prices):
                    p = prices[level]
                    out += [p, sum(self.orders[o][2] for o in self.levels[side][p])]
                else:
                    out += [pad, 0]
        return out


def generate(n: int, depth: int = 1, seed: int = 0, *, max_levels: int | None = None,
             hidden: float = 0.05) -> SynthPair:
    """A synthetic pair of about `n` messages at `depth` levels.

    `max_levels` caps the levels per side of the true book (None: about
    depth + 6); with max_levels <= depth every event is visible and every
    resting order's queue position is known to the file, so --match runs
    must all agree. `hidden` is the chance of a type-5 execution per step.
    """
    rng = random.Random(seed)
    m = _Market(rng, depth)
    cap = max_levels or depth + 6
    mid = 1_000_000 // TICK * TICK
    for side in (1, -1):                         # the book before the file starts
        for k in range(min(cap, depth + 3)):
            for _ in range(rng.randint(1, 3)):
                m.add(side, mid - side * TICK * (k + 1), rng.choice((100, 200, 300, 50)))
    messages, rows = [], []
    ts = 34_200 * 10**9 + rng.randint(0, 10**6)

    def write(typ, oid, size, price, side):
        messages.append((ts, typ, oid, size, price, side))
        rows.append(m.row())

    while len(messages) < n:
        ts += rng.choice((0, 0, 1, 7, 1_000, 250_000, 3_000_000))
        r = rng.random()
        side = rng.choice((1, -1))
        prices = m.prices(side)
        if r < 0.45 or not prices or len(m.orders) < 8:
            best_own = prices[0] if prices else mid - side * TICK
            opp = m.prices(-side)
            offset = rng.choice((0, 0, 1, 1, 2, 3, depth, depth + 1, depth + 3, -1))
            price = best_own - side * TICK * offset
            if opp and (price - opp[0]) * side >= 0:     # never cross
                price = opp[0] - side * TICK
            if price <= 0 or (len(prices) >= cap and price not in m.levels[side]):
                continue
            size = rng.choice((100, 100, 200, 10, 1, 500, 37))
            oid = m.add(side, price, size)
            if m.visible(side, price):
                write(1, oid, size, price, side)
        elif r < 0.75:
            oid = rng.choice(list(m.orders))
            s, price, left = m.orders[oid]
            if m.count(s) < 2:                           # keep both sides non-empty
                continue
            seen = m.visible(s, price)
            if rng.random() < 0.25 and left > 1:
                size = rng.randint(1, left - 1)
                m.remove(oid, size)
                if seen:
                    write(2, oid, size, price, s)
            else:
                m.remove(oid, left)
                if seen:
                    write(3, oid, left, price, s)
        elif r < 1 - hidden:
            # an aggressive order of side -s sweeps the s side's best levels
            s = side
            want = rng.choice((50, 100, 300, 700, 1_500))
            while want > 0 and m.count(s) > 1:
                price = m.prices(s)[0]
                oid = m.levels[s][price][0]
                qty = min(want, m.orders[oid][2])
                m.remove(oid, qty)
                want -= qty
                write(4, oid, qty, price, s)
                if rng.random() < hidden:
                    write(5, 0, rng.randint(1, 100), price, s)
        else:
            best = m.prices(side)
            if best:
                write(5, 0, rng.randint(1, 300), best[0], side)
    return SynthPair(messages[:n], rows[:n], depth)


def naive_check(messages: list[tuple], rows: list[list[int]], depth: int) -> dict:
    """Expected exact / revealed / mismatch counts: a level book replayed the
    way LOBSTER's README describes (see the module docstring)."""
    counts = {"exact": 0, "revealed": 0, "mismatch": 0}
    book = None
    for (_, typ, _, size, price, side), row in zip(messages, rows):
        want = {s: _visible(row, s) for s in (1, -1)}
        if book is None:
            book = {s: dict(want[s]) for s in (1, -1)}
            _change(book[side], typ, -size, price)
        _change(book[side], typ, size, price)
        status = "exact"
        for s in (1, -1):
            have = sorted(book[s].items(), key=lambda pq: -s * pq[0])[:depth]
            if have != want[s]:
                if len(have) < len(want[s]) and want[s][:len(have)] == have:
                    book[s].update(want[s][len(have):])
                    status = "revealed" if status == "exact" else status
                else:
                    status = "mismatch"
            if len(want[s]) == depth:
                edge = want[s][-1][0]
                for p in [p for p in book[s] if (p - edge) * s < 0]:
                    del book[s][p]
        counts[status] += 1
    return counts


def _visible(row: list[int], side: int) -> list[tuple[int, int]]:
    off = 2 if side == 1 else 0
    return [(row[i + off], row[i + off + 1]) for i in range(0, len(row), 4)
            if abs(row[i + off]) != PAD and row[i + off + 1] > 0]


def _change(level: dict, typ: int, size: int, price: int) -> None:
    delta = {1: size, 2: -size, 3: -size, 4: -size}.get(typ, 0)
    level[price] = level.get(price, 0) + delta
    if level[price] <= 0:
        del level[price]
