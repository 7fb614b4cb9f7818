"""Data-structure kernels of the book: pools, the order-id index, price
ladders and the per-level FIFO queues.

Leaf module: numpy arrays and integers in, integers out, no Python objects.
Fields are read as ``rec["qty"]`` so the same code runs under
``NUMBA_DISABLE_JIT=1`` (debugger, coverage).

Level index: a price ladder per book side, one rung per tick holding the slot
of the level at that price (or NO_LEVEL), plus the best price. Chosen by
measurement against sorted level vectors (`benchmarks/bench_level_index.py`,
figures in `benchmarks/RESULTS.md`): on realistic flow the ladder did level
operations about 7x faster, and on a sparse book (orders spread over 100k
ticks) 15x, where a vector pays O(levels) for every insert away from the
touch. The ladder's costs: memory per tick rather than per level (4 bytes a
rung), a scan over empty rungs to find the next best price after the best
level empties, and a bounded range: a ladder covers a window of prices that
grows on demand (the owner widens it when a kernel reports NEED_LADDER), up
to MAX_SPAN ticks per book; a price farther than that from the book's other
prices is refused (``price_out_of_range``; set a price band to be explicit).
"""
from .array_table import unpack
from .jit import kernel
from .layout import (C_FREE_LEVEL, C_FREE_ORDER, C_IDS, C_LIVE, C_NFREE_LEVEL, C_NFREE_ORDER,
                     ID_EMPTY, LADDERS_PER_BOOK, NO_LEVEL)


# ---------------------------------------------------------------- order-id index

@kernel
def id_probe(ids, key):
    """Index of `key` in the table, or of the empty entry where it would go.

    O(1) expected (the owner keeps the load factor <= 1/2). Ids handed out in
    sequence are common, so the hash keeps runs of 64 consecutive ids on 64
    neighbouring entries and scatters the runs (a multiplicative hash of the
    rest, folded with the high bits). The live orders, mostly recent, then
    share a few pages of the table instead of costing a cache and TLB miss
    each, and no cluster grows long enough to make a probe for a missing id
    slow. Measured on the benchmark flow: runs of 8 ids ran 25% slower, runs
    of 1024 forty times slower (long clusters). No int64 overflow, so it
    computes the same with and without the JIT.
    """
    mask = ids.shape[0] - 1
    run = ((((key >> 6) & 0xFFFFFFFF) * 0x5BD1E995) >> 7) ^ (key >> 38)
    i = ((run << 6) | (key & 63)) & mask
    while True:
        if ids[i]["slot"] == ID_EMPTY or ids[i]["key"] == key:
            return i
        i = (i + 1) & mask


@kernel
def id_insert(ids, ctr, i, key, slot):
    """Record `key` -> pool `slot` at entry `i`, the empty entry `id_probe`
    found for this new id."""
    ids[i]["key"] = key
    ids[i]["slot"] = slot
    ctr[C_IDS] += 1


# ---------------------------------------------------------------- pools

@kernel
def order_alloc(orders, ctr):
    """Take a slot from the order free list (the caller checked one is free)."""
    o = ctr[C_FREE_ORDER]
    ctr[C_FREE_ORDER] = orders[o]["next"]
    ctr[C_NFREE_ORDER] -= 1
    return o


@kernel
def order_free(orders, ctr, o):
    orders[o]["next"] = ctr[C_FREE_ORDER]
    orders[o]["prev"] = -1
    orders[o]["level"] = -1
    orders[o]["qty"] = 0
    orders[o]["hidden"] = 0
    ctr[C_FREE_ORDER] = o
    ctr[C_NFREE_ORDER] += 1


@kernel
def level_alloc(levels, ctr, ladder, price):
    lvl = ctr[C_FREE_LEVEL]
    ctr[C_FREE_LEVEL] = levels[lvl]["head"]
    ctr[C_NFREE_LEVEL] -= 1
    levels[lvl]["price"] = price
    levels[lvl]["qty"] = 0
    levels[lvl]["hidden"] = 0
    levels[lvl]["head"] = -1
    levels[lvl]["tail"] = -1
    levels[lvl]["count"] = 0
    levels[lvl]["ladder"] = ladder
    return lvl


@kernel
def level_free(levels, ctr, lvl):
    levels[lvl]["head"] = ctr[C_FREE_LEVEL]
    levels[lvl]["ladder"] = -1
    ctr[C_FREE_LEVEL] = lvl
    ctr[C_NFREE_LEVEL] += 1


# ---------------------------------------------------------------- price ladders

@kernel
def ladder_sign(lad):
    """+1 where a higher price is better (bids, sell stops), -1 otherwise."""
    k = lad % LADDERS_PER_BOOK
    return 1 if (k == 0 or k == 3) else -1


@kernel
def covers(ladders, lad, price):
    """Does ladder `lad` have a rung for `price`?"""
    return 0 <= price - ladders[lad]["base"] < ladders[lad]["width"]


@kernel
def level_on(ladders, rungs, lad, price):
    """The level slot at `price` on ladder `lad`, or NO_LEVEL. O(1)."""
    return rungs[ladders[lad]["offset"] + price - ladders[lad]["base"]]


@kernel
def best_level(ladders, rungs, lad):
    """The best level of ladder `lad`, or NO_LEVEL when it is empty. O(1)."""
    if ladders[lad]["count"] == 0:
        return NO_LEVEL
    return level_on(ladders, rungs, lad, ladders[lad]["best"])


@kernel
def next_price(ladders, rungs, lad, price):
    """The next price worse than `price` holding a level, or 0 if none.

    O(ticks to it): scans empty rungs, bounded by the ladder's window.
    """
    step = -ladder_sign(lad)
    off = ladders[lad]["offset"] - ladders[lad]["base"]
    lo = ladders[lad]["base"]
    hi = lo + ladders[lad]["width"]
    p = price + step
    while lo <= p < hi:
        if rungs[off + p] != NO_LEVEL:
            return p
        p += step
    return 0


@kernel
def level_at(t, lad, price):
    """The level at `price` on ladder `lad`, created (empty) if there is none.

    O(1). The caller checked that the ladder covers the price and a level slot
    is free.
    """
    orders, levels, books, accounts, ids, ladders, rungs, ctr, ev, out = unpack(t)
    at = ladders[lad]["offset"] + price - ladders[lad]["base"]
    lvl = rungs[at]
    if lvl != NO_LEVEL:
        return lvl
    lvl = level_alloc(levels, ctr, lad, price)
    rungs[at] = lvl
    best = ladders[lad]["best"]
    if ladders[lad]["count"] == 0 or (price - best) * ladder_sign(lad) > 0:
        ladders[lad]["best"] = price
    ladders[lad]["count"] += 1
    return lvl


@kernel
def remove_level(t, lvl):
    """Take an empty level off its ladder and free it. O(1), unless it was the
    best level: then O(ticks to the next best)."""
    orders, levels, books, accounts, ids, ladders, rungs, ctr, ev, out = unpack(t)
    lad = levels[lvl]["ladder"]
    price = levels[lvl]["price"]
    rungs[ladders[lad]["offset"] + price - ladders[lad]["base"]] = NO_LEVEL
    ladders[lad]["count"] -= 1
    if ladders[lad]["count"] == 0:
        ladders[lad]["best"] = 0
    elif price == ladders[lad]["best"]:
        ladders[lad]["best"] = next_price(ladders, rungs, lad, price)
    level_free(levels, ctr, lvl)


# ---------------------------------------------------------------- FIFO queues

@kernel
def queue_push(orders, levels, lvl, o):
    """Append order `o` at the back of level `lvl` and add it to the totals. O(1)."""
    tail = levels[lvl]["tail"]
    orders[o]["prev"] = tail
    orders[o]["next"] = -1
    orders[o]["level"] = lvl
    if tail == -1:
        levels[lvl]["head"] = o
    else:
        orders[tail]["next"] = o
    levels[lvl]["tail"] = o
    levels[lvl]["count"] += 1
    levels[lvl]["qty"] += orders[o]["qty"]
    levels[lvl]["hidden"] += orders[o]["hidden"]


@kernel
def queue_unlink(orders, levels, o):
    """Take order `o` out of its level's queue and totals. O(1)."""
    lvl = orders[o]["level"]
    p = orders[o]["prev"]
    n = orders[o]["next"]
    if p == -1:
        levels[lvl]["head"] = n
    else:
        orders[p]["next"] = n
    if n == -1:
        levels[lvl]["tail"] = p
    else:
        orders[n]["prev"] = p
    levels[lvl]["count"] -= 1
    levels[lvl]["qty"] -= orders[o]["qty"]
    levels[lvl]["hidden"] -= orders[o]["hidden"]
    orders[o]["level"] = -1
    orders[o]["next"] = -1
    orders[o]["prev"] = -1


@kernel
def ice_term(orders, o):
    """An iceberg's share of the book's `ice` counter (bounds its refreshes)."""
    d = orders[o]["display"]
    return orders[o]["hidden"] // d if d > 0 else 0


@kernel
def detach(t, o):
    """Take a resting or stop order out of the book: queue, level, counters."""
    orders, levels, books, accounts, ids, ladders, rungs, ctr, ev, out = unpack(t)
    lvl = orders[o]["level"]
    lad = levels[lvl]["ladder"]
    b = lad // LADDERS_PER_BOOK
    if lad % LADDERS_PER_BOOK < 2:
        books[b]["n_resting"] -= 1
        books[b]["ice"] -= ice_term(orders, o)
    else:
        books[b]["n_stops"] -= 1
    ctr[C_LIVE] -= 1
    queue_unlink(orders, levels, o)
    if levels[lvl]["count"] == 0:
        remove_level(t, lvl)


@kernel
def attach(t, lad, price, o):
    """Put order `o` at the back of the level at `price` on ladder `lad`."""
    orders, levels, books, accounts, ids, ladders, rungs, ctr, ev, out = unpack(t)
    lvl = level_at(t, lad, price)
    queue_push(orders, levels, lvl, o)
    b = lad // LADDERS_PER_BOOK
    if lad % LADDERS_PER_BOOK < 2:
        books[b]["n_resting"] += 1
        books[b]["ice"] += ice_term(orders, o)
    else:
        books[b]["n_stops"] += 1
    ctr[C_LIVE] += 1
