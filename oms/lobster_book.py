"""The LOBSTER replay's side of the engine: its state, and each message as
engine commands (`engine.match_kernels.execute`, the kernel behind both doors
of `MatchingEngine`), so the book is built by the same code that matches
orders; the events of each command are discarded once read.

The engine keeps one instrument (book 0, tick = LOBSTER's price unit,
$0.0001) and three accounts:

* FILE: the orders the message file submits (type 1), under their own ids;
* ANON: volume the file never submitted, at its price and side (the book at
  the start, and levels that move in from beyond the depth), under ids from
  2**62 up (`lobster_parse.MAX_ORDER_ID`), which no LOBSTER id reaches;
* TAKER: the aggressive orders of `--match`.

Message to command: 1 a new DAY limit order; 2 and 4 take the size from the
named order with a Replace to a smaller total (which keeps time priority), or
a Cancel when nothing is left; 3 cancels the named order, all of it. Size the
named order cannot give (an id the file never submitted, or one the check
dropped with its level) comes from the anonymous orders at the message's price
and side, oldest first, then from any order there: the level shrinks by the
message's size, as LOBSTER's does. Types 5, 6 and 7 change nothing.
"""
from engine import match_kernels as mk
from engine.array_table import unpack
from engine.book_kernels import covers, id_probe, level_on
from engine.jit import kernel
from engine.layout import (BUY, C_IDS, C_NEED, C_NEV, C_NFREE_LEVEL, C_NFREE_ORDER, CMD_CANCEL,
                           CMD_NEW, CMD_REPLACE, DAY, EV_KIND, EV_REJECTED, LAD_ASKS,
                           LAD_BIDS, LIMIT, NEED_EVENTS, NEED_IDS, NEED_LEVELS, NEED_ORDERS,
                           NO_LEVEL, OK)

from .lobster_parse import PAD

FILE, ANON, TAKER = 0, 1, 2                       # engine accounts
EXACT, REVEALED, MISMATCH, UNCHECKED = 0, 1, 2, 3  # row status, worst wins
FAULT = -100

# st, the replay's int64 state carried between calls
S_NEXT_ID = 0       # next id for anonymous and taker orders
S_REJECTS = 1       # type-1 orders the engine refused (duplicate id, price out of range)
S_SHORT = 2         # messages whose size the level could not give in full
S_AGREE = 3         # --match runs whose fills agree
S_DIFFER = 4
S_SNAPS = 5         # mismatch snapshots taken
S_DIFFS = 6         # differing runs recorded
S_DIRTY = 7         # bit k: the engine's side k changed since it was last compared
S_LAST = 8          # S_LAST + k: side k's last status (after fix-ups)
S_RUN_STOP = 10     # last message of the --match run under way, -1 if none
S_FAULT = 11
N_STATE = 12

ASK, BID = 0, 1     # side index k: the orderbook row's column order (4 per level)


@kernel
def command(t, st, kind, order_id, account, side, tif, price, qty, ts):
    """Run one engine command on book 0; its events replace the last ones in
    `ev` (rows 0..C_NEV). A failure is recorded in st[S_FAULT]."""
    ctr = unpack(t)[7]
    ctr[C_NEV] = 0
    if mk.execute(t, kind, order_id, 0, account, side, LIMIT, tif, 0, price, 0, qty, 0,
                  ts) != OK:
        st[S_FAULT] = kind


@kernel
def ladder_of(k):
    return LAD_ASKS if k == ASK else LAD_BIDS


@kernel
def live_file_order(t, order_id):
    """Pool slot of the live FILE order `order_id`, or -1."""
    orders, levels, books, accounts, ids = unpack(t)[:5]
    e = ids[id_probe(ids, order_id)]["slot"]
    if e >= 0 and orders[e]["account"] == FILE:
        return e
    return -1


@kernel
def take(t, st, o, amount, ts):
    """Take up to `amount` from resting order slot `o`; returns what was taken.
    A Replace to a smaller total keeps the order's place; all of it cancels."""
    orders = unpack(t)[0]
    leaves = orders[o]["qty"] + orders[o]["hidden"]
    if amount >= leaves:
        command(t, st, CMD_CANCEL, orders[o]["order_id"], -1, 0, 0, 0, 0, ts)
        return leaves
    command(t, st, CMD_REPLACE, orders[o]["order_id"], -1, 0, 0, orders[o]["price"],
            orders[o]["cum"] + leaves - amount, ts)
    return amount


@kernel
def take_from_level(t, st, k, price, amount, ts):
    """Take `amount` from the level at `price` on side k: anonymous orders
    first, then any, oldest first. Returns what the level could not give.
    O(orders at the level)."""
    orders, levels, books, accounts, ids, ladders, rungs = unpack(t)[:7]
    lad = ladder_of(k)
    if not covers(ladders, lad, price):
        return amount
    for anyone in range(2):
        lvl = level_on(ladders, rungs, lad, price)
        o = levels[lvl]["head"] if lvl != NO_LEVEL else -1
        while o != -1 and amount > 0:
            nxt = orders[o]["next"]
            if anyone == 1 or orders[o]["account"] == ANON:
                amount -= take(t, st, o, amount, ts)
            o = nxt
    return amount


@kernel
def room(t, depth, msg, row, check, side, lo, hi, extra):
    """OK if the engine has room for the worst case of one message with its
    check (up to 2 x depth revealed levels and `extra` more orders, a level
    at each price it names, and, when `side` is not 0, at prices lo..hi on
    that side), else the NEED_* status to grow by. O(1)."""
    orders, levels, books, accounts, ids, ladders, rungs, ctr, ev = unpack(t)[:9]
    spare = 2 * depth + 8 + extra
    if ctr[C_NFREE_ORDER] < spare:
        return NEED_ORDERS
    if 2 * (ctr[C_IDS] + spare) > ids.shape[0]:
        return NEED_IDS
    if ctr[C_NFREE_LEVEL] < spare:
        return NEED_LEVELS
    need = 16 + 3 * (books[0]["n_resting"] + spare)
    if ev.shape[0] < need:
        ctr[C_NEED] = need
        return NEED_EVENTS
    if msg["type"] == 1:
        status = ladder_room(t, ladders, BID if msg["direction"] == BUY else ASK, msg["price"])
        if status != OK:
            return status
    if side != 0:
        for p in (lo, hi):
            status = ladder_room(t, ladders, BID if side == BUY else ASK, p)
            if status != OK:
                return status
    if check:
        for k in range(2):          # a ladder is one window: the row's ends suffice
            for step in (1, -1):
                l = 0 if step == 1 else depth - 1
                while 0 <= l < depth and (row[4 * l + 2 * k + 1] <= 0
                                          or abs(row[4 * l + 2 * k]) == PAD):
                    l += step
                if 0 <= l < depth:
                    status = ladder_room(t, ladders, k, row[4 * l + 2 * k])
                    if status != OK:
                        return status
    return OK


@kernel
def ladder_room(t, ladders, k, price):
    """The engine's ladder_room for side k, after the common case: covered."""
    lad = ladder_of(k)
    if covers(ladders, lad, price):
        return OK
    return mk.ladder_room(t, 0, lad, price, 0)


@kernel
def apply_message(t, st, msg):
    """Messages 1-4 as engine commands (see the module's docstring); returns
    the sides touched as bits (1 << k)."""
    typ = msg["type"]
    k = BID if msg["direction"] == BUY else ASK
    ts = msg["ts"]
    if typ == 1:
        command(t, st, CMD_NEW, msg["order_id"], FILE, msg["direction"], DAY, msg["price"],
                msg["size"], ts)
        ctr, ev = unpack(t)[7:9]
        if ev[0, EV_KIND] == EV_REJECTED:
            st[S_REJECTS] += 1
        return 3 if ctr[C_NEV] > 1 else 1 << k      # more than Accepted: it traded
    if typ < 2 or typ > 4:
        return 0
    orders = unpack(t)[0]
    rest = msg["size"]
    touched = 1 << k
    o = live_file_order(t, msg["order_id"])
    if o >= 0:
        touched |= 1 << (BID if orders[o]["side"] == BUY else ASK)
        leaves = orders[o]["qty"] + orders[o]["hidden"]
        if typ == 3:                                 # a delete removes the whole order
            take(t, st, o, leaves, ts)
            rest = max(rest - leaves, 0)
        else:
            rest -= take(t, st, o, rest, ts)
    if rest > 0 and take_from_level(t, st, k, msg["price"], rest, ts) > 0:
        st[S_SHORT] += 1
    return touched
