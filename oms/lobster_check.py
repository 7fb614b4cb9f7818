"""The LOBSTER replay's check: after every message, each side's best `depth`
levels of the engine (price and shown quantity) against LOBSTER's row.

EXACT; REVEALED when the engine shows a proper prefix of the row (levels
moved in from beyond the depth: they are added as anonymous orders); MISMATCH
otherwise. When the row shows a full side, everything the engine holds beyond
its last level is cancelled: those prices left the window, and what happens
to them next is not in the file. A side that neither the message nor the row
changed keeps its last result, so a deep book is compared only on the side
that moved.
"""
from engine.array_table import unpack
from engine.book_kernels import covers, ladder_sign, level_on, next_price
from engine.jit import kernel
from engine.layout import CMD_CANCEL, CMD_NEW, DAY, NO_LEVEL

from .lobster_book import (ANON, ASK, BID, EXACT, MISMATCH, REVEALED, S_DIRTY, S_LAST,
                           S_NEXT_ID, S_SNAPS, command, ladder_of)
from .lobster_parse import PAD


@kernel
def compare_side(t, row, k, depth):
    """Compare side k's best `depth` levels with the row: (status, first
    column level the engine lacks when REVEALED, levels the row shows, the
    row's last price).

    By lookup, not by walking the ladder (whose scan over empty rungs between
    levels is most of a walk's cost): every level of the row is looked up at
    its price, and the engine's level count says whether it holds others.
    The row must be strictly ordered, best first. O(depth), plus the ticks
    to any levels the engine holds beyond the row's last price.
    """
    orders, levels, books, accounts, ids, ladders, rungs = unpack(t)[:7]
    lad = ladder_of(k)
    sign = ladder_sign(lad)
    have = ladders[lad]["count"]
    shown = 0
    found = 0
    edge = 0
    status = EXACT
    missing = -1
    for l in range(depth):
        wp = row[4 * l + 2 * k]
        wq = row[4 * l + 2 * k + 1]
        if wq <= 0 or wp == PAD or wp == -PAD:
            continue
        if shown > 0 and (wp - edge) * sign >= 0:
            status = MISMATCH                        # not best first
        shown += 1
        edge = wp
        if status != EXACT:
            continue
        lvl = level_on(ladders, rungs, lad, wp) if covers(ladders, lad, wp) else NO_LEVEL
        if lvl == NO_LEVEL:
            if missing < 0:
                missing = l
        elif levels[lvl]["qty"] != wq or missing >= 0:
            status = MISMATCH                        # wrong size, or a gap before it
        else:
            found += 1
    if status == EXACT:
        if missing >= 0:                             # the engine's levels: a prefix?
            status = REVEALED if have == found else MISMATCH
        elif have > shown:                           # the others must lie beyond the row
            if shown < depth:
                status = MISMATCH
            else:
                p = edge
                for _ in range(have - shown):
                    p = next_price(ladders, rungs, lad, p)
                    if p == 0:
                        status = MISMATCH
                        break
    return status, missing, shown, edge


@kernel
def fix_side(t, st, row, k, depth, status, missing, shown, edge, ts):
    """After a comparison: add the revealed levels as anonymous orders, and
    when the row shows a full side cancel everything beyond its last price."""
    orders, levels, books, accounts, ids, ladders, rungs = unpack(t)[:7]
    lad = ladder_of(k)
    if status == REVEALED:
        for l in range(missing, depth):
            wp = row[4 * l + 2 * k]
            wq = row[4 * l + 2 * k + 1]
            if wq > 0 and wp != PAD and wp != -PAD:
                command(t, st, CMD_NEW, st[S_NEXT_ID], ANON, 1 if k == BID else -1, DAY, wp,
                        wq, ts)
                st[S_NEXT_ID] += 1
    if shown < depth:
        return
    # cancel the levels beyond `edge`, walking no further than the last one
    keep = depth                                     # levels at or better than edge
    p = edge
    if status == MISMATCH:
        keep = 0
        p = ladders[lad]["best"]
        sign = ladder_sign(lad)
        while keep < ladders[lad]["count"]:
            nxt = p if keep == 0 else next_price(ladders, rungs, lad, p)
            if (nxt - edge) * sign < 0:
                break
            p = nxt
            keep += 1
        if keep == 0:
            p = 0                                    # cancel from the best level on
    while ladders[lad]["count"] > keep:
        p = ladders[lad]["best"] if p == 0 else next_price(ladders, rungs, lad, p)
        lvl = level_on(ladders, rungs, lad, p)
        while lvl != NO_LEVEL:
            command(t, st, CMD_CANCEL, orders[levels[lvl]["head"]]["order_id"], -1, 0, 0, 0,
                    0, ts)
            lvl = level_on(ladders, rungs, lad, p)


@kernel
def snapshot(t, out, depth):
    """The engine's best `depth` levels per side into out[k, l] = (price, qty)."""
    orders, levels, books, accounts, ids, ladders, rungs = unpack(t)[:7]
    for k in range(2):
        lad = ladder_of(k)
        p = 0
        for l in range(depth):
            out[k, l, 0] = 0
            out[k, l, 1] = 0
            if l < ladders[lad]["count"]:
                p = ladders[lad]["best"] if l == 0 else next_price(ladders, rungs, lad, p)
                out[k, l, 0] = p
                out[k, l, 1] = levels[level_on(ladders, rungs, lad, p)]["qty"]


@kernel
def side_moved(st, rows, i, k, depth):
    """Must side k be compared at row i: did the engine's side change since
    it was last compared (or was it a mismatch), or does the row differ from
    the one before? O(depth) over the two rows."""
    if (st[S_DIRTY] >> k) & 1 or i == 0:
        return True
    for l in range(depth):
        c = 4 * l + 2 * k
        if rows[i, c] != rows[i - 1, c] or rows[i, c + 1] != rows[i - 1, c + 1]:
            return True
    return False


@kernel
def check_row(t, st, rows, i, depth, ts, snaps, snap_rows):
    """The check after message i (see the module's docstring); returns row
    i's status. Both sides are compared before either is fixed, so that a
    mismatch snapshot shows the book as it was compared."""
    row = rows[i]
    move_ask = side_moved(st, rows, i, ASK, depth)
    move_bid = side_moved(st, rows, i, BID, depth)
    ask = compare_side(t, row, ASK, depth) if move_ask else (st[S_LAST + ASK], -1, 0, 0)
    bid = compare_side(t, row, BID, depth) if move_bid else (st[S_LAST + BID], -1, 0, 0)
    worst = max(ask[0], bid[0])
    if worst == MISMATCH and st[S_SNAPS] < snaps.shape[0]:
        snapshot(t, snaps[st[S_SNAPS]], depth)
        snap_rows[st[S_SNAPS]] = i
        st[S_SNAPS] += 1
    if move_ask:
        fix_side(t, st, row, ASK, depth, ask[0], ask[1], ask[2], ask[3], ts)
    if move_bid:
        fix_side(t, st, row, BID, depth, bid[0], bid[1], bid[2], bid[3], ts)
    # a mismatched side stays dirty: it is compared again next time
    st[S_LAST + ASK] = ask[0] if ask[0] == MISMATCH else EXACT
    st[S_LAST + BID] = bid[0] if bid[0] == MISMATCH else EXACT
    st[S_DIRTY] = (1 if ask[0] == MISMATCH else 0) | (2 if bid[0] == MISMATCH else 0)
    return worst
