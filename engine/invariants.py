"""Structural invariants of the numba book, checked by `MatchingEngine.check()`.

Plain Python over the engine's arrays, O(capacity): for tests. `check_engine`
raises AssertionError naming the broken invariant and where (instrument,
ladder, price, level slot, order slot). Checked:

* ladder: a book's 4 ladders (bids, asks, buy stops, sell stops) lie apart in
  the rungs array; a rung is NO_LEVEL or a level slot used nowhere else, on this
  ladder, at the rung's price; `count` and `best` (highest price for bids and
  sell stops, else lowest; 0 when empty) match the levels.
* range: level prices lie in lo_price..hi_price, fewer than MAX_SPAN apart.
* fifo: `head` along `next` reaches `tail` without a cycle, `prev` mirrors
  `next`, `count`/`qty`/`hidden` are the count and sums of its orders; not empty.
* order: `level` points back; instrument and side match the ladder; bids/asks
  hold LIMIT DAY/GTC orders at the level price, stop ladders STOP/STOP_LIMIT at
  their stop price, hiding nothing; shown > 0, hidden >= 0, cum >= 0, hidden
  only with a display, shown <= display.
* crossed: best bid < best ask.
* stops: with last_price > 0, buy stops wait above it, sell stops below it.
* counters: per book `n_resting`, `n_stops`, `ice` (sum of hidden // display
  over resting icebergs); C_LIVE = live orders.
* free lists (orders by `next`, levels by `head`): acyclic, of the length
  C_NFREE_ORDER / C_NFREE_LEVEL say, disjoint from live slots; live + free =
  capacity.
* ids: C_IDS = used entries, load <= 1/2, keys unique; each live order's id
  probes to its slot; an entry holding a slot holds a live order of that id,
  the others are DONE.
* trigger queue: empty between commands (C_TQ_HEAD == C_TQ_TAIL == -1).
"""
from __future__ import annotations

from types import SimpleNamespace

from .book_kernels import id_probe
from .layout import (BUY, C_FREE_LEVEL, C_FREE_ORDER, C_IDS, C_LIVE, C_NFREE_LEVEL,
                     C_NFREE_ORDER, C_TQ_HEAD, C_TQ_TAIL, DAY, GTC, ID_DONE, ID_EMPTY,
                     LADDERS_PER_BOOK, LIMIT, MAX_SPAN, NO_LEVEL, SELL, STOP, STOP_LIMIT)

LADDER_NAMES = ("bids", "asks", "buy stops", "sell stops")
LADDER_SIDE = (BUY, SELL, BUY, SELL)
LADDER_SIGN = (1, -1, -1, 1)


def _check(ok: bool, invariant: str, where: str, what: str) -> None:
    if not ok:
        raise AssertionError(f"invariant [{invariant}] broken at {where}: {what}")


def _columns(engine) -> SimpleNamespace:
    """The pools as Python lists per field: fast to index from Python."""
    return SimpleNamespace(
        o={f: engine.orders[f].tolist() for f in engine.orders.dtype.names},
        lv={f: engine.levels[f].tolist() for f in engine.levels.dtype.names},
        n_orders=len(engine.orders), n_levels=len(engine.levels))


def check_engine(engine) -> None:
    """Raise AssertionError if any invariant listed in the module docstring fails."""
    c = _columns(engine)
    live_orders: dict[int, str] = {}     # order slot -> where it was found
    live_levels: dict[int, str] = {}     # level slot -> where it was found
    _check_ladders_apart(engine)
    for b in range(len(engine.books)):
        counts = [_check_ladder(engine, c, b, k, live_levels, live_orders)
                  for k in range(LADDERS_PER_BOOK)]
        _check_touch(engine, b)
        _check_book_counters(engine, c, b, counts)
    _check(int(engine.ctr[C_LIVE]) == len(live_orders), "counters", "engine",
           f"C_LIVE {int(engine.ctr[C_LIVE])} != {len(live_orders)} live orders")
    _check_free_list(c.o["next"], int(engine.ctr[C_FREE_ORDER]),
                     int(engine.ctr[C_NFREE_ORDER]), live_orders, c.n_orders, "order")
    _check_free_list(c.lv["head"], int(engine.ctr[C_FREE_LEVEL]),
                     int(engine.ctr[C_NFREE_LEVEL]), live_levels, c.n_levels, "level")
    _check_id_table(engine, c, live_orders)
    head, tail = int(engine.ctr[C_TQ_HEAD]), int(engine.ctr[C_TQ_TAIL])
    _check(head == -1 and tail == -1, "trigger queue", "engine",
           f"not empty between commands: head {head} tail {tail}")


def _check_ladders_apart(engine) -> None:
    spans = sorted((int(lad["offset"]), int(lad["width"]), i)
                   for i, lad in enumerate(engine.ladders))
    end = 0
    for start, width, i in spans:
        _check(start >= end and width > 0, "ladder", f"ladder {i}",
               f"rungs {start}..{start + width} overlap another ladder or are empty")
        end = start + width
    _check(end <= len(engine.rungs), "ladder", "rungs",
           f"ladders reach rung {end} of {len(engine.rungs)}")


def _check_ladder(engine, c, b, k, live_levels, live_orders) -> tuple[int, int]:
    """Ladder and per-level checks; returns (orders on it, its ice term)."""
    lad = b * LADDERS_PER_BOOK + k
    where = f"instrument {b} {LADDER_NAMES[k]} (ladder {lad})"
    meta = engine.ladders[lad]
    start, width, base = int(meta["offset"]), int(meta["width"]), int(meta["base"])
    rungs = engine.rungs[start:start + width].tolist()
    lo, hi = int(engine.books[b]["lo_price"]), int(engine.books[b]["hi_price"])
    prices = []
    n_orders = ice = 0
    for i, lvl in enumerate(rungs):
        if lvl == NO_LEVEL:
            continue
        price = base + i
        at = f"{where} price {price}"
        _check(0 <= lvl < c.n_levels, "ladder", at, f"level slot {lvl} out of range")
        _check(lvl not in live_levels, "ladder", at,
               f"level slot {lvl} also used at {live_levels.get(lvl)}")
        live_levels[lvl] = at
        at = f"{at} level {lvl}"
        _check(c.lv["ladder"][lvl] == lad, "ladder", at,
               f"level's ladder {c.lv['ladder'][lvl]} != {lad}")
        _check(c.lv["price"][lvl] == price, "ladder", at,
               f"level price {c.lv['price'][lvl]} != rung price {price}")
        _check(lo <= price <= hi and hi - lo < MAX_SPAN, "range", at,
               f"outside the book's accepted range {lo}..{hi}")
        prices.append(price)
        cnt, lvl_ice = _check_fifo(c, b, k, lvl, at, live_orders)
        n_orders += cnt
        ice += lvl_ice
    _check(int(meta["count"]) == len(prices), "ladder", where,
           f"count {int(meta['count'])} != {len(prices)} levels")
    best = 0 if not prices else (max(prices) if LADDER_SIGN[k] > 0 else min(prices))
    _check(int(meta["best"]) == best, "ladder", where, f"best {int(meta['best'])} != {best}")
    return n_orders, ice


def _check_fifo(c, b, k, lvl, where, live_orders) -> tuple[int, int]:
    """The level's queue and each order in it; returns (count, ice term)."""
    o, lv = c.o, c.lv
    prev, slot, count, qty, hidden, ice = -1, lv["head"][lvl], 0, 0, 0, 0
    _check(slot != -1, "fifo", where, "empty level left on its ladder")
    while slot != -1:
        at = f"{where} order slot {slot}"
        _check(0 <= slot < c.n_orders, "fifo", at, "order slot out of range")
        _check(slot not in live_orders, "fifo", at,
               f"cycle or order also queued at {live_orders.get(slot)}")
        live_orders[slot] = at
        _check(o["prev"][slot] == prev, "fifo", at, f"prev {o['prev'][slot]} != {prev}")
        _check_order(c, b, k, lvl, slot, at)
        count += 1
        qty += o["qty"][slot]
        hidden += o["hidden"][slot]
        if k < 2 and o["display"][slot] > 0:
            ice += o["hidden"][slot] // o["display"][slot]
        prev, slot = slot, o["next"][slot]
    _check(lv["tail"][lvl] == prev, "fifo", where, f"tail {lv['tail'][lvl]} != last {prev}")
    _check(lv["count"][lvl] == count, "fifo", where, f"count {lv['count'][lvl]} != {count}")
    _check(lv["qty"][lvl] == qty, "fifo", where, f"level qty {lv['qty'][lvl]} != sum {qty}")
    _check(lv["hidden"][lvl] == hidden, "fifo", where,
           f"level hidden {lv['hidden'][lvl]} != sum {hidden}")
    return count, ice


def _check_order(c, b, k, lvl, slot, where) -> None:
    o = c.o
    _check(o["level"][slot] == lvl, "order", where, f"level field {o['level'][slot]} != {lvl}")
    _check(o["instrument"][slot] == b, "order", where, f"instrument {o['instrument'][slot]}")
    _check(o["side"][slot] == LADDER_SIDE[k], "order", where, f"side {o['side'][slot]}")
    shown, hidden, display = o["qty"][slot], o["hidden"][slot], o["display"][slot]
    _check(shown > 0, "order", where, f"shown qty {shown} not > 0")
    _check(hidden >= 0 and o["cum"][slot] >= 0, "order", where,
           f"hidden {hidden} or cum {o['cum'][slot]} negative")
    _check(hidden == 0 or display > 0, "order", where, f"hidden {hidden} without display")
    _check(display <= 0 or shown <= display, "order", where,
           f"shown {shown} above display {display}")
    level_price = c.lv["price"][lvl]
    if k < 2:
        _check(o["ord_type"][slot] == LIMIT and o["tif"][slot] in (DAY, GTC), "order", where,
               f"resting ord_type {o['ord_type'][slot]} tif {o['tif'][slot]}")
        _check(o["price"][slot] == level_price, "order", where,
               f"price {o['price'][slot]} != level price {level_price}")
    else:
        _check(o["ord_type"][slot] in (STOP, STOP_LIMIT) and hidden == 0, "order", where,
               f"stop list holds ord_type {o['ord_type'][slot]} hidden {hidden}")
        _check(o["stop_price"][slot] == level_price, "order", where,
               f"stop_price {o['stop_price'][slot]} != level price {level_price}")


def _check_touch(engine, b) -> None:
    """Not crossed; untriggered stops on the far side of the last price."""
    bid, ask, buy, sell = (int(lad["best"]) if lad["count"] else None for lad in
                           engine.ladders[b * LADDERS_PER_BOOK:(b + 1) * LADDERS_PER_BOOK])
    _check(bid is None or ask is None or bid < ask, "crossed", f"instrument {b}",
           f"best bid {bid} >= best ask {ask}")
    last = int(engine.books[b]["last_price"])
    _check(last <= 0 or buy is None or buy > last, "stops", f"instrument {b} buy stops",
           f"untriggered stop price {buy} <= last price {last}")      # lowest buy stop
    _check(last <= 0 or sell is None or sell < last, "stops", f"instrument {b} sell stops",
           f"untriggered stop price {sell} >= last price {last}")    # highest sell stop


def _check_book_counters(engine, c, b, counts) -> None:
    book = engine.books[b]
    for name, want in (("n_resting", counts[0][0] + counts[1][0]),
                       ("n_stops", counts[2][0] + counts[3][0]),
                       ("ice", counts[0][1] + counts[1][1])):
        _check(int(book[name]) == want, "counters", f"instrument {b}",
               f"{name} {int(book[name])} != recomputed {want}")


def _check_free_list(links, head, n_free, live, capacity, what) -> None:
    where = f"{what} free list"
    seen = set()
    slot = head if n_free > 0 else -1
    while slot != -1:
        _check(0 <= slot < capacity, "free lists", where, f"slot {slot} out of range")
        _check(slot not in seen, "free lists", where, f"cycle at slot {slot}")
        _check(slot not in live, "free lists", where, f"slot {slot} is live at {live.get(slot)}")
        seen.add(slot)
        slot = links[slot]
    _check(len(seen) == n_free, "free lists", where,
           f"{len(seen)} slots reachable, counter says {n_free}")
    _check(len(live) + n_free == capacity, "free lists", where,
           f"live {len(live)} + free {n_free} != capacity {capacity}")


def _check_id_table(engine, c, live_orders) -> None:
    keys = engine.ids["key"].tolist()
    slots = engine.ids["slot"].tolist()
    size = len(keys)
    used = {}
    for i, (key, slot) in enumerate(zip(keys, slots)):
        if slot == ID_EMPTY:
            continue
        at = f"id table entry {i} (id {key})"
        _check(key not in used, "ids", at, f"id also at entry {used.get(key)}")
        used[key] = i
        _check(slot <= ID_DONE or slot in live_orders, "ids", at,
               f"slot {slot} is neither DONE nor a live order")
        _check(slot <= ID_DONE or c.o["order_id"][slot] == key, "ids", at,
               f"slot {slot} holds order id {c.o['order_id'][slot] if slot >= 0 else None}")
    _check(size & (size - 1) == 0, "ids", "id table", f"size {size} not a power of two")
    _check(int(engine.ctr[C_IDS]) == len(used), "ids", "id table",
           f"C_IDS {int(engine.ctr[C_IDS])} != {len(used)} used entries")
    _check(2 * len(used) <= size, "ids", "id table", f"load {len(used)}/{size} above 1/2")
    for slot, where in live_orders.items():
        oid = c.o["order_id"][slot]
        i = int(id_probe(engine.ids, oid))
        _check(slots[i] == slot, "ids", f"{where} (id {oid})",
               f"probe finds entry {i} with slot {slots[i]}")

