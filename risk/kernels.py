"""The pre-trade checks and the exposure book-keeping, as numba kernels.

One kernel call per command runs the checks, hands the command to the book's
own `execute` (in the same compiled code, so no second crossing into Python)
and then reads the events the book wrote to keep positions, open exposure,
P&L and the throttles up to date. A reject is written as a `Rejected` event
with the limit and the value that broke it, and changes nothing.

Order of the checks, and why: sanity first (the book's own `check_new`, so a
malformed order gets the book's reason), then the switches that stop
everything (kill, halted account or instrument, restricted), then the
throttle, then the order's own size and price, then the account's exposure.

The risk layer keeps no order table of its own: an order's account, side,
price and flags are read from the book's records, found through the book's
order-id index, which keeps the slot of an order finished during the command
(`engine.layout.ID_DONE`). A first version kept a second table keyed by order
id; following the events cost three times the matching (`oms bench risk`).

Money is int64 micro-units of the currency (`risk.config.MICRO`); products
saturate at the int64 maximum instead of wrapping, so a huge order is
rejected by its limit rather than overflowing past it.
"""
from engine import match_kernels as mk
from engine import msgpack_kernels as mp
from engine.array_table import unpack
from engine.book_kernels import id_probe
from engine.enums import OrderFlags
from engine.jit import kernel
from engine.layout import (AC_ACCOUNT, AC_INSTRUMENT, AC_QTY, AC_SIDE, BUY, C_NEED, C_NEV,
                           CMD_CANCEL, CMD_NEW, CMD_REPLACE, CX_ORDER_ID, CX_QTY, EV_ACCEPTED,
                           EV_CANCELLED, EV_EXPIRED, EV_KIND, EV_REDUCED, EV_REJECTED,
                           EV_REPLACED, EV_TRADE, EX_ORDER_ID, EX_QTY, FOK, ID_DONE, ID_EMPTY,
                           IOC, LAD_ASKS, LAD_BIDS, LADDERS_PER_BOOK, LIMIT, MARKET, NEED_EVENTS,
                           OK, RD_LEAVES, RD_ORDER_ID, RD_QTY, RJ_LIMIT, RJ_VALUE, RP_LEAVES,
                           RP_ORDER_ID, SELL, STOP, STOP_LIMIT, TR_AGGRESSOR, TR_BUY_ACCOUNT,
                           TR_BUY_ID, TR_BUY_LEAVES, TR_INSTRUMENT, TR_PRICE, TR_QTY,
                           TR_SELL_ACCOUNT, TR_SELL_ID, TR_SELL_LEAVES)
from engine.reasons import ReasonCode

from .layout import NO_LIMIT, R_CANCEL_CAP, R_KILL

SECOND = 1_000_000_000
SMALL = 1 << 31
RING_EMPTY = -(1 << 62)
SHORT_FLAGS = int(OrderFlags.SHORT_SALE | OrderFlags.SHORT_EXEMPT)
HALTED, REDUCING = 2, 1

X_KILL = int(ReasonCode.KILL_SWITCH)
X_ACCOUNT_HALTED = int(ReasonCode.ACCOUNT_HALTED)
X_INSTRUMENT_HALTED = int(ReasonCode.INSTRUMENT_HALTED)
X_RESTRICTED = int(ReasonCode.RESTRICTED)
X_RATE = int(ReasonCode.RATE_LIMIT)
X_NO_REFERENCE = int(ReasonCode.NO_REFERENCE_PRICE)
X_COLLAR = int(ReasonCode.PRICE_COLLAR)
X_ORDER_QTY = int(ReasonCode.MAX_ORDER_QTY)
X_NOTIONAL = int(ReasonCode.MAX_ORDER_NOTIONAL)
X_REDUCING = int(ReasonCode.ACCOUNT_REDUCING)
X_SHORT = int(ReasonCode.SHORT_SALE)
X_POSITION = int(ReasonCode.POSITION_LIMIT)
X_GROSS = int(ReasonCode.GROSS_POSITION_LIMIT)
X_CREDIT = int(ReasonCode.CREDIT_LIMIT)
X_OPEN_ORDERS = int(ReasonCode.MAX_OPEN_ORDERS)
X_DAILY = int(ReasonCode.DAILY_LIMIT)
X_UNBOUNDED = int(ReasonCode.UNBOUNDED_MARKET_ORDER)


# ---------------------------------------------------------------- arithmetic

@kernel
def mul(a, b):
    """a * b for a, b >= 0, saturating at the int64 maximum. (The common case,
    both below 2**31, skips the division: it showed in the profile.)"""
    if a <= 0 or b <= 0:
        return 0
    if (a | b) < SMALL:
        return a * b
    if a > NO_LIMIT // b:
        return NO_LIMIT
    return a * b


@kernel
def add(a, b):
    """a + b for b >= 0, saturating."""
    if a > NO_LIMIT - b:
        return NO_LIMIT
    return a + b


@kernel
def exposure(position, open_buy, open_sell):
    """The most the position can become on either side."""
    return max(abs(position + open_buy), abs(position - open_sell))


# ---------------------------------------------------------------- reference price

@kernel
def reference_price(books, ladders, instruments, b):
    """Last trade, else the mid of two sides, else the configured reference
    (previous close); 0 if there is none."""
    last = books[b]["last_price"]
    if last > 0:
        return last
    bid = ladders[b * LADDERS_PER_BOOK + LAD_BIDS]
    ask = ladders[b * LADDERS_PER_BOOK + LAD_ASKS]
    if bid["count"] > 0 and ask["count"] > 0:
        return (bid["best"] + ask["best"]) // 2
    return instruments[b]["reference_price"]


@kernel
def collar_width(instruments, b, ref):
    """Ticks the collar allows through the reference; -1 when there is no collar."""
    if instruments[b]["collar_ticks"] > 0:
        return instruments[b]["collar_ticks"]
    if instruments[b]["collar_ppm"] > 0:
        return ref * instruments[b]["collar_ppm"] // 1_000_000
    return -1


@kernel
def market_limit(books, b, side, ref, width):
    """The limit price a collared market order gets: the collar, kept inside
    the instrument's price band (the book bounds a market order by the band
    but refuses a limit price outside it, so an unclamped collar past the
    band would turn a fillable market order into a reject)."""
    price = ref + side * width
    price = max(price, books[b]["band_lo"], 1)
    return min(price, books[b]["band_hi"])


@kernel
def market_bound(books, b, side):
    """The worst price an uncollared market order can reach: the edge of the
    instrument's price band on its side; 0 when there is no band."""
    if side == BUY and books[b]["band_hi"] != NO_LIMIT:
        return books[b]["band_hi"]
    if side == SELL and books[b]["band_lo"] > 0:
        return books[b]["band_lo"]
    return 0


# ---------------------------------------------------------------- the checks

@kernel
def check_gates(accounts, instruments, positions, rctr, a, b, n_instruments):
    """The switches: (reason, limit, value)."""
    if rctr[R_KILL] != 0 or accounts[a]["kill"] != 0:
        return X_KILL, 0, 0
    if accounts[a]["state"] == HALTED:
        return X_ACCOUNT_HALTED, 0, 0
    if instruments[b]["halted"] != 0:
        return X_INSTRUMENT_HALTED, 0, 0
    if instruments[b]["restricted"] != 0 or positions[a * n_instruments + b]["restricted"] != 0:
        return X_RESTRICTED, 0, 0
    return 0, 0, 0


@kernel
def check_rate(rings, a, col0, cap, pos, ts):
    """At most `cap` messages in any second: the cap-th last must be a second old."""
    if cap == NO_LIMIT:
        return 0, 0, 0
    oldest = rings[a, col0 + pos]
    if ts - oldest < SECOND:
        return X_RATE, cap, cap + 1
    return 0, 0, 0


@kernel
def check_position(acc, p, side, flags, add_qty):
    """The position checks of `add_qty` more open on `side`: reducing-only,
    short sale, position and gross position limits. (reason, limit, value);
    a reducing reject's limit is what the side may still reduce (0 when the
    side would only add to the position)."""
    position, open_buy, open_sell = p["position"], p["open_buy"], p["open_sell"]
    if acc["state"] == REDUCING:
        if side == BUY and not (position < 0 and position + open_buy + add_qty <= 0):
            return X_REDUCING, max(-position, 0), open_buy + add_qty
        if side == SELL and not (position > 0 and position - open_sell - add_qty >= 0):
            return X_REDUCING, max(position, 0), open_sell + add_qty
    if side == SELL and acc["allow_short"] >= 0 and position - open_sell - add_qty < 0:
        if acc["allow_short"] == 0 or (flags & SHORT_FLAGS) == 0:
            return X_SHORT, max(position - open_sell, 0), add_qty
    if side == BUY:
        new_buy, new_sell = open_buy + add_qty, open_sell
        reach = position + new_buy
    else:
        new_buy, new_sell = open_buy, open_sell + add_qty
        reach = -(position - new_sell)
    if reach > p["position_limit"]:
        return X_POSITION, p["position_limit"], reach
    gross = acc["gross"] - p["exposure"] + exposure(position, new_buy, new_sell)
    if gross > acc["gross_position_limit"]:
        return X_GROSS, acc["gross_position_limit"], gross
    return 0, 0, 0


@kernel
def check_exposure(accounts, positions, instruments, a, b, n_instruments, side, flags,
                   add_qty, add_notional, order_qty, order_notional, new_order):
    """The order's size and the account's exposure with `add_qty` more open on
    `side` (`add_notional` its money). (reason, limit, value).

    A replace is checked for what it adds: the quantity limits if its open
    quantity grows, the money limits if its open notional grows (fewer shares
    at a higher price still use more credit), so that a replace that only
    shrinks an order passes even when a limit has since been lowered below
    the account's usage."""
    acc = accounts[a]
    p = positions[a * n_instruments + b]
    if order_qty > p["max_order_qty"]:
        return X_ORDER_QTY, p["max_order_qty"], order_qty
    if order_notional > acc["max_order_notional"]:
        return X_NOTIONAL, acc["max_order_notional"], order_notional
    grows = new_order or add_qty > 0
    costs = new_order or add_notional > 0
    if grows:
        rc, limit, value = check_position(acc, p, side, flags, add_qty)
        if rc != 0:
            return rc, limit, value
    if side == BUY and costs:
        used = add(add(acc["open_buy_notional"], max(acc["long_cost"], 0)), add_notional)
        if used > acc["credit_limit"]:
            return X_CREDIT, acc["credit_limit"], used
    if new_order and acc["open_orders"] + 1 > acc["max_open_orders"]:
        return X_OPEN_ORDERS, acc["max_open_orders"], acc["open_orders"] + 1
    if grows:
        daily = add(add(acc["daily_qty"], acc["open_qty"]), add_qty)
        if daily > acc["daily_qty_limit"]:
            return X_DAILY, acc["daily_qty_limit"], daily
    if costs:
        daily = add(add(acc["daily_notional"], acc["open_notional"]), add_notional)
        if daily > acc["daily_notional_limit"]:
            return X_DAILY, acc["daily_notional_limit"], daily
    return 0, 0, 0


# ---------------------------------------------------------------- following the book

@kernel
def book_slot(ids, order_id):
    """The book's slot of `order_id`: live, or finished in the command being
    followed (its record is still readable then); -1 if there is none."""
    v = ids[id_probe(ids, order_id)]["slot"]
    if v >= 0:
        return v
    if v <= ID_DONE:
        return ID_DONE - v
    return -1


@kernel
def exposure_price(orders, o, own, fallback):
    """The price an order's open quantity is counted at: its limit price. An
    order without one is the command's own market order (slot `own`, counted
    at `fallback`, the bound the checks gave it) or an unbounded stop order,
    counted at 0 (only accounts without money limits may send those)."""
    if orders[o]["price"] > 0:
        return orders[o]["price"]
    return fallback if o == own else 0


@kernel
def set_exposure(acc, p):
    e = exposure(p["position"], p["open_buy"], p["open_sell"])
    acc["gross"] += e - p["exposure"]
    p["exposure"] = e


@kernel
def move_open(accounts, positions, instruments, n_instruments, a, b, side, d_qty, price,
              d_orders):
    """The open quantity of account `a` in `b` on `side` changes by `d_qty`,
    counted at `price`; the account's open orders by `d_orders`."""
    acc = accounts[a]
    p = positions[a * n_instruments + b]
    money = mul(abs(d_qty), mul(price, instruments[b]["tick_money"]))
    if d_qty < 0:
        money = -money
    acc["open_qty"] += d_qty
    acc["open_notional"] += money
    acc["open_orders"] += d_orders
    if side == BUY:
        p["open_buy"] += d_qty
        acc["open_buy_notional"] += money
    else:
        p["open_sell"] += d_qty
    set_exposure(acc, p)


@kernel
def fill(accounts, positions, instruments, n_instruments, a, b, side, qty, price):
    """One side of a trade: position, cost, realised P&L and daily totals.
    Cost is reduced in proportion when a position is closed, so realised P&L
    plus the remaining cost always add up exactly."""
    acc = accounts[a]
    p = positions[a * n_instruments + b]
    unit = mul(price, instruments[b]["tick_money"])
    acc["daily_qty"] = add(acc["daily_qty"], qty)
    acc["daily_notional"] = add(acc["daily_notional"], mul(qty, unit))
    if side == BUY:
        p["bought"] += qty
    else:
        p["sold"] += qty
    old_long = max(p["cost"], 0)
    pos0 = p["position"]
    rest = qty
    if pos0 != 0 and (pos0 > 0) != (side > 0):          # closing first
        close = min(qty, abs(pos0))
        removed = p["cost"] * close // abs(pos0)
        sign = 1 if pos0 > 0 else -1
        p["realised"] += sign * mul(close, unit) - removed
        p["cost"] -= removed
        p["position"] += side * close
        rest = qty - close
    if rest > 0:
        p["cost"] += side * mul(rest, unit)
        p["position"] += side * rest
    acc["long_cost"] += max(p["cost"], 0) - old_long


@kernel
def follow_trade_side(accounts, positions, instruments, orders, ids, n_instruments, b, side,
                      order_id, a, qty, price, leaves, aggressor, own, fallback):
    """Book-keeping of one side of a trade. A resting order is counted at its
    own price, the trade's; the aggressor at its exposure price."""
    at = price
    if aggressor:
        at = exposure_price(orders, book_slot(ids, order_id), own, fallback)
    fill(accounts, positions, instruments, n_instruments, a, b, side, qty, price)
    move_open(accounts, positions, instruments, n_instruments, a, b, side, -qty, at,
              -1 if leaves == 0 else 0)


@kernel
def follow_events(t, accounts, positions, instruments, start, end, order_id, risk_price,
                  old_leaves, old_price):
    """Keep the risk arrays in step with the book's events ev[start:end] of one
    command about `order_id`. `risk_price`: the command's own order's exposure
    price; `old_leaves`, `old_price`: a replaced order's open quantity and
    price before the command. Orders are read from the book's own records."""
    orders, levels, books, eaccounts, ids, ladders, rungs, ctr, ev, out = unpack(t)
    n_i = instruments.shape[0]
    own = book_slot(ids, order_id)
    for i in range(start, end):
        kind = ev[i, EV_KIND]
        if kind == EV_TRADE:
            b, qty, price = ev[i, TR_INSTRUMENT], ev[i, TR_QTY], ev[i, TR_PRICE]
            buy_aggr = ev[i, TR_AGGRESSOR] == BUY
            follow_trade_side(accounts, positions, instruments, orders, ids, n_i, b, BUY,
                              ev[i, TR_BUY_ID], ev[i, TR_BUY_ACCOUNT], qty, price,
                              ev[i, TR_BUY_LEAVES], buy_aggr, own, risk_price)
            follow_trade_side(accounts, positions, instruments, orders, ids, n_i, b, SELL,
                              ev[i, TR_SELL_ID], ev[i, TR_SELL_ACCOUNT], qty, price,
                              ev[i, TR_SELL_LEAVES], not buy_aggr, own, risk_price)
        elif kind == EV_ACCEPTED:
            move_open(accounts, positions, instruments, n_i, ev[i, AC_ACCOUNT],
                      ev[i, AC_INSTRUMENT], ev[i, AC_SIDE], ev[i, AC_QTY], risk_price, 1)
        elif kind == EV_CANCELLED or kind == EV_EXPIRED or kind == EV_REDUCED:
            if kind == EV_CANCELLED:
                oid, qty, leaves = ev[i, CX_ORDER_ID], ev[i, CX_QTY], 0
            elif kind == EV_EXPIRED:
                oid, qty, leaves = ev[i, EX_ORDER_ID], ev[i, EX_QTY], 0
            else:
                oid, qty, leaves = ev[i, RD_ORDER_ID], ev[i, RD_QTY], ev[i, RD_LEAVES]
            o = book_slot(ids, oid)
            move_open(accounts, positions, instruments, n_i, orders[o]["account"],
                      orders[o]["instrument"], orders[o]["side"], -qty,
                      exposure_price(orders, o, own, risk_price), -1 if leaves == 0 else 0)
        elif kind == EV_REPLACED:
            o = book_slot(ids, ev[i, RP_ORDER_ID])
            a, b, side = orders[o]["account"], orders[o]["instrument"], orders[o]["side"]
            leaves = ev[i, RP_LEAVES]
            move_open(accounts, positions, instruments, n_i, a, b, side, -old_leaves,
                      old_price, 0)
            move_open(accounts, positions, instruments, n_i, a, b, side, leaves,
                      exposure_price(orders, o, own, old_price), -1 if leaves == 0 else 0)


# ---------------------------------------------------------------- one command

@kernel
def reject(ev, ctr, ts, order_id, b, a, command, reason, limit, value):
    mk.emit_reject(ev, ctr, ts, order_id, b, a, command, reason)
    r = ctr[C_NEV] - 1
    ev[r, RJ_LIMIT] = limit
    ev[r, RJ_VALUE] = value


@kernel
def has_money_limits(acc):
    return (acc["credit_limit"] != NO_LIMIT or acc["max_order_notional"] != NO_LIMIT
            or acc["daily_notional_limit"] != NO_LIMIT)


@kernel
def check_new_order(t, accounts, positions, instruments, rings, rctr, order_id, b, a, side,
                    ord_type, tif, flags, price, stop_price, qty, ts):
    """The checks of a new order the book would take. Returns (reason, limit,
    value, ord_type, tif, price, risk_price): a market order may leave as an
    IOC limit at the collar; `risk_price` is what its exposure is counted at."""
    orders, levels, books, eaccounts, ids, ladders, rungs, ctr, ev, out = unpack(t)
    n_i = instruments.shape[0]
    rc, limit, value = check_gates(accounts, instruments, positions, rctr, a, b, n_i)
    if rc == 0:
        rc, limit, value = check_rate(rings, a, 0, accounts[a]["max_orders_per_second"],
                                      accounts[a]["order_ring_pos"], ts)
    if rc != 0:
        return rc, limit, value, ord_type, tif, price, 0
    ref = reference_price(books, ladders, instruments, b)
    width = collar_width(instruments, b, ref)
    risk_price = price if (ord_type == LIMIT or ord_type == STOP_LIMIT) else 0
    if ord_type == MARKET:
        if width >= 0:
            if ref <= 0:
                return X_NO_REFERENCE, 0, 0, ord_type, tif, price, 0
            # a market order is an IOC limit at the collar (a FOK stays FOK)
            price = market_limit(books, b, side, ref, width)
            risk_price = price
            ord_type = LIMIT
            if tif != FOK:
                tif = IOC
        else:       # no collar: the worst price it may reach, the band's edge
            risk_price = market_bound(books, b, side)
            if risk_price <= 0 and has_money_limits(accounts[a]):
                return X_UNBOUNDED, 0, 0, ord_type, tif, price, 0
    elif ord_type == STOP:
        # Triggered, a stop is a market order. Where a collar is set it becomes
        # a stop-limit at the collar around its stop price (as exchanges'
        # stop protection does: what does not fill rests there). Without one
        # it is counted at 0 until it trades, which only an account without
        # money limits may do: the book forgets its stop price once triggered.
        w = collar_width(instruments, b, stop_price)
        if w >= 0:
            price = market_limit(books, b, side, stop_price, w)
            risk_price, ord_type = price, STOP_LIMIT
        elif has_money_limits(accounts[a]):
            return X_UNBOUNDED, 0, 0, ord_type, tif, price, 0
    elif risk_price > 0 and width >= 0 and ref > 0:
        if side == BUY and risk_price > ref + width:
            return X_COLLAR, ref + width, risk_price, ord_type, tif, price, 0
        if side == SELL and risk_price < ref - width:
            return X_COLLAR, ref - width, risk_price, ord_type, tif, price, 0
    money = mul(qty, mul(risk_price, instruments[b]["tick_money"]))
    rc, limit, value = check_exposure(accounts, positions, instruments, a, b, n_i, side, flags,
                                      qty, money, qty, money, True)
    return rc, limit, value, ord_type, tif, price, risk_price


@kernel
def check_replace(t, accounts, positions, instruments, rings, rctr, o, price, stop_price,
                  qty, ts):
    """The checks of a replace of live book order `o` on its new values:
    (reason, limit, value)."""
    orders, levels, books, eaccounts, ids, ladders, rungs, ctr, ev, out = unpack(t)
    n_i = instruments.shape[0]
    a, b, side = orders[o]["account"], orders[o]["instrument"], orders[o]["side"]
    rc, limit, value = check_gates(accounts, instruments, positions, rctr, a, b, n_i)
    if rc == X_RESTRICTED or rc == X_INSTRUMENT_HALTED:
        rc = 0                       # an open order may still be reduced
    if rc == 0:
        rc, limit, value = check_rate(rings, a, rings.shape[1] - rctr[R_CANCEL_CAP],
                                      accounts[a]["max_cancels_per_second"],
                                      accounts[a]["cancel_ring_pos"], ts)
    if rc != 0:
        return rc, limit, value
    old_price = exposure_price(orders, o, o, 0)
    # an unbounded stop order has no limit price, and a replace cannot give it one
    new_price = price if (price > 0 and orders[o]["price"] > 0) else old_price
    if price > 0 and price != orders[o]["price"]:
        ref = reference_price(books, ladders, instruments, b)
        width = collar_width(instruments, b, ref)
        if width >= 0 and ref > 0:
            if side == BUY and price > ref + width:
                return X_COLLAR, ref + width, price
            if side == SELL and price < ref - width:
                return X_COLLAR, ref - width, price
    if qty <= 0:
        return 0, 0, 0
    tick_money = instruments[b]["tick_money"]
    leaves = orders[o]["qty"] + orders[o]["hidden"]
    new_leaves = max(qty - orders[o]["cum"], 0)
    old_money = mul(leaves, mul(old_price, tick_money))
    new_money = mul(new_leaves, mul(new_price, tick_money))
    return check_exposure(accounts, positions, instruments, a, b, n_i, side,
                          orders[o]["flags"], new_leaves - leaves,
                          max(new_money - old_money, 0), qty,
                          mul(qty, mul(new_price, tick_money)), False)


@kernel
def execute(t, accounts, positions, instruments, rings, rctr, kind, order_id, b, a, side,
            ord_type, tif, flags, price, stop_price, qty, display, ts):
    """Check, run and follow one command. OK, or the book's NEED_* status
    having changed nothing."""
    orders, levels, books, eaccounts, ids, ladders, rungs, ctr, ev, out = unpack(t)
    if ev.shape[0] - ctr[C_NEV] < 2:
        ctr[C_NEED] = 2
        return NEED_EVENTS
    risk_price, old_leaves, old_price, live = 0, 0, 0, -1
    if kind == CMD_NEW:
        if 0 <= b < instruments.shape[0] and 0 <= a < accounts.shape[0]:
            taken = ids[id_probe(ids, order_id)]["slot"] != ID_EMPTY
            if mk.check_new(books, eaccounts, b, a, side, ord_type, tif, flags, price,
                            stop_price, qty, display, taken) == 0:
                rc, limit, value, ord_type, tif, price, risk_price = check_new_order(
                    t, accounts, positions, instruments, rings, rctr, order_id, b, a, side,
                    ord_type, tif, flags, price, stop_price, qty, ts)
                if rc != 0:
                    reject(ev, ctr, ts, order_id, b, a, CMD_NEW, rc, limit, value)
                    return OK
    elif kind == CMD_REPLACE or kind == CMD_CANCEL:
        live = ids[id_probe(ids, order_id)]["slot"]
        if live >= 0 and kind == CMD_REPLACE:
            rc, limit, value = check_replace(t, accounts, positions, instruments, rings, rctr,
                                             live, price, stop_price, qty, ts)
            if rc != 0:     # named by the order's instrument and account, as the book does
                reject(ev, ctr, ts, order_id, orders[live]["instrument"],
                       orders[live]["account"], CMD_REPLACE, rc, limit, value)
                return OK
            old_leaves = orders[live]["qty"] + orders[live]["hidden"]
            old_price = exposure_price(orders, live, live, 0)
    start = ctr[C_NEV]
    status = mk.execute(t, kind, order_id, b, a, side, ord_type, tif, flags, price, stop_price,
                        qty, display, ts)
    if status != OK:
        return status
    end = ctr[C_NEV]
    if end > start and ev[start, EV_KIND] != EV_REJECTED:
        if kind == CMD_NEW:
            ring_note(rings, accounts, a, 0, accounts[a]["max_orders_per_second"], 0, ts)
        elif live >= 0:
            ra = orders[live]["account"]
            ring_note(rings, accounts, ra, rings.shape[1] - rctr[R_CANCEL_CAP],
                      accounts[ra]["max_cancels_per_second"], 1, ts)
    follow_events(t, accounts, positions, instruments, start, end, order_id, risk_price,
                  old_leaves, old_price)
    return OK


@kernel
def ring_note(rings, accounts, a, col0, cap, which, ts):
    """Record a message of account `a` in its order (which 0) or cancel ring."""
    if cap == NO_LIMIT:
        return
    if which == 0:
        pos = accounts[a]["order_ring_pos"]
        accounts[a]["order_ring_pos"] = pos + 1 if pos + 1 < cap else 0
    else:
        pos = accounts[a]["cancel_ring_pos"]
        accounts[a]["cancel_ring_pos"] = pos + 1 if pos + 1 < cap else 0
    rings[a, col0 + pos] = ts


# ---------------------------------------------------------------- the doors

@kernel
def submit_one(t, accounts, positions, instruments, rings, rctr, cmd):
    """The per-command door with the checks: as `engine.matching.submit_one`."""
    (status, kind, order_id, b, a, side, ord_type, tif, flags, price, stop_price, qty,
     display, ts) = mp.read_command(cmd)
    if status != 0:
        return status
    orders, levels, books, eaccounts, ids, ladders, rungs, ctr, ev, out = unpack(t)
    ctr[C_NEV] = 0
    status = execute(t, accounts, positions, instruments, rings, rctr, kind, order_id, b, a,
                     side, ord_type, tif, flags, price, stop_price, qty, display, ts)
    if status != OK:
        return status
    return mp.encode_rows(ev, 0, ctr[C_NEV], out)


@kernel
def run_batch(t, accounts, positions, instruments, rings, rctr, cmds, start, end,
              first_event):
    """The replay door with the checks: as `engine.match_kernels.run_batch`."""
    orders, levels, books, eaccounts, ids, ladders, rungs, ctr, ev, out = unpack(t)
    for i in range(start, end):
        c = cmds[i]
        first_event[i - start] = ctr[C_NEV]
        status = execute(t, accounts, positions, instruments, rings, rctr, c["kind"],
                         c["order_id"], c["instrument"], c["account"], c["side"], c["ord_type"], c["tif"], c["flags"], c["price"], c["stop_price"],
                         c["qty"], c["display_qty"], c["ts"])
        if status != OK:
            return i, status
    return end, OK
