"""Every rule of docs/MATCHING.md at its edge, on the numba engine (`MatchingEngine`).

Events are compared as tuples: the event's class name and its fields after
`seq` and `ts` (`fields()`); sequence numbers and timestamps have tests of their own.
"""
import inspect
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import msgspec
import numpy as np
import pytest

from engine.commands import Cancel, ExpireOrders, MassCancel, NewOrder, Replace
from engine.enums import CancelCause, CommandKind, OrderFlags, OrdType, Side, StpMode, TimeInForce
from engine.layout import (C_IDS, C_LIVE, C_NFREE_ORDER, C_TQ_HEAD, COMMAND_DTYPE, MAX_QTY,
                           MAX_SPAN)
from engine.matching import MatchingEngine
from engine.msgpack_kernels import COMMAND_ENCODER
from engine.reasons import ReasonCode
from engine.specs import AccountSpec, BookSpec

BUY, SELL = Side.BUY, Side.SELL
DAY, GTC, IOC, FOK = TimeInForce.DAY, TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK
LIMIT, MARKET, STOP, STOP_LIMIT = OrdType.LIMIT, OrdType.MARKET, OrdType.STOP, OrdType.STOP_LIMIT
STP = CancelCause.SELF_TRADE
NEW_, CANCEL_, REPLACE_ = CommandKind.NEW, CommandKind.CANCEL, CommandKind.REPLACE


# The smallest capacities the engine takes: every growth path runs.
TINY = {name: value for name, value in dict(
    order_capacity=2, level_capacity=1, levels_per_side=1, ladder_ticks=1,
    event_capacity=2).items() if name in inspect.signature(MatchingEngine).parameters}


def engine(books=(BookSpec(),), accounts=None, **capacities) -> MatchingEngine:
    return MatchingEngine(list(books), accounts or [AccountSpec() for _ in range(4)],
                          **capacities)


def limit(oid, side, qty, price, account=0, tif=DAY, instrument=0, **kw) -> NewOrder:
    return NewOrder(order_id=oid, instrument=instrument, account=account, side=side, qty=qty,
                    price=price, tif=tif, **kw)


def stop(oid, side, qty, stop_price, account=0, price=0, tif=DAY) -> NewOrder:
    return NewOrder(order_id=oid, instrument=0, account=account, side=side, qty=qty,
                    price=price, ord_type=STOP_LIMIT if price else STOP, tif=tif,
                    stop_price=stop_price)


def fields(events) -> list[tuple]:
    """(class name, fields after seq and ts) per event; a book reject's limit
    and value (always 0: they are the risk layer's) are left out."""
    out = []
    for e in events:
        values = msgspec.structs.astuple(e)[2:]
        if type(e).__name__ == "Rejected":
            assert values[-2:] == (0, 0)
            values = values[:-2]
        out.append((type(e).__name__, *values))
    return out


def trades(events) -> list[tuple]:
    """(buy id, sell id, price, qty) per trade."""
    return [(e.buy_order_id, e.sell_order_id, e.price, e.qty) for e in events
            if type(e).__name__ == "Trade"]


def asks(e, b=0):
    return [(o.order_id, o.qty, o.hidden) for o in e.book_state(b).asks]


def bids(e, b=0):
    return [(o.order_id, o.qty, o.hidden) for o in e.book_state(b).bids]


def run_all(e, *cmds):
    for cmd in cmds:
        e.submit(cmd)


# ---------------------------------------------------------------- priority and prices

def test_price_time_priority_and_trades_print_at_the_resting_price():
    e = engine()
    run_all(e, limit(1, SELL, 5, 101, account=1), limit(2, SELL, 5, 100, account=1),
            limit(3, SELL, 5, 100, account=2))
    ev = e.submit(limit(4, BUY, 12, 102))
    assert fields(ev[1:]) == [
        # trade_id, instr, price, qty, aggressor, buy, sell, buy acct, sell acct,
        # buy leaves, buy cum, sell leaves, sell cum
        ("Trade", 1, 0, 100, 5, BUY, 4, 2, 0, 1, 7, 5, 0, 5),
        ("Trade", 2, 0, 100, 5, BUY, 4, 3, 0, 2, 2, 10, 0, 5),
        ("Trade", 3, 0, 101, 2, BUY, 4, 1, 0, 1, 0, 12, 3, 2)]
    assert asks(e) == [(1, 3, 0)] and bids(e) == []
    assert e.book_state(0).last_price == 101


def test_sell_aggressor_trades_at_the_bid_price():
    e = engine()
    e.submit(limit(1, BUY, 5, 100, account=1))
    ev = e.submit(limit(2, SELL, 3, 95))
    assert fields(ev[1:]) == [("Trade", 1, 0, 100, 3, SELL, 1, 2, 1, 0, 2, 3, 0, 3)]


# ---------------------------------------------------------------- replace

def test_replace_to_exactly_the_filled_quantity_ends_the_order():
    e = engine()
    run_all(e, limit(1, BUY, 10, 100), limit(2, SELL, 4, 100, account=1))
    ev = e.submit(Replace(order_id=1, qty=4, price=100))
    # order_id, instrument, account, price, stop_price, qty, leaves, cum, kept_priority
    assert fields(ev) == [("Replaced", 1, 0, 0, 100, 0, 4, 0, 4, False)]
    assert bids(e) == [] and not e.is_live(1)
    assert fields(e.submit(Cancel(order_id=1))) == [
        ("Rejected", 1, -1, -1, CANCEL_, ReasonCode.TOO_LATE)]


def test_replace_below_the_filled_quantity_ends_the_order_with_leaves_zero():
    e = engine()
    run_all(e, limit(1, BUY, 10, 100), limit(2, SELL, 6, 100, account=1))
    ev = e.submit(Replace(order_id=1, qty=2, price=100))
    assert fields(ev) == [("Replaced", 1, 0, 0, 100, 0, 2, 0, 6, False)]
    assert bids(e) == [] and e.live_orders() == 0


def test_replace_down_keeps_priority_up_loses_it():
    e = engine()
    run_all(e, limit(1, BUY, 10, 100), limit(2, BUY, 10, 100, account=1))
    assert fields(e.submit(Replace(order_id=1, qty=8, price=100))) == [
        ("Replaced", 1, 0, 0, 100, 0, 8, 8, 0, True)]
    assert bids(e) == [(1, 8, 0), (2, 10, 0)]
    assert fields(e.submit(Replace(order_id=1, qty=9, price=100))) == [
        ("Replaced", 1, 0, 0, 100, 0, 9, 9, 0, False)]
    assert bids(e) == [(2, 10, 0), (1, 9, 0)]


def test_replace_price_change_loses_priority_and_crosses_as_aggressor():
    e = engine()
    run_all(e, limit(1, BUY, 10, 100), limit(2, BUY, 10, 100, account=1),
            limit(3, SELL, 4, 102, account=2))
    ev = e.submit(Replace(order_id=1, qty=10, price=101))     # no cross: to the back at 101
    assert fields(ev) == [("Replaced", 1, 0, 0, 101, 0, 10, 10, 0, False)]
    e.submit(Replace(order_id=1, qty=10, price=100))          # back to 100: behind order 2
    assert bids(e) == [(2, 10, 0), (1, 10, 0)]
    ev = e.submit(Replace(order_id=1, qty=10, price=103))
    assert fields(ev) == [("Replaced", 1, 0, 0, 103, 0, 10, 10, 0, False),
                          ("Trade", 1, 0, 102, 4, BUY, 1, 3, 0, 2, 6, 4, 0, 4)]
    assert bids(e) == [(1, 6, 0), (2, 10, 0)] and asks(e) == []


def test_replace_down_of_an_iceberg_takes_hidden_first():
    e = engine()
    e.submit(limit(1, SELL, 10, 100, display_qty=4))
    e.submit(Replace(order_id=1, qty=7, price=100))
    assert asks(e) == [(1, 4, 3)]
    e.submit(Replace(order_id=1, qty=2, price=100))
    assert asks(e) == [(1, 2, 0)]


# ---------------------------------------------------------------- FOK, post-only

def _fok_book():
    e = engine()
    e.submit(limit(1, SELL, 5, 100, account=1))
    e.submit(limit(2, SELL, 5, 101, account=1, display_qty=2))   # shown 2, hidden 3
    return e


def test_fok_exactly_fillable_fills_counting_hidden_volume():
    e = _fok_book()
    ev = e.submit(limit(3, BUY, 10, 101, tif=FOK))
    assert trades(ev) == [(3, 1, 100, 5), (3, 2, 101, 2), (3, 2, 101, 2), (3, 2, 101, 1)]
    assert asks(e) == [] and e.live_orders() == 0


def test_fok_that_needs_hidden_volume_fills():
    e = _fok_book()
    ev = e.submit(limit(3, BUY, 8, 101, tif=FOK))     # shown is only 7
    assert trades(ev) == [(3, 1, 100, 5), (3, 2, 101, 2), (3, 2, 101, 1)]
    assert asks(e) == [(2, 1, 1)]


def test_fok_one_short_is_killed_and_changes_nothing():
    e = _fok_book()
    ev = e.submit(limit(3, BUY, 11, 101, tif=FOK))
    assert fields(ev[1:]) == [("Cancelled", 3, 0, 0, CancelCause.FOK_KILL, 11, 0)]
    assert asks(e) == [(1, 5, 0), (2, 2, 3)]
    ev = e.submit(limit(4, BUY, 6, 100, tif=FOK))      # within its limit only 5
    assert fields(ev[1:]) == [("Cancelled", 4, 0, 0, CancelCause.FOK_KILL, 6, 0)]


def test_post_only_touching_the_opposite_best_is_rejected_one_tick_away_rests():
    e = engine()
    run_all(e, limit(1, SELL, 5, 100, account=1), limit(2, BUY, 5, 98, account=1))
    po = int(OrderFlags.POST_ONLY)
    assert fields(e.submit(limit(3, BUY, 5, 100, flags=po))) == [
        ("Rejected", 3, 0, 0, NEW_, ReasonCode.POST_ONLY_WOULD_CROSS)]
    assert fields(e.submit(limit(3, SELL, 5, 98, flags=po))) == [
        ("Rejected", 3, 0, 0, NEW_, ReasonCode.POST_ONLY_WOULD_CROSS)]
    assert [type(x).__name__ for x in e.submit(limit(3, BUY, 5, 99, flags=po))] == ["Accepted"]
    assert [type(x).__name__ for x in e.submit(limit(4, SELL, 5, 99 + 1, flags=po,
                                                     account=2))] == ["Accepted"]
    assert bids(e) == [(3, 5, 0), (2, 5, 0)] and asks(e) == [(1, 5, 0), (4, 5, 0)]


# ---------------------------------------------------------------- icebergs

def test_iceberg_refresh_goes_behind_a_later_order_and_hidden_trades_last():
    e = engine()
    e.submit(limit(1, SELL, 10, 100, account=1, display_qty=3))     # shown 3, hidden 7
    e.submit(limit(2, SELL, 4, 100, account=2))                     # arrives after it
    e.submit(limit(3, SELL, 2, 100, account=2))
    ev = e.submit(limit(4, BUY, 12, 100))
    # all shown quantity at 100 (3 + 4 + 2) trades before the first hidden part
    assert trades(ev) == [(4, 1, 100, 3), (4, 2, 100, 4), (4, 3, 100, 2), (4, 1, 100, 3)]
    assert asks(e) == [(1, 3, 1)]
    assert e.depth(0).asks[0].qty == 3                    # L2 shows the shown part only


# ---------------------------------------------------------------- stops

def test_stop_cascade_in_the_documented_order_buy_stops_lowest_first():
    e = engine()
    run_all(e, limit(1, SELL, 1, 100, account=1), limit(2, SELL, 1, 102, account=1),
            limit(3, SELL, 1, 104, account=1))
    run_all(e, stop(11, BUY, 1, 102, account=2), stop(12, BUY, 1, 100, account=2),
            stop(13, BUY, 1, 104, account=2))
    assert [s.order_id for s in e.book_state(0).buy_stops] == [12, 11, 13]
    ev = e.submit(limit(4, BUY, 1, 100))
    assert fields(ev[1:]) == [
        ("Trade", 1, 0, 100, 1, BUY, 4, 1, 0, 1, 0, 1, 0, 1),
        ("StopTriggered", 12, 0, 2, 100),         # stop 100 reached; 102 and 104 not yet
        ("Trade", 2, 0, 102, 1, BUY, 12, 2, 2, 1, 0, 1, 0, 1),
        ("StopTriggered", 11, 0, 2, 102),         # triggered by stop 12's trade
        ("Trade", 3, 0, 104, 1, BUY, 11, 3, 2, 1, 0, 1, 0, 1),
        ("StopTriggered", 13, 0, 2, 104),
        ("Cancelled", 13, 0, 2, CancelCause.IOC_REMAINDER, 1, 0)]   # nothing left to buy
    assert e.book_state(0).buy_stops == [] and e.live_orders() == 0


def test_one_aggression_queues_buy_stops_then_sell_stops_highest_first():
    e = engine()
    run_all(e, limit(1, SELL, 1, 100, account=1), limit(2, BUY, 1, 100))   # last 100
    run_all(e, limit(3, SELL, 1, 98, account=1), limit(4, SELL, 1, 102, account=1))
    run_all(e, stop(21, SELL, 1, 97, account=2, price=107),
            stop(24, SELL, 1, 98, account=2, price=106),
            stop(22, SELL, 1, 99, account=2, price=105),
            stop(23, BUY, 1, 101, account=2, price=95, tif=GTC))
    ev = e.submit(limit(5, BUY, 2, 102))          # trades at 98 and 102: lo 98, hi 102
    assert [x.order_id for x in ev if type(x).__name__ == "StopTriggered"] == [23, 22, 24]
    assert [s.order_id for s in e.book_state(0).sell_stops] == [21]     # 97 < 98
    # triggered stop-limits rest as limit orders
    assert [(o.order_id, o.price) for o in e.book_state(0).bids] == [(23, 95)]
    assert [(o.order_id, o.price) for o in e.book_state(0).asks] == [(22, 105), (24, 106)]


def test_stop_entering_when_the_last_price_already_reached_it_triggers_at_once():
    e = engine()
    run_all(e, limit(1, SELL, 2, 100, account=1), limit(2, BUY, 1, 100))   # last 100
    ev = e.submit(stop(3, BUY, 1, 100))            # stop == last price: reached
    assert fields(ev[1:]) == [("StopTriggered", 3, 0, 0, 100),
                              ("Trade", 2, 0, 100, 1, BUY, 3, 1, 0, 1, 0, 1, 0, 2)]
    ev = e.submit(stop(4, SELL, 3, 101, price=99, tif=GTC))   # sell stop above the last
    assert fields(ev[1:]) == [("StopTriggered", 4, 0, 0, 100)]
    assert [(o.order_id, o.price, o.qty) for o in e.book_state(0).asks] == [(4, 99, 3)]
    assert fields(e.submit(stop(5, BUY, 1, 101)))[0][0] == "Accepted"   # above: waits
    assert [s.order_id for s in e.book_state(0).buy_stops] == [5]


# ---------------------------------------------------------------- self-trade prevention

def _stp(mode):
    """Account 0 has `mode`; accounts 0 and 1 share group 7; account 2 is alone."""
    return engine(accounts=[AccountSpec(mode, 7), AccountSpec(StpMode.NONE, 7), AccountSpec()])


def test_stp_cancel_aggressor():
    e = _stp(StpMode.CANCEL_AGGRESSOR)
    e.submit(limit(1, SELL, 5, 100, account=1))
    ev = e.submit(limit(2, BUY, 5, 100, account=0))
    assert fields(ev[1:]) == [("Cancelled", 2, 0, 0, STP, 5, 0)]
    assert asks(e) == [(1, 5, 0)]


def test_stp_cancel_resting_and_the_aggressor_goes_on():
    e = _stp(StpMode.CANCEL_RESTING)
    run_all(e, limit(1, SELL, 5, 100, account=1), limit(2, SELL, 5, 100, account=2))
    ev = e.submit(limit(3, BUY, 5, 100, account=0))
    assert fields(ev[1:]) == [("Cancelled", 1, 0, 1, STP, 5, 0),
                              ("Trade", 1, 0, 100, 5, BUY, 3, 2, 0, 2, 0, 5, 0, 5)]


def test_stp_cancel_both_resting_first():
    e = _stp(StpMode.CANCEL_BOTH)
    e.submit(limit(1, SELL, 5, 100, account=1))
    ev = e.submit(limit(2, BUY, 3, 100, account=0))
    assert fields(ev[1:]) == [("Cancelled", 1, 0, 1, STP, 5, 0), ("Cancelled", 2, 0, 0, STP, 3, 0)]
    assert asks(e) == []


def test_stp_decrement_aggressor_smaller_reduces_resting_hidden_first():
    e = _stp(StpMode.DECREMENT)
    run_all(e, limit(1, SELL, 10, 100, account=1, display_qty=4),
            limit(2, SELL, 3, 100, account=2))
    ev = e.submit(limit(3, BUY, 6, 100, account=0))           # A=6 < R=10
    assert fields(ev[1:]) == [("Reduced", 1, 0, 1, STP, 6, 4, 0),   # qty, leaves, cum
                              ("Cancelled", 3, 0, 0, STP, 6, 0)]
    assert asks(e) == [(1, 4, 0), (2, 3, 0)]                       # kept its place


def test_stp_decrement_aggressor_larger_goes_on_reduced():
    e = _stp(StpMode.DECREMENT)
    run_all(e, limit(1, SELL, 4, 100, account=1), limit(2, SELL, 3, 100, account=2))
    ev = e.submit(limit(3, BUY, 6, 100, account=0))           # A=6 > R=4
    assert fields(ev[1:]) == [("Cancelled", 1, 0, 1, STP, 4, 0),
                              ("Reduced", 3, 0, 0, STP, 4, 2, 0),
                              ("Trade", 1, 0, 100, 2, BUY, 3, 2, 0, 2, 0, 2, 1, 2)]
    assert asks(e) == [(2, 1, 0)] and bids(e) == []


def test_stp_decrement_equal_cancels_both():
    e = _stp(StpMode.DECREMENT)
    e.submit(limit(1, SELL, 5, 100, account=1))
    ev = e.submit(limit(2, BUY, 5, 100, account=0))           # A = R
    assert fields(ev[1:]) == [("Cancelled", 1, 0, 1, STP, 5, 0), ("Cancelled", 2, 0, 0, STP, 5, 0)]


def test_stp_is_the_aggressors_mode_and_fok_will_not_fill_around_its_group():
    e = _stp(StpMode.CANCEL_RESTING)
    e.submit(limit(1, SELL, 5, 100, account=0))
    assert trades(e.submit(limit(2, BUY, 1, 100, account=1))) == [(2, 1, 100, 1)]  # NONE
    e.submit(limit(3, SELL, 5, 101, account=2))
    ev = e.submit(limit(4, BUY, 9, 101, account=0, tif=FOK))
    assert fields(ev[1:]) == [("Cancelled", 4, 0, 0, CancelCause.FOK_KILL, 9, 0)]


# ---------------------------------------------------------------- market orders, band

def test_market_order_is_bounded_by_the_band_edge_inclusive():
    e = engine(books=[BookSpec(band_lo=97, band_hi=103)])
    run_all(e, limit(1, SELL, 2, 103, account=1), limit(2, SELL, 2, 100, account=1))
    assert fields(e.submit(limit(3, SELL, 2, 104, account=1)))[0][-1] == \
        ReasonCode.OUTSIDE_PRICE_BAND                 # nothing can rest beyond the band
    ev = e.submit(NewOrder(4, 0, 0, BUY, 5, ord_type=MARKET))
    assert trades(ev) == [(4, 2, 100, 2), (4, 1, 103, 2)]
    assert fields(ev[-1:]) == [("Cancelled", 4, 0, 0, CancelCause.IOC_REMAINDER, 1, 4)]


def test_market_order_into_an_empty_book_is_cancelled_as_ioc_remainder():
    e = engine()
    ev = e.submit(NewOrder(1, 0, 0, SELL, 4, price=77, ord_type=MARKET, tif=GTC))
    assert fields(ev) == [("Accepted", 1, 0, 0, SELL, MARKET, GTC, 0, 0, 0, 4, 0),
                          ("Cancelled", 1, 0, 0, CancelCause.IOC_REMAINDER, 4, 0)]


# ---------------------------------------------------------------- mass cancel, expiry

def _two_books():
    e = engine(books=[BookSpec(), BookSpec()])
    run_all(e, limit(1, BUY, 1, 99, account=0), limit(2, BUY, 1, 100, account=1),
            limit(3, SELL, 1, 101, account=0), stop(4, BUY, 1, 105, account=1),
            stop(5, SELL, 1, 90, account=0, tif=GTC), limit(6, BUY, 1, 50, instrument=1),
            limit(7, SELL, 1, 60, account=1, instrument=1, tif=GTC))
    return e


def _cancelled_ids(ev):
    assert all(x.cause == CancelCause.MASS_CANCEL for x in ev[:-1])
    return [x.order_id for x in ev[:-1]]


@pytest.mark.parametrize("instrument, account, side, ids", [
    (-1, 0, 0, [1, 3, 5, 6]),                    # by account, across instruments
    (1, -1, 0, [6, 7]),                          # by instrument
    (-1, -1, -1, [3, 5, 7]),                     # by side (sells)
    (-1, -1, 0, [2, 1, 3, 4, 5, 6, 7]),          # all: bids best first, asks, stops
    (0, 1, 1, [2, 4]),                           # all filters at once
    (-1, -3, 0, []),                             # an account that cannot match
])
def test_mass_cancel_filters_order_and_count(instrument, account, side, ids):
    e = _two_books()
    ev = e.submit(MassCancel(request_id=77, instrument=instrument, account=account, side=side))
    assert _cancelled_ids(ev) == ids
    assert fields(ev[-1:]) == [("MassCancelled", 77, instrument, account, side, len(ids))]
    assert e.live_orders() == 7 - len(ids)
    e.check()


def test_mass_cancel_of_an_unknown_instrument_is_rejected():
    e = _two_books()
    assert fields(e.submit(MassCancel(request_id=8, instrument=2))) == [
        ("Rejected", 8, 2, -1, CommandKind.MASS_CANCEL, ReasonCode.UNKNOWN_INSTRUMENT)]


def test_expiry_hits_day_orders_not_gtc():
    e = _two_books()
    ev = e.submit(ExpireOrders(instrument=0))
    # order_id, instrument, account, qty, cum; bids, asks, buy stops; not sell stop 5 (GTC)
    assert fields(ev) == [("Expired", 2, 0, 1, 1, 0), ("Expired", 1, 0, 0, 1, 0),
                          ("Expired", 3, 0, 0, 1, 0), ("Expired", 4, 0, 1, 1, 0)]
    ev = e.submit(ExpireOrders(instrument=-1))
    assert [x.order_id for x in ev] == [6]                      # not GTC 7
    assert e.live_orders() == 2                     # GTC 5 and 7 stay
    assert e.submit(ExpireOrders(instrument=-1)) == []


# ---------------------------------------------------------------- the price range

def test_an_instruments_prices_stay_within_max_span_ticks_for_good():
    e = engine()
    far = 100 + MAX_SPAN - 1                           # range 100..far: MAX_SPAN - 1 wide
    run_all(e, limit(1, BUY, 1, 100), limit(2, SELL, 1, far, account=1))
    out = ReasonCode.PRICE_OUT_OF_RANGE
    assert fields(e.submit(limit(3, BUY, 1, 99))) == [("Rejected", 3, 0, 0, NEW_, out)]
    assert fields(e.submit(limit(3, SELL, 1, far + 1)))[0][-1] == out
    assert fields(e.submit(stop(3, SELL, 1, 99)))[0][-1] == out       # stop prices too
    assert fields(e.submit(Replace(order_id=1, qty=1, price=99, account=-1))) == [
        ("Rejected", 1, 0, 0, REPLACE_, out)]
    e.submit(MassCancel(request_id=1))                 # the range does not shrink
    assert fields(e.submit(limit(3, BUY, 1, 99)))[0][-1] == out
    assert fields(e.submit(NewOrder(3, 0, 0, BUY, 1, price=7, ord_type=MARKET)))[0][0] == \
        "Accepted"                                     # a market order's price is ignored
    assert fields(e.submit(limit(4, BUY, 1, 100)))[0][0] == "Accepted"
    e.check()


# ---------------------------------------------------------------- ids, seq, ts

@pytest.mark.parametrize("finish", [
    [limit(2, SELL, 5, 100, account=1)],                              # filled
    [Cancel(order_id=1)],                                             # cancelled
    [MassCancel(request_id=9)],                                       # mass cancelled
    [ExpireOrders()],                                                 # expired
])
def test_an_order_id_is_never_reusable_after_the_order_is_done(finish):
    e = engine()
    e.submit(limit(1, BUY, 5, 100))
    run_all(e, *finish)
    assert not e.is_live(1)
    assert fields(e.submit(limit(1, BUY, 5, 100))) == [
        ("Rejected", 1, 0, 0, NEW_, ReasonCode.DUPLICATE_ORDER_ID)]
    assert fields(e.submit(limit(1, BUY, 5, 100, account=7)))[0][-1] == \
        ReasonCode.INVALID_ACCOUNT                  # validation order: account first


def test_ids_of_ioc_and_fok_orders_are_taken_and_a_rejected_orders_id_stays_usable():
    e = engine()
    e.submit(limit(1, BUY, 5, 100, tif=IOC))
    e.submit(limit(2, BUY, 5, 100, tif=FOK))
    assert e.submit(limit(3, BUY, 0, 100))[0].reason == ReasonCode.QTY_NOT_POSITIVE
    for oid in (1, 2):
        assert e.submit(limit(oid, BUY, 5, 100))[0].reason == ReasonCode.DUPLICATE_ORDER_ID
    assert fields(e.submit(limit(3, BUY, 5, 100)))[0][0] == "Accepted"
    assert e.order_ids_taken() == 3


def test_sequence_numbers_and_trade_ids_count_from_one_engine_wide():
    e = engine(books=[BookSpec(), BookSpec()])
    evs = [e.submit(c) for c in (limit(1, SELL, 5, 100, account=1),
                                 limit(2, SELL, 5, 50, account=1, instrument=1),
                                 limit(3, BUY, 0, 50, instrument=1),          # rejected
                                 limit(4, BUY, 2, 50, instrument=1),
                                 limit(5, BUY, 2, 100))]
    flat = [x for ev in evs for x in ev]
    assert [x.seq for x in flat] == list(range(1, 8))
    assert [(x.trade_id, x.instrument) for x in flat if type(x).__name__ == "Trade"] == [
        (1, 1), (2, 0)]


def test_every_event_carries_its_commands_ts():
    e = engine()
    run_all(e, NewOrder(1, 0, 1, SELL, 1, price=100, ts=10),
            NewOrder(2, 0, 1, SELL, 1, price=101, ts=10), stop(3, BUY, 1, 100))
    ev = e.submit(NewOrder(4, 0, 0, BUY, 1, price=100, ts=20))     # trade, stop cascade
    assert len(ev) == 4 and {x.ts for x in ev} == {20}
    assert {x.ts for x in e.submit(Cancel(order_id=99, ts=30))} == {30}
    assert {x.ts for x in e.submit(MassCancel(request_id=1, ts=40))} == {40}


# ---------------------------------------------------------------- growth

def test_growth_100k_resting_orders_then_one_sweep():
    n = 100_000
    e = engine(**TINY)
    cmds = np.zeros(n, COMMAND_DTYPE)
    cmds["kind"] = int(CommandKind.NEW)
    cmds["order_id"] = np.arange(1, n + 1)
    cmds["account"] = 1
    cmds["side"] = int(BUY)
    cmds["ord_type"], cmds["tif"] = int(LIMIT), int(GTC)
    cmds["price"] = 1000 + np.arange(n) % 500          # 500 levels of 200 orders
    cmds["qty"] = 1 + np.arange(n) % 3
    assert e.run(cmds) == n
    assert e.live_orders() == n and len(e.depth(0).bids) == 500
    total = int(cmds["qty"].sum())
    ev = e.submit(NewOrder(n + 1, 0, 0, SELL, total + 1, ord_type=MARKET))
    assert len(ev) == n + 2 and len(e.ev) >= n + 2       # the event buffer grew for it
    assert ev[1].price == 1499 and ev[-2].price == 1000 and ev[-2].trade_id == n
    assert ev[-1].qty == 1 and ev[-1].cum == total
    assert e.live_orders() == 0 and e.depth(0).bids == []
    e.check()


# ---------------------------------------------------------------- the per-command door's guards

def _state(e):
    return ([e.book_state(b) for b in range(e.instrument_count)], e.live_orders(),
            e.order_ids_taken(), int(e.ctr[0]))


@pytest.mark.parametrize("garbage", [
    b"", b"\x00", b"\xff\xfe garbage", b"\x93\x05\x00",                 # truncated expiry
    COMMAND_ENCODER.encode(Cancel(order_id=1)) + b"\x00",                # trailing byte
    COMMAND_ENCODER.encode(Cancel(order_id=1))[:-1],                     # one byte short
    msgspec.msgpack.encode([1, 2, 3]), msgspec.msgpack.encode([9, 1, 0, -1, 0]),
    msgspec.msgpack.encode([2, "x", -1, -1, 0]), msgspec.msgpack.encode({"a": 1}),
])
def test_submit_encoded_garbage_raises_and_changes_nothing(garbage):
    e = engine()
    run_all(e, limit(1, BUY, 5, 100), limit(2, SELL, 2, 100, account=1), stop(3, SELL, 1, 90))
    before = _state(e)
    with pytest.raises(ValueError):
        e.submit_encoded(garbage)
    assert _state(e) == before
    e.check()
    assert e.submit(Cancel(order_id=1))[0].seq == before[3] + 1


def test_an_order_id_beyond_int64_is_refused():
    e = engine()
    before = _state(e)
    with pytest.raises(ValueError):
        e.submit(limit(2 ** 63, BUY, 5, 100))
    with pytest.raises(ValueError):
        e.submit(Cancel(order_id=2 ** 64 - 1))
    assert _state(e) == before
    assert e.submit(limit(2 ** 63 - 1, BUY, 5, 100))[0].order_id == 2 ** 63 - 1
    e.check()


# ---------------------------------------------------------------- the invariant checker

def _slot(e, order_id):
    return int(np.flatnonzero(e.orders["order_id"] == order_id)[0])


def _set(array, index, value):
    array[index] = value


@pytest.mark.parametrize("corrupt, invariant", [
    (lambda e: _set(e.levels["qty"], e.orders["level"][_slot(e, 1)], 9), "fifo"),
    (lambda e: _set(e.orders["prev"], _slot(e, 2), 7), "fifo"),
    (lambda e: _set(e.orders["hidden"], _slot(e, 2), 1), "order"),   # without display
    (lambda e: _set(e.orders["side"], _slot(e, 3), 1), "order"),
    (lambda e: _set(e.books["n_resting"], 0, 9), "counters"),
    (lambda e: _set(e.books["ice"], 0, 1), "counters"),
    (lambda e: _set(e.ctr, C_LIVE, 0), "counters"),
    (lambda e: _set(e.ctr, C_NFREE_ORDER, e.ctr[C_NFREE_ORDER] - 1), "free lists"),
    (lambda e: _set(e.ids["slot"], np.flatnonzero(e.ids["key"] == 1)[0], -2), "ids"),
    (lambda e: _set(e.ctr, C_IDS, e.ctr[C_IDS] + 1), "ids"),
    (lambda e: _set(e.ctr, C_TQ_HEAD, 0), "trigger queue"),
])
def test_the_invariant_checker_names_what_is_broken(corrupt, invariant):
    e = engine()
    run_all(e, limit(1, BUY, 5, 99), limit(2, BUY, 3, 99, account=1),
            limit(3, SELL, 4, 101, account=2), stop(4, SELL, 1, 90))
    e.check()
    corrupt(e)
    with pytest.raises(AssertionError, match=re.escape(f"invariant [{invariant}]")):
        e.check()


# ---------------------------------------------------------------- regressions

def test_replace_down_of_a_stop_keeps_its_level_totals():
    """Found by the invariant checker: a priority-keeping replace of a stop set
    the order's qty without lowering its stop level's `qty` total."""
    e = engine()
    run_all(e, stop(1, BUY, 5, 120), stop(2, BUY, 5, 120))
    assert fields(e.submit(Replace(order_id=1, qty=2))) == [
        ("Replaced", 1, 0, 0, 0, 120, 2, 2, 0, True)]
    assert [(s.order_id, s.qty) for s in e.book_state(0).buy_stops] == [(1, 2), (2, 5)]
    e.check()


EVENT_BUDGET_SCRIPT = textwrap.dedent("""
    from engine.commands import NewOrder
    from engine.enums import OrdType
    from engine.matching import MatchingEngine
    from engine.reference import ReferenceEngine
    from engine.specs import AccountSpec, BookSpec
    books, accounts = [BookSpec()], [AccountSpec(), AccountSpec()]
    e = MatchingEngine(books, accounts, event_capacity=2)
    r = ReferenceEngine(books, accounts)
    cmds = [NewOrder(1, 0, 1, -1, 50, ord_type=OrdType.STOP, stop_price=100),
            NewOrder(2, 0, 1, -1, 1, price=100),
            NewOrder(3, 0, 0, 1, 101, price=100, display_qty=1)]
    for c in cmds:
        events = e.submit(c)
        assert len(events) <= len(e.ev), f"{len(events)} events in a {len(e.ev)}-row buffer"
        assert events == r.submit(c)
    e.check()
    print("ok", len(events))
""")


def test_resting_iceberg_fed_to_triggered_stops_fits_the_event_buffer():
    """Found by review: the room check reserved no event rows for an iceberg
    that comes to rest in the same command and is then traded part by part by
    the stops its trades triggered (here 53 events where 17 were reserved), so
    the kernels wrote past the event buffer. In a subprocess: with the JIT such
    an overflow corrupts the heap (it crashed with SIGSEGV)."""
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.run([sys.executable, "-c", EVENT_BUDGET_SCRIPT], cwd=root,
                          env=dict(os.environ, PYTHONPATH=str(root)),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and proc.stdout.split() == ["ok", "53"], (
        f"exit {proc.returncode}: {proc.stdout[-500:]} {proc.stderr[-1500:]}")


def test_triggered_stop_limit_rests_inside_its_ladder():
    """Found by the property test: an empty ladder was moved to each new
    order's price, away from the limit price a waiting stop-limit had been
    promised, so the stop, once triggered, rested on a rung outside the ladder."""
    e = engine(accounts=[AccountSpec() for _ in range(5)])
    run_all(e, limit(1, SELL, 1, 100, account=3),
            stop(2, BUY, 1, 100, account=2, price=2000, tif=GTC))  # bids ladder to 2000
    ev = e.submit(limit(3, BUY, 1, 100, account=4))   # the empty bids ladder stays
    assert [type(x).__name__ for x in ev] == ["Accepted", "Trade", "StopTriggered"]
    assert bids(e) == [(2, 1, 0)] and e.depth(0).bids[0].price == 2000
    e.check()


def test_qty_is_at_most_max_qty_so_level_totals_fit_int64():
    """Found by review: without a maximum, two resting orders of 2**62 made a
    level's qty wrap to -2**63."""
    e = engine()
    run_all(e, limit(1, BUY, MAX_QTY, 100), limit(2, BUY, MAX_QTY, 100, account=1))
    assert e.depth(0).bids[0].qty == 2 * MAX_QTY
    assert fields(e.submit(limit(3, BUY, MAX_QTY + 1, 100))) == [
        ("Rejected", 3, 0, 0, NEW_, ReasonCode.QTY_TOO_LARGE)]
    assert fields(e.submit(Replace(order_id=1, qty=MAX_QTY + 1, price=100))) == [
        ("Rejected", 1, 0, 0, REPLACE_, ReasonCode.QTY_TOO_LARGE)]
    e.check()


def test_an_iceberg_is_cut_into_at_most_1000_parts():
    """display_qty * 1000 >= qty, so that one command's events stay bounded
    (MAX_PARTS); checked on entry and on every replace, after the qty checks."""
    e = engine()
    bad_display = ReasonCode.INVALID_DISPLAY_QTY
    assert fields(e.submit(limit(1, BUY, 2 ** 62, 100, display_qty=1))) == [
        ("Rejected", 1, 0, 0, NEW_, ReasonCode.QTY_TOO_LARGE)]
    assert fields(e.submit(limit(1, BUY, 1001, 100, display_qty=1))) == [
        ("Rejected", 1, 0, 0, NEW_, bad_display)]
    assert type(e.submit(limit(1, BUY, 1000, 100, display_qty=1))[0]).__name__ == "Accepted"
    assert fields(e.submit(Replace(order_id=1, qty=1001, price=100))) == [
        ("Rejected", 1, 0, 0, REPLACE_, bad_display)]
    assert fields(e.submit(Replace(order_id=1, qty=MAX_QTY + 1, price=100))) == [
        ("Rejected", 1, 0, 0, REPLACE_, ReasonCode.QTY_TOO_LARGE)]
    ev = e.submit(limit(2, SELL, 1000, 100, account=1))      # every part, one by one
    assert [type(x).__name__ for x in ev].count("Trade") == 1000
    assert len(e.ev) < 1 << 16                                # no runaway reservation
    e.check()
