"""Matching kernels: one command in, events out, with price-time priority.

Every function takes the book's arrays (see `engine.layout`) in the same order

    orders, levels, books, accounts, ids, ladders, rungs, ctr, ev

(most take `t`, the engine's array table, and `unpack` it) and writes events as rows of `ev` (layout in `engine.events`). `execute` is the
single entry for one command; it first checks that every pool, the id table and
the event buffer have room for the worst case of that command and otherwise
returns a negative status having changed nothing, so the owning class can grow
the arrays and call again. Past that point a command always completes.

What is deliberately not checked here: that decimal prices were on the tick
grid (done where strings become ticks) and the risk limits (the risk layer).
"""
from .array_table import unpack
from .jit import kernel

from .book_kernels import (attach, best_level, covers, detach, ice_term, id_insert, id_probe,
                           level_on, next_price, order_alloc, order_free, queue_push,
                           queue_unlink)
from .layout import *  # noqa: F403  (the constants are the layout's vocabulary)


# ---------------------------------------------------------------- events

@kernel
def emit(ev, ctr, kind, ts):
    """Start a new event row; returns its index."""
    r = ctr[C_NEV]
    ctr[C_NEV] = r + 1
    ctr[C_SEQ] += 1
    ev[r, EV_KIND] = kind
    ev[r, EV_SEQ] = ctr[C_SEQ]
    ev[r, EV_TS] = ts
    return r


@kernel
def emit_reject(ev, ctr, ts, order_id, instrument, account, command, reason):
    r = emit(ev, ctr, EV_REJECTED, ts)
    ev[r, RJ_ORDER_ID] = order_id
    ev[r, RJ_INSTRUMENT] = instrument
    ev[r, RJ_ACCOUNT] = account
    ev[r, RJ_COMMAND] = command
    ev[r, RJ_REASON] = reason
    ev[r, RJ_LIMIT] = 0
    ev[r, RJ_VALUE] = 0


@kernel
def emit_cancel(orders, ev, ctr, o, cause, qty, ts):
    r = emit(ev, ctr, EV_CANCELLED, ts)
    ev[r, CX_ORDER_ID] = orders[o]["order_id"]
    ev[r, CX_INSTRUMENT] = orders[o]["instrument"]
    ev[r, CX_ACCOUNT] = orders[o]["account"]
    ev[r, CX_CAUSE] = cause
    ev[r, CX_QTY] = qty
    ev[r, CX_CUM] = orders[o]["cum"]


@kernel
def emit_reduce(orders, ev, ctr, o, qty, ts):
    r = emit(ev, ctr, EV_REDUCED, ts)
    ev[r, RD_ORDER_ID] = orders[o]["order_id"]
    ev[r, RD_INSTRUMENT] = orders[o]["instrument"]
    ev[r, RD_ACCOUNT] = orders[o]["account"]
    ev[r, RD_CAUSE] = CAUSE_STP
    ev[r, RD_QTY] = qty
    ev[r, RD_LEAVES] = orders[o]["qty"] + orders[o]["hidden"]
    ev[r, RD_CUM] = orders[o]["cum"]


@kernel
def emit_trade(orders, books, ev, ctr, aggr, rest, price, qty, ts):
    b = orders[aggr]["instrument"]
    r = emit(ev, ctr, EV_TRADE, ts)
    ctr[C_TRADE] += 1
    if orders[aggr]["side"] == BUY:
        buy, sell = aggr, rest
    else:
        buy, sell = rest, aggr
    ev[r, TR_TRADE_ID] = ctr[C_TRADE]
    ev[r, TR_INSTRUMENT] = b
    ev[r, TR_PRICE] = price
    ev[r, TR_QTY] = qty
    ev[r, TR_AGGRESSOR] = orders[aggr]["side"]
    ev[r, TR_BUY_ID] = orders[buy]["order_id"]
    ev[r, TR_SELL_ID] = orders[sell]["order_id"]
    ev[r, TR_BUY_ACCOUNT] = orders[buy]["account"]
    ev[r, TR_SELL_ACCOUNT] = orders[sell]["account"]
    ev[r, TR_BUY_LEAVES] = orders[buy]["qty"] + orders[buy]["hidden"]
    ev[r, TR_BUY_CUM] = orders[buy]["cum"]
    ev[r, TR_SELL_LEAVES] = orders[sell]["qty"] + orders[sell]["hidden"]
    ev[r, TR_SELL_CUM] = orders[sell]["cum"]
    books[b]["last_price"] = price
    if price < ctr[C_TMIN]:
        ctr[C_TMIN] = price
    if price > ctr[C_TMAX]:
        ctr[C_TMAX] = price


# ---------------------------------------------------------------- order lifecycle

@kernel
def finish(orders, ids, ctr, o):
    """The order is done: its id stays taken for ever, its slot is reused."""
    ids[id_probe(ids, orders[o]["order_id"])]["slot"] = ID_DONE - o
    order_free(orders, ctr, o)


@kernel
def rest(t, o):
    """Put the open quantity of `o` in the book at its limit price, at the back."""
    orders, levels, books, accounts, ids, ladders, rungs, ctr, ev, out = unpack(t)
    leaves = orders[o]["qty"] + orders[o]["hidden"]
    d = orders[o]["display"]
    shown = d if (d > 0 and d < leaves) else leaves
    orders[o]["qty"] = shown
    orders[o]["hidden"] = leaves - shown
    lad = orders[o]["instrument"] * LADDERS_PER_BOOK + (
        LAD_BIDS if orders[o]["side"] == BUY else LAD_ASKS)
    attach(t, lad, orders[o]["price"], o)


@kernel
def crosses(side, limit, price):
    return price <= limit if side == BUY else price >= limit


@kernel
def aggressor_limit(orders, books, o):
    """Limit price of an aggressor; market orders are bounded by the band only."""
    otype = orders[o]["ord_type"]
    if otype == LIMIT or otype == STOP_LIMIT:
        return orders[o]["price"]
    b = orders[o]["instrument"]
    return books[b]["band_hi"] if orders[o]["side"] == BUY else books[b]["band_lo"]


@kernel
def same_stp_group(accounts, a, b):
    return accounts[a]["stp_group"] == accounts[b]["stp_group"]


@kernel
def fok_fillable(t, o, limit):
    """Can `o` fill completely against the opposite side right now?

    Counts displayed and hidden quantity within the limit. With self-trade
    prevention on, a level holding an order of the same STP group makes the
    answer no: a FOK order is never filled in part around its own orders.
    """
    orders, levels, books, accounts, ids, ladders, rungs, ctr, ev, out = unpack(t)
    s = orders[o]["side"]
    lad = orders[o]["instrument"] * LADDERS_PER_BOOK + (LAD_ASKS if s == BUY else LAD_BIDS)
    a = orders[o]["account"]
    stp = accounts[a]["stp_mode"] != STP_NONE
    need = orders[o]["qty"]
    p = ladders[lad]["best"] if ladders[lad]["count"] > 0 else 0
    while p != 0 and crosses(s, limit, p):
        lvl = level_on(ladders, rungs, lad, p)
        if stp:
            r = levels[lvl]["head"]
            while r != -1:
                if same_stp_group(accounts, a, orders[r]["account"]):
                    return False
                r = orders[r]["next"]
        need -= levels[lvl]["qty"] + levels[lvl]["hidden"]
        if need <= 0:
            return True
        p = next_price(ladders, rungs, lad, p)
    return False


@kernel
def take_resting(orders, levels, books, r, amount):
    """Reduce resting or stop order `r` by `amount` < its leaves, hidden part
    first; it keeps its place."""
    lvl = orders[r]["level"]
    b = orders[r]["instrument"]
    books[b]["ice"] -= ice_term(orders, r)
    from_hidden = min(amount, orders[r]["hidden"])
    orders[r]["hidden"] -= from_hidden
    levels[lvl]["hidden"] -= from_hidden
    orders[r]["qty"] -= amount - from_hidden
    levels[lvl]["qty"] -= amount - from_hidden
    books[b]["ice"] += ice_term(orders, r)


@kernel
def match(t, o, limit, ts):
    """Trade aggressor `o` (its open quantity in `qty`) against the opposite side.

    Best level first, FIFO within a level, at the resting order's price. An
    iceberg whose shown part is used up shows its next part at the back of its
    level, so hidden quantity trades after all shown quantity at that price.
    Returns True when self-trade prevention ended the aggressor.
    """
    orders, levels, books, accounts, ids, ladders, rungs, ctr, ev, out = unpack(t)
    s = orders[o]["side"]
    b = orders[o]["instrument"]
    lad = b * LADDERS_PER_BOOK + (LAD_ASKS if s == BUY else LAD_BIDS)
    a = orders[o]["account"]
    stp_mode = accounts[a]["stp_mode"]
    while orders[o]["qty"] > 0 and ladders[lad]["count"] > 0:
        lvl = best_level(ladders, rungs, lad)
        price = levels[lvl]["price"]
        if not crosses(s, limit, price):
            break
        r = levels[lvl]["head"]
        while r != -1 and orders[o]["qty"] > 0:
            nxt = orders[r]["next"]
            if stp_mode != STP_NONE and same_stp_group(accounts, a, orders[r]["account"]):
                if prevent_self_trade(t, o, r, stp_mode, ts):
                    return True
                if best_level(ladders, rungs, lad) != lvl:
                    break                      # the level went away with `r`
                r = nxt
                continue
            fill = min(orders[o]["qty"], orders[r]["qty"])
            orders[o]["qty"] -= fill
            orders[o]["cum"] += fill
            orders[r]["qty"] -= fill
            orders[r]["cum"] += fill
            levels[lvl]["qty"] -= fill
            emit_trade(orders, books, ev, ctr, o, r, price, fill, ts)
            if orders[r]["qty"] == 0:
                if orders[r]["hidden"] > 0:
                    refresh_iceberg(orders, levels, books, lvl, r)
                    if nxt == -1:
                        nxt = r
                else:
                    detach(t, r)
                    finish(orders, ids, ctr, r)
                    if nxt == -1:
                        break                  # the level is gone
            r = nxt
    return False


@kernel
def refresh_iceberg(orders, levels, books, lvl, r):
    """Show the next part of iceberg `r` and send it to the back of its level."""
    b = orders[r]["instrument"]
    books[b]["ice"] -= ice_term(orders, r)
    part = min(orders[r]["display"], orders[r]["hidden"])
    queue_unlink(orders, levels, r)
    orders[r]["hidden"] -= part
    orders[r]["qty"] = part
    queue_push(orders, levels, lvl, r)
    books[b]["ice"] += ice_term(orders, r)


@kernel
def prevent_self_trade(t, o, r, mode, ts):
    """Apply the aggressor's STP mode to aggressor `o` meeting its own resting `r`.

    Events: the resting order's first, then the aggressor's. Returns True when
    the aggressor is finished (cancelled); it is then already freed.
    """
    orders, levels, books, accounts, ids, ladders, rungs, ctr, ev, out = unpack(t)
    agg = orders[o]["qty"]
    res = orders[r]["qty"] + orders[r]["hidden"]
    cancel_resting = mode == STP_CANCEL_RESTING or mode == STP_CANCEL_BOTH
    cancel_aggressor = mode == STP_CANCEL_AGGRESSOR or mode == STP_CANCEL_BOTH
    if mode == STP_DECREMENT:
        cancel_resting = res <= agg
        cancel_aggressor = agg <= res
        if not cancel_resting:
            take_resting(orders, levels, books, r, agg)
            emit_reduce(orders, ev, ctr, r, agg, ts)
    if cancel_resting:
        emit_cancel(orders, ev, ctr, r, CAUSE_STP, res, ts)
        detach(t, r)
        finish(orders, ids, ctr, r)
        if mode == STP_DECREMENT and not cancel_aggressor:
            orders[o]["qty"] = agg - res
            emit_reduce(orders, ev, ctr, o, res, ts)
    if cancel_aggressor:
        emit_cancel(orders, ev, ctr, o, CAUSE_STP, agg, ts)
        finish(orders, ids, ctr, o)
        return True
    return False


@kernel
def aggress(t, o, ts):
    """Run a live, unbooked order `o` against the book, then rest, cancel or finish it."""
    orders, levels, books, accounts, ids, ladders, rungs, ctr, ev, out = unpack(t)
    limit = aggressor_limit(orders, books, o)
    tif = orders[o]["tif"]
    otype = orders[o]["ord_type"]
    if tif == FOK and not fok_fillable(t, o, limit):
        emit_cancel(orders, ev, ctr, o, CAUSE_FOK, orders[o]["qty"], ts)
        finish(orders, ids, ctr, o)
        return
    if match(t, o, limit, ts):
        return
    if orders[o]["qty"] == 0:
        finish(orders, ids, ctr, o)
    elif tif == IOC or tif == FOK or otype == MARKET or otype == STOP:
        emit_cancel(orders, ev, ctr, o, CAUSE_IOC, orders[o]["qty"], ts)
        finish(orders, ids, ctr, o)
    else:
        rest(t, o)


# ---------------------------------------------------------------- stop orders

@kernel
def stop_triggered_by(side, stop_price, last):
    """A buy stop triggers on a trade at or above its stop price, a sell stop at or below."""
    if last <= 0:
        return False
    return last >= stop_price if side == BUY else last <= stop_price


@kernel
def trigger_queue_push(orders, ctr, o):
    orders[o]["next"] = -1
    tail = ctr[C_TQ_TAIL]
    if tail == -1:
        ctr[C_TQ_HEAD] = o
    else:
        orders[tail]["next"] = o
    ctr[C_TQ_TAIL] = o


@kernel
def collect_triggered(t, b):
    """Queue the stops triggered by this step's trades (prices in C_TMIN..C_TMAX).

    Deterministic order: buy stops by ascending stop price, then sell stops by
    descending stop price, each in time priority within a price.
    """
    orders, levels, books, accounts, ids, ladders, rungs, ctr, ev, out = unpack(t)
    for k in range(2):
        lad = b * LADDERS_PER_BOOK + (LAD_BUY_STOPS if k == 0 else LAD_SELL_STOPS)
        while ladders[lad]["count"] > 0:
            lvl = best_level(ladders, rungs, lad)
            sp = levels[lvl]["price"]
            if (k == 0 and sp > ctr[C_TMAX]) or (k == 1 and sp < ctr[C_TMIN]):
                break
            while levels[lvl]["head"] != -1:
                o = levels[lvl]["head"]
                last = levels[lvl]["count"] == 1
                detach(t, o)
                trigger_queue_push(orders, ctr, o)
                if last:
                    break                      # the level was freed with its last order
    ctr[C_TMIN] = INT64_MAX
    ctr[C_TMAX] = 0


@kernel
def run_triggered(t, b, ts):
    """Run triggered stops one by one until no trade triggers another (cascades)."""
    orders, levels, books, accounts, ids, ladders, rungs, ctr, ev, out = unpack(t)
    while True:
        if ctr[C_TMAX] > 0:
            collect_triggered(t, b)
        o = ctr[C_TQ_HEAD]
        if o == -1:
            return
        ctr[C_TQ_HEAD] = orders[o]["next"]
        if ctr[C_TQ_HEAD] == -1:
            ctr[C_TQ_TAIL] = -1
        orders[o]["next"] = -1
        r = emit(ev, ctr, EV_STOP_TRIGGERED, ts)
        ev[r, ST_ORDER_ID] = orders[o]["order_id"]
        ev[r, ST_INSTRUMENT] = b
        ev[r, ST_ACCOUNT] = orders[o]["account"]
        ev[r, ST_LAST_PRICE] = books[b]["last_price"]
        orders[o]["stop_price"] = 0
        if orders[o]["ord_type"] == STOP:
            orders[o]["ord_type"] = MARKET
        else:
            orders[o]["ord_type"] = LIMIT
        aggress(t, o, ts)


@kernel
def file_stop(t, o):
    """Put an untriggered stop on its stop ladder, or in the trigger queue if the
    last trade price already reached it."""
    orders, levels, books, accounts, ids, ladders, rungs, ctr, ev, out = unpack(t)
    s = orders[o]["side"]
    b = orders[o]["instrument"]
    sp = orders[o]["stop_price"]
    if stop_triggered_by(s, sp, books[b]["last_price"]):
        trigger_queue_push(orders, ctr, o)
    else:
        lad = b * LADDERS_PER_BOOK + (LAD_BUY_STOPS if s == BUY else LAD_SELL_STOPS)
        attach(t, lad, sp, o)


# ---------------------------------------------------------------- validation

@kernel
def check_price(books, b, price):
    """Reason code for a limit or stop price, 0 if acceptable."""
    if price <= 0:
        return R_PRICE_NOT_POSITIVE
    if price < books[b]["band_lo"] or price > books[b]["band_hi"]:
        return R_OUTSIDE_PRICE_BAND
    return 0


@kernel
def within_span(books, b, p1, p2):
    """Would prices p1 and p2 (0: none) keep the book's range of accepted prices
    narrower than MAX_SPAN ticks?"""
    lo = books[b]["lo_price"]
    hi = books[b]["hi_price"]
    if p1 > 0:
        lo = p1 if (lo == 0 or p1 < lo) else lo
        hi = p1 if p1 > hi else hi
    if p2 > 0:
        lo = p2 if (lo == 0 or p2 < lo) else lo
        hi = p2 if p2 > hi else hi
    return hi - lo < MAX_SPAN


@kernel
def note_prices(books, b, p1, p2):
    """Widen the book's range of accepted prices to p1 and p2 (0: none)."""
    for p in (p1, p2):
        if p > 0:
            if books[b]["lo_price"] == 0 or p < books[b]["lo_price"]:
                books[b]["lo_price"] = p
            if p > books[b]["hi_price"]:
                books[b]["hi_price"] = p


@kernel
def check_new(books, accounts, b, a, side, ord_type, tif, flags, price, stop_price, qty,
              display, id_taken):
    """Reason code for a new order, 0 if it may enter the book."""
    if a < 0 or a >= accounts.shape[0]:
        return R_INVALID_ACCOUNT
    if side != BUY and side != SELL:
        return R_INVALID_SIDE
    if ord_type < LIMIT or ord_type > STOP_LIMIT:
        return R_INVALID_ORD_TYPE
    if tif < DAY or tif > FOK:
        return R_INVALID_TIF
    if qty <= 0:
        return R_QTY_NOT_POSITIVE
    if qty > MAX_QTY:
        return R_QTY_TOO_LARGE
    if qty % books[b]["lot"] != 0:
        return R_OFF_LOT
    if ord_type == LIMIT or ord_type == STOP_LIMIT:
        rc = check_price(books, b, price)
        if rc != 0:
            return rc
    if ord_type == STOP or ord_type == STOP_LIMIT:
        rc = check_price(books, b, stop_price)
        if rc != 0:
            return rc
    if not within_span(books, b, price if ord_type == LIMIT or ord_type == STOP_LIMIT else 0,
                       stop_price if ord_type == STOP or ord_type == STOP_LIMIT else 0):
        return R_PRICE_OUT_OF_RANGE
    if flags & ~KNOWN_FLAGS:
        return R_INVALID_COMBINATION
    resting = tif == DAY or tif == GTC
    if flags & POST_ONLY and not (ord_type == LIMIT and resting):
        return R_INVALID_COMBINATION
    if display != 0:
        if display < 0 or display % books[b]["lot"] != 0 or display * MAX_PARTS < qty:
            return R_INVALID_DISPLAY_QTY
        if not (ord_type == LIMIT and resting):
            return R_INVALID_COMBINATION
    if id_taken:
        return R_DUPLICATE_ORDER_ID
    return 0


@kernel
def would_cross(ladders, b, side, price):
    """Does a limit order at `price` meet the opposite best level?"""
    lad = b * LADDERS_PER_BOOK + (LAD_ASKS if side == BUY else LAD_BIDS)
    return ladders[lad]["count"] > 0 and crosses(side, price, ladders[lad]["best"])


@kernel
def lookup_live(orders, ids, order_id, b, a, side):
    """(slot, reason) of a live order addressed by cancel or replace."""
    e = ids[id_probe(ids, order_id)]["slot"]
    if e == ID_EMPTY:
        return -1, R_UNKNOWN_ORDER
    if e <= ID_DONE:
        return -1, R_TOO_LATE
    if b != -1 and orders[e]["instrument"] != b:
        return -1, R_INSTRUMENT_MISMATCH
    if a != -1 and orders[e]["account"] != a:
        return -1, R_ACCOUNT_MISMATCH
    if side != 0 and orders[e]["side"] != side:
        return -1, R_SIDE_MISMATCH
    return e, 0


# ---------------------------------------------------------------- commands

@kernel
def new_order(t, order_id, b, a, side, ord_type, tif, flags, price, stop_price, qty, display,
              ts):
    orders, levels, books, accounts, ids, ladders, rungs, ctr, ev, out = unpack(t)
    entry = id_probe(ids, order_id)
    rc = check_new(books, accounts, b, a, side, ord_type, tif, flags, price, stop_price, qty,
                   display, ids[entry]["slot"] != ID_EMPTY)
    if rc == 0 and flags & POST_ONLY and would_cross(ladders, b, side, price):
        rc = R_POST_ONLY_WOULD_CROSS
    if rc != 0:
        emit_reject(ev, ctr, ts, order_id, b, a, CMD_NEW, rc)
        return
    o = order_alloc(orders, ctr)
    id_insert(ids, ctr, entry, order_id, o)
    is_stop = ord_type == STOP or ord_type == STOP_LIMIT
    note_prices(books, b, price if ord_type == LIMIT or ord_type == STOP_LIMIT else 0,
                stop_price if is_stop else 0)
    orders[o]["order_id"] = order_id
    orders[o]["price"] = price if (ord_type == LIMIT or ord_type == STOP_LIMIT) else 0
    orders[o]["stop_price"] = stop_price if is_stop else 0
    orders[o]["qty"] = qty
    orders[o]["hidden"] = 0
    orders[o]["display"] = display
    orders[o]["cum"] = 0
    orders[o]["next"] = -1
    orders[o]["prev"] = -1
    orders[o]["level"] = -1
    orders[o]["account"] = a
    orders[o]["instrument"] = b
    orders[o]["side"] = side
    orders[o]["ord_type"] = ord_type
    orders[o]["tif"] = tif
    orders[o]["flags"] = flags
    r = emit(ev, ctr, EV_ACCEPTED, ts)
    ev[r, AC_ORDER_ID] = order_id
    ev[r, AC_INSTRUMENT] = b
    ev[r, AC_ACCOUNT] = a
    ev[r, AC_SIDE] = side
    ev[r, AC_ORD_TYPE] = ord_type
    ev[r, AC_TIF] = tif
    ev[r, AC_FLAGS] = flags
    ev[r, AC_PRICE] = orders[o]["price"]
    ev[r, AC_STOP_PRICE] = orders[o]["stop_price"]
    ev[r, AC_QTY] = qty
    ev[r, AC_DISPLAY] = display
    if is_stop:
        file_stop(t, o)
    else:
        aggress(t, o, ts)
    run_triggered(t, b, ts)


@kernel
def cancel(t, order_id, b, a, ts):
    orders, levels, books, accounts, ids, ladders, rungs, ctr, ev, out = unpack(t)
    o, rc = lookup_live(orders, ids, order_id, b, a, 0)
    if rc != 0:
        emit_reject(ev, ctr, ts, order_id, b, a, CMD_CANCEL, rc)
        return
    emit_cancel(orders, ev, ctr, o, CAUSE_REQUEST, orders[o]["qty"] + orders[o]["hidden"], ts)
    detach(t, o)
    finish(orders, ids, ctr, o)


@kernel
def replace(t, order_id, b, a, side, price, stop_price, qty, ts):
    """FIX cancel/replace: `qty` is the new total, so leaves = qty - cum.

    Priority is kept only if the price (and stop price) is unchanged and the
    quantity does not grow; otherwise the order leaves its level and, if it now
    crosses, trades as an aggressor before resting at the back.
    """
    orders, levels, books, accounts, ids, ladders, rungs, ctr, ev, out = unpack(t)
    otype = 0
    o, rc = lookup_live(orders, ids, order_id, b, a, side)
    if rc == 0:
        b = orders[o]["instrument"]
        a = orders[o]["account"]
        otype = orders[o]["ord_type"]
        if otype == STOP_LIMIT or otype == LIMIT:
            rc = check_price(books, b, price)
        if rc == 0 and (otype == STOP or otype == STOP_LIMIT) and stop_price != 0:
            rc = check_price(books, b, stop_price)
        if rc == 0 and not within_span(
                books, b, price if otype == LIMIT or otype == STOP_LIMIT else 0,
                stop_price if otype == STOP or otype == STOP_LIMIT else 0):
            rc = R_PRICE_OUT_OF_RANGE
        if rc == 0 and qty <= 0:
            rc = R_QTY_NOT_POSITIVE
        if rc == 0 and qty > MAX_QTY:
            rc = R_QTY_TOO_LARGE
        if rc == 0 and qty % books[b]["lot"] != 0:
            rc = R_OFF_LOT
        if rc == 0 and orders[o]["display"] * MAX_PARTS < qty and orders[o]["display"] > 0:
            rc = R_INVALID_DISPLAY_QTY
        if (rc == 0 and orders[o]["flags"] & POST_ONLY
                and would_cross(ladders, b, orders[o]["side"], price)):
            rc = R_POST_ONLY_WOULD_CROSS
    if rc != 0:
        emit_reject(ev, ctr, ts, order_id, b, a, CMD_REPLACE, rc)
        return
    is_stop = otype == STOP or otype == STOP_LIMIT
    new_price = price if (otype == LIMIT or otype == STOP_LIMIT) else 0
    new_stop = (stop_price if stop_price != 0 else orders[o]["stop_price"]) if is_stop else 0
    old_leaves = orders[o]["qty"] + orders[o]["hidden"]
    leaves = qty - orders[o]["cum"]
    keep = (new_price == orders[o]["price"] and new_stop == orders[o]["stop_price"]
            and leaves <= old_leaves)
    note_prices(books, b, new_price, new_stop)
    r = emit(ev, ctr, EV_REPLACED, ts)
    ev[r, RP_ORDER_ID] = order_id
    ev[r, RP_INSTRUMENT] = b
    ev[r, RP_ACCOUNT] = a
    ev[r, RP_PRICE] = new_price
    ev[r, RP_STOP_PRICE] = new_stop
    ev[r, RP_QTY] = qty
    ev[r, RP_LEAVES] = max(leaves, 0)
    ev[r, RP_CUM] = orders[o]["cum"]
    ev[r, RP_KEPT] = 1 if (keep and leaves > 0) else 0
    if leaves <= 0:
        detach(t, o)
        finish(orders, ids, ctr, o)
        return
    if keep:
        if leaves < old_leaves:
            take_resting(orders, levels, books, o, old_leaves - leaves)
        return
    detach(t, o)
    orders[o]["price"] = new_price
    orders[o]["stop_price"] = new_stop
    orders[o]["qty"] = leaves
    orders[o]["hidden"] = 0
    if is_stop:
        file_stop(t, o)
    else:
        aggress(t, o, ts)
    run_triggered(t, b, ts)


@kernel
def sweep(t, b0, b1, a, side, day_only, ts):
    """Remove every live order of books b0..b1-1 matching account `a` (-1: any),
    `side` (0: any) and, if `day_only`, time in force DAY. Order: by book, then
    bids, asks, buy stops, sell stops, best level first, FIFO. Returns the count.

    Mass cancel emits Cancelled(MASS_CANCEL); expiry emits Expired.
    """
    orders, levels, books, accounts, ids, ladders, rungs, ctr, ev, out = unpack(t)
    count = 0
    for b in range(b0, b1):
        for k in range(LADDERS_PER_BOOK):
            lad = b * LADDERS_PER_BOOK + k
            p = ladders[lad]["best"] if ladders[lad]["count"] > 0 else 0
            while p != 0:
                lvl = level_on(ladders, rungs, lad, p)
                o = levels[lvl]["head"]
                while o != -1:
                    nxt = orders[o]["next"]
                    if ((a == -1 or orders[o]["account"] == a)
                            and (side == 0 or orders[o]["side"] == side)
                            and (not day_only or orders[o]["tif"] == DAY)):
                        leaves = orders[o]["qty"] + orders[o]["hidden"]
                        if day_only:
                            r = emit(ev, ctr, EV_EXPIRED, ts)
                            ev[r, EX_ORDER_ID] = orders[o]["order_id"]
                            ev[r, EX_INSTRUMENT] = b
                            ev[r, EX_ACCOUNT] = orders[o]["account"]
                            ev[r, EX_QTY] = leaves
                            ev[r, EX_CUM] = orders[o]["cum"]
                        else:
                            emit_cancel(orders, ev, ctr, o, CAUSE_MASS, leaves, ts)
                        last = levels[lvl]["count"] == 1
                        detach(t, o)
                        finish(orders, ids, ctr, o)
                        count += 1
                        if last:
                            break              # the level was freed
                    o = nxt
                p = next_price(ladders, rungs, lad, p)
    return count


# ---------------------------------------------------------------- the entry

@kernel
def ladder_room(t, b, lad, price, other_price):
    """OK if ladder `lad` has a rung for `price`, or if the price will be refused
    anyway. Else NEED_LADDER, with the ladder and price in C_NEED and
    C_NEED_PRICE.

    Even an empty ladder is not moved here: a waiting stop-limit order counts
    on its side's ladder still covering its limit price when it triggers.
    Windows only ever widen (`MatchingEngine._widen`)."""
    orders, levels, books, accounts, ids, ladders, rungs, ctr, ev, out = unpack(t)
    if (check_price(books, b, price) != 0 or not within_span(books, b, price, other_price)
            or covers(ladders, lad, price)):
        return OK
    ctr[C_NEED] = lad
    ctr[C_NEED_PRICE] = price
    return NEED_LADDER


@kernel
def room_for(t, kind, order_id, b, side, ord_type, price, stop_price, qty, display):
    """OK if every array has room for the worst case of this command, else the
    NEED_* status of the first that has not (C_NEED says what is needed)."""
    orders, levels, books, accounts, ids, ladders, rungs, ctr, ev, out = unpack(t)
    free_ev = ev.shape[0] - ctr[C_NEV]
    if kind == CMD_NEW or kind == CMD_REPLACE:
        if b < 0 or b >= books.shape[0]:
            need = 2
        else:
            if kind == CMD_REPLACE:          # the order's own side, type and display
                e = ids[id_probe(ids, order_id)]["slot"]
                side = orders[e]["side"] if e >= 0 else 0
                ord_type = orders[e]["ord_type"] if e >= 0 else 0
                display = orders[e]["display"] if e >= 0 else 0
            # Accepted/Replaced, and per resting order or iceberg part at most one
            # trade plus one STP event, per stop its trigger, trades and cancels;
            # an iceberg resting in this very command may feed triggered stops one
            # part at a time.
            need = (8 + 3 * books[b]["n_resting"] + books[b]["ice"]
                    + 6 * books[b]["n_stops"])
            if display > 0:
                need += MAX_PARTS + 2
            if kind == CMD_NEW and ctr[C_NFREE_ORDER] < 1:
                return NEED_ORDERS
            if kind == CMD_NEW and 2 * (ctr[C_IDS] + 1) > ids.shape[0]:
                return NEED_IDS
            if ctr[C_NFREE_LEVEL] < 1 + books[b]["n_stops"]:
                return NEED_LEVELS
            if side == BUY or side == SELL:
                limit = price if ord_type == LIMIT or ord_type == STOP_LIMIT else 0
                stop = stop_price if ord_type == STOP or ord_type == STOP_LIMIT else 0
                if limit != 0:
                    lad = b * LADDERS_PER_BOOK + (LAD_BIDS if side == BUY else LAD_ASKS)
                    status = ladder_room(t, b, lad, limit, stop)
                    if status != OK:
                        return status
                if stop != 0:
                    lad = b * LADDERS_PER_BOOK + (LAD_BUY_STOPS if side == BUY
                                                  else LAD_SELL_STOPS)
                    status = ladder_room(t, b, lad, stop, limit)
                    if status != OK:
                        return status
    elif kind == CMD_CANCEL:
        need = 2
    else:
        need = 2 + ctr[C_LIVE]
    if free_ev < need:
        ctr[C_NEED] = need
        return NEED_EVENTS
    return OK


@kernel
def execute(t, kind, order_id, b, a, side, ord_type, tif, flags, price, stop_price, qty,
            display, ts):
    """Run one command. Returns OK, or a NEED_* status having changed nothing."""
    orders, levels, books, accounts, ids, ladders, rungs, ctr, ev, out = unpack(t)
    room_book = b
    if kind == CMD_REPLACE and b == -1:
        e = ids[id_probe(ids, order_id)]["slot"]
        room_book = orders[e]["instrument"] if e >= 0 else -1
    status = room_for(t, kind, order_id, room_book, side, ord_type, price, stop_price, qty,
                      display)
    if status != OK:
        return status
    ctr[C_TMIN] = INT64_MAX
    ctr[C_TMAX] = 0
    n_books = books.shape[0]
    if kind == CMD_NEW or kind == CMD_REPLACE or kind == CMD_CANCEL:
        if b < 0 or b >= n_books:
            if not (b == -1 and kind != CMD_NEW):
                emit_reject(ev, ctr, ts, order_id, b, a, kind, R_UNKNOWN_INSTRUMENT)
                return OK
    if kind == CMD_NEW:
        new_order(t, order_id, b, a, side, ord_type, tif, flags, price, stop_price, qty,
                  display, ts)
    elif kind == CMD_CANCEL:
        cancel(t, order_id, b, a, ts)
    elif kind == CMD_REPLACE:
        replace(t, order_id, b, a, side, price, stop_price, qty, ts)
    elif kind == CMD_MASS_CANCEL or kind == CMD_EXPIRE:
        if b < -1 or b >= n_books:
            emit_reject(ev, ctr, ts, order_id, b, a, kind, R_UNKNOWN_INSTRUMENT)
            return OK
        b0, b1 = (0, n_books) if b == -1 else (b, b + 1)
        if kind == CMD_EXPIRE:
            sweep(t, b0, b1, -1, 0, True, ts)
        else:
            n = sweep(t, b0, b1, a, side, False, ts)
            r = emit(ev, ctr, EV_MASS_CANCELLED, ts)
            ev[r, MC_REQUEST_ID] = order_id
            ev[r, MC_INSTRUMENT] = b
            ev[r, MC_ACCOUNT] = a
            ev[r, MC_SIDE] = side
            ev[r, MC_COUNT] = n
    return OK


@kernel
def run_batch(t, cmds, start, end, first_event):
    """The replay door: run cmds[start:end] in order.

    `first_event[i - start]` receives the event row where command i begins.
    Returns (next command index, status): (end, OK) when all ran, or the index
    of the command that needs room (status NEED_*) so the caller can grow the
    arrays or drain the events and continue from there.
    """
    orders, levels, books, accounts, ids, ladders, rungs, ctr, ev, out = unpack(t)
    for i in range(start, end):
        c = cmds[i]
        first_event[i - start] = ctr[C_NEV]
        status = execute(t, c["kind"], c["order_id"], c["instrument"], c["account"], c["side"],
                         c["ord_type"], c["tif"], c["flags"], c["price"], c["stop_price"],
                         c["qty"], c["display_qty"], c["ts"])
        if status != OK:
            return i, status
    return end, OK
