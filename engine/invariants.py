"""Structural invariants of the numba book, checked by `MatchingEngine.check()`.

Plain Python over the engine's numpy arrays (O(capacity), for tests).
`check_engine` raises AssertionError naming the broken invariant and where it
broke (instrument, vector, position, level slot, order slot). Checked:

* ladder: each of the 4 price ladders of a book (bids, asks, buy stops, sell
  stops) has its rungs inside the rungs array, apart from every other ladder's;
  every rung is NO_LEVEL or a level slot used nowhere else whose `ladder` is
  this one and whose price is the rung's price; `count` is the number of
  levels and `best` the best of their prices (highest for bids and sell stops,
  lowest otherwise; 0 when empty).
* range: every level price lies in the book's lo_price..hi_price, fewer than
  MAX_SPAN ticks apart.
* fifo: a level's queue from `head` along `next` ends at `tail` without a cycle,
  `prev` mirrors `next`, `count` is its length, level `qty` / `hidden` are the
  sums over its orders, and the level is not empty.
* order: every queued order's `level` points back to its level; instrument and
  side agree with the ladder; bids/asks hold LIMIT DAY/GTC orders whose price is
  the level's, stop lists STOP/STOP_LIMIT orders whose stop_price is the
  level's; shown qty > 0, hidden >= 0, hidden > 0 only with display > 0, shown
  <= display for icebergs, stops hide nothing, cum >= 0.
* crossed: best bid < best ask.
* stops: with last_price > 0, untriggered buy stops have stop price > last_price
  and sell stops < last_price.
* counters: per book `n_resting`, `n_stops`, `ice` (sum of hidden // display over
  resting icebergs); engine-wide C_LIVE = live orders.
* free lists: orders (linked by `next`) and levels (linked by `head`) are
  acyclic, as long as C_NFREE_ORDER / C_NFREE_LEVEL say, disjoint from the live
  slots, and live + free = capacity.
* ids: C_IDS = non-empty entries, load factor <= 1/2, keys unique, every live
  order's id is found (by the engine's own probe) mapping to its slot, every
  entry mapping to a slot maps to a live order with that id, the others are DONE.
* trigger queue: empty between commands (C_TQ_HEAD == C_TQ_TAIL == -1).
"""
from __future__ import annotations

from .book_kernels import id_probe
from .layout import (BUY, C_FREE_LEVEL, C_FREE_ORDER, C_IDS, C_LIVE, C_NFREE_LEVEL,
                     C_NFREE_ORDER, C_TQ_HEAD, C_TQ_TAIL, DAY, GTC, ID_DONE, ID_EMPTY,
                     LADDERS_PER_BOOK, LIMIT, MAX_SPAN, NO_LEVEL, SELL, STOP, STOP_LIMIT)

LADDER_NAMES = ("bids", "asks", "buy stops", "sell stops")
LADDER_SIDE = (BUY, SELL, BUY, SELL)
LADDER_SIGN = (1, -1, -1, 1)


def _fail(invariant: str, where: str, what: str) -> None:
    raise AssertionError(f"invariant [{invariant}] broken at {where}: {what}")


def _check(ok: bool, invariant: str, where: str, what: str) -> None:
    if not ok:
        _fail(invariant, where, what)


class _Cols:
    """The engine's arrays as Python lists per field: fast to index from Python."""

    def __init__(self, engine):
        self.o = {f: engine.orders[f].tolist() for f in engine.orders.dtype.names}
        self.lv = {f: engine.levels[f].tolist() for f in engine.levels.dtype.names}
        self.n_orders = len(engine.orders)
        self.n_levels = len(engine.levels)


def check_engine(engine) -> None:
    """Raise AssertionError if any invariant listed in the module docstring fails."""
    c = _Cols(engine)
    live_orders: dict[int, str] = {}     # order slot -> where it was found
    live_levels: dict[int, str] = {}     # level slot -> where it was found
    _check_ladders_apart(engine)
    for b in range(len(engine.books)):
        counts = [_check_ladder(engine, c, b, k, live_levels, live_orders)
                  for k in range(LADDERS_PER_BOOK)]
        _check_not_crossed(engine, c, b)
        _check_stops_vs_last(engine, c, b)
        _check_book_counters(engine, c, b, counts)
    _check(int(engine.ctr[C_LIVE]) == len(live_orders), "counters", "engine",
           f"C_LIVE {int(engine.ctr[C_LIVE])} != {len(live_orders)} live orders")
    _check_free_list(c.o["next"], int(engine.ctr[C_FREE_ORDER]),
                     int(engine.ctr[C_NFREE_ORDER]), live_orders, c.n_orders, "order")
    _check_free_list(c.lv["head"], int(engine.ctr[C_FREE_LEVEL]),
                     int(engine.ctr[C_NFREE_LEVEL]), live_levels, c.n_levels, "level")
    _check_id_table(engine, c, live_orders)
    _check_trigger_queue(engine)


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
    book = engine.books[b]
    lo, hi = int(book["lo_price"]), int(book["hi_price"])
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


def _best_price(engine, lad):
    meta = engine.ladders[lad]
    return int(meta["best"]) if meta["count"] else None


def _check_not_crossed(engine, c, b) -> None:
    bid = _best_price(engine, b * LADDERS_PER_BOOK)
    ask = _best_price(engine, b * LADDERS_PER_BOOK + 1)
    _check(bid is None or ask is None or bid < ask, "crossed", f"instrument {b}",
           f"best bid {bid} >= best ask {ask}")


def _check_stops_vs_last(engine, c, b) -> None:
    last = int(engine.books[b]["last_price"])
    if last <= 0:
        return
    buy = _best_price(engine, b * LADDERS_PER_BOOK + 2)    # lowest buy stop
    sell = _best_price(engine, b * LADDERS_PER_BOOK + 3)   # highest sell stop
    _check(buy is None or buy > last, "stops", f"instrument {b} buy stops",
           f"untriggered stop price {buy} <= last price {last}")
    _check(sell is None or sell < last, "stops", f"instrument {b} sell stops",
           f"untriggered stop price {sell} >= last price {last}")


def _check_book_counters(engine, c, b, counts) -> None:
    book = engine.books[b]
    resting = counts[0][0] + counts[1][0]
    stops = counts[2][0] + counts[3][0]
    ice = counts[0][1] + counts[1][1]
    for name, want in (("n_resting", resting), ("n_stops", stops), ("ice", ice)):
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
        _check(slot == ID_DONE or slot in live_orders, "ids", at,
               f"slot {slot} is neither DONE nor a live order")
        _check(slot == ID_DONE or c.o["order_id"][slot] == key, "ids", at,
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


def _check_trigger_queue(engine) -> None:
    head, tail = int(engine.ctr[C_TQ_HEAD]), int(engine.ctr[C_TQ_TAIL])
    _check(head == -1 and tail == -1, "trigger queue", "engine",
           f"not empty between commands: head {head} tail {tail}")
