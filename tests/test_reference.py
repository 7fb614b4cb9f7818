"""Example tests of the reference matching engine alone (docs/MATCHING.md)."""
from engine.commands import Cancel, ExpireOrders, MassCancel, NewOrder, Replace
from engine.enums import CancelCause, CommandKind, OrderFlags, OrdType, Side, StpMode, TimeInForce
from engine.events import (Accepted, Cancelled, Expired, MassCancelled, Reduced, Rejected,
                           Replaced, StopTriggered, Trade)
from engine.reasons import ReasonCode
from engine.reference import ReferenceEngine
from engine.specs import AccountSpec, BookSpec

BUY, SELL = Side.BUY, Side.SELL


def engine(accounts=None, books=None):
    return ReferenceEngine(books or [BookSpec(lot=1)],
                           accounts or [AccountSpec() for _ in range(4)])


def limit(oid, side, qty, price, account=0, tif=TimeInForce.DAY, **kw):
    return NewOrder(order_id=oid, instrument=0, account=account, side=side, qty=qty,
                    price=price, tif=tif, **kw)


def kinds(events):
    return [type(e).__name__ for e in events]


def trades(events):
    return [e for e in events if isinstance(e, Trade)]


def test_price_time_priority_and_trade_at_resting_price():
    e = engine()
    e.submit(limit(1, SELL, 5, 101, account=1))
    e.submit(limit(2, SELL, 5, 100, account=1))
    e.submit(limit(3, SELL, 5, 100, account=2))
    ev = e.submit(limit(4, BUY, 12, 105))
    t = trades(ev)
    # best price first, then time priority within it; each prints at the resting price
    assert [(x.sell_order_id, x.price, x.qty) for x in t] == [(2, 100, 5), (3, 100, 5),
                                                               (1, 101, 2)]
    assert [x.trade_id for x in t] == [1, 2, 3]
    assert all(x.aggressor == BUY for x in t)
    assert (t[-1].buy_leaves, t[-1].buy_cum, t[-1].sell_leaves, t[-1].sell_cum) == (0, 12, 3, 2)
    assert [x.seq for x in ev] == [4, 5, 6, 7]        # engine-wide sequence, from 1
    state = e.book_state(0)
    assert [(o.order_id, o.qty) for o in state.asks] == [(1, 3)]
    assert state.bids == [] and state.last_price == 101


def test_ioc_remainder_cancelled_and_market_price_zero():
    e = engine()
    e.submit(limit(1, SELL, 5, 100, account=1))
    ev = e.submit(limit(2, BUY, 8, 100, tif=TimeInForce.IOC))
    assert kinds(ev) == ["Accepted", "Trade", "Cancelled"]
    assert ev[2].cause == CancelCause.IOC_REMAINDER and ev[2].qty == 3 and ev[2].cum == 5
    ev = e.submit(NewOrder(3, 0, 0, BUY, 4, price=77, ord_type=OrdType.MARKET))
    assert ev[0].price == 0 and ev[0].stop_price == 0
    assert ev[1] == Cancelled(ev[1].seq, 0, 3, 0, 0, CancelCause.IOC_REMAINDER, 4, 0)
    assert e.top(0).bid_price is None and e.top(0).ask_price is None


def test_fok_exactly_fillable_and_one_short():
    e = engine()
    e.submit(limit(1, SELL, 5, 100, account=1))
    e.submit(limit(2, SELL, 5, 101, account=1, display_qty=2))   # hidden counts too
    ev = e.submit(limit(3, BUY, 11, 101, tif=TimeInForce.FOK))
    assert kinds(ev) == ["Accepted", "Cancelled"]
    assert ev[1].cause == CancelCause.FOK_KILL and ev[1].qty == 11
    assert len(e.book_state(0).asks) == 2
    ev = e.submit(limit(4, BUY, 10, 101, tif=TimeInForce.FOK))
    assert sum(t.qty for t in trades(ev)) == 10
    assert kinds(ev)[-1] == "Trade"
    assert e.book_state(0).asks == []


def test_post_only_touching_rejected_one_tick_away_accepted():
    e = engine()
    e.submit(limit(1, SELL, 5, 100, account=1))
    ev = e.submit(limit(2, BUY, 5, 100, flags=int(OrderFlags.POST_ONLY)))
    assert ev == [Rejected(2, 0, 2, 0, 0, CommandKind.NEW, ReasonCode.POST_ONLY_WOULD_CROSS)]
    ev = e.submit(limit(2, BUY, 5, 99, flags=int(OrderFlags.POST_ONLY)))  # id still unused
    assert kinds(ev) == ["Accepted"]
    assert e.top(0).bid_price == 99


def test_iceberg_refresh_goes_behind_other_order_at_same_price():
    e = engine()
    e.submit(limit(1, SELL, 10, 100, account=1, display_qty=3))
    e.submit(limit(2, SELL, 4, 100, account=2))
    assert [(o.order_id, o.qty, o.hidden) for o in e.book_state(0).asks] == [(1, 3, 7), (2, 4, 0)]
    ev = e.submit(limit(3, BUY, 9, 100))
    # iceberg shown 3, then order 2 (4), then the iceberg's refreshed part (2 of 3)
    assert [(t.sell_order_id, t.qty) for t in trades(ev)] == [(1, 3), (2, 4), (1, 2)]
    assert [(o.order_id, o.qty, o.hidden, o.cum) for o in e.book_state(0).asks] == [
        (1, 1, 4, 5)]
    assert e.depth(0).asks[0].qty == 1            # L2 shows the shown part only


def test_replace_to_filled_qty_ends_order():
    e = engine()
    e.submit(limit(1, BUY, 10, 100))
    e.submit(limit(2, SELL, 4, 100, account=1))
    ev = e.submit(Replace(order_id=1, qty=4, price=100))
    assert ev == [Replaced(4, 0, 1, 0, 0, 100, 0, 4, 0, 4, False)]
    assert e.book_state(0).bids == []
    ev = e.submit(Cancel(order_id=1))
    assert ev[0].reason == ReasonCode.TOO_LATE


def test_replace_priority_kept_on_decrease_lost_on_increase():
    e = engine()
    e.submit(limit(1, BUY, 10, 100, display_qty=4))
    e.submit(limit(2, BUY, 10, 100, account=1))
    ev = e.submit(Replace(order_id=1, qty=7, price=100))
    assert ev[0].kept_priority and ev[0].leaves == 7
    # the iceberg loses hidden first: shown 4 stays, hidden 6 -> 3
    assert [(o.order_id, o.qty, o.hidden) for o in e.book_state(0).bids] == [(1, 4, 3), (2, 10, 0)]
    ev = e.submit(Replace(order_id=1, qty=8, price=100))
    assert not ev[0].kept_priority
    assert [(o.order_id, o.qty, o.hidden) for o in e.book_state(0).bids] == [(2, 10, 0), (1, 4, 4)]
    # a rejected replace after the lookup names the order's instrument and account
    ev = e.submit(Replace(order_id=2, qty=0, price=100))
    assert ev[0].reason == ReasonCode.QTY_NOT_POSITIVE and ev[0].account == 1
    ev = e.submit(Replace(order_id=2, qty=10, price=100, side=-1))
    assert ev[0].reason == ReasonCode.SIDE_MISMATCH


def test_stop_cascade_order():
    e = engine()
    e.submit(limit(1, SELL, 1, 100, account=1))
    e.submit(limit(2, SELL, 1, 102, account=1))
    e.submit(limit(3, SELL, 1, 104, account=1))
    # buy stops: 11 (stop 102) and 12 (stop 100) wait; 13 (stop 104) waits for the cascade
    for oid, sp in ((11, 102), (12, 100), (13, 104)):
        ev = e.submit(NewOrder(oid, 0, 2, BUY, 1, ord_type=OrdType.STOP, stop_price=sp))
        assert ev[0].price == 0 and ev[0].stop_price == sp
    assert [s.order_id for s in e.book_state(0).buy_stops] == [12, 11, 13]
    ev = e.submit(limit(4, BUY, 1, 100))
    assert kinds(ev) == ["Accepted", "Trade",
                         "StopTriggered", "Trade",       # 12 (lowest stop) buys at 102
                         "StopTriggered", "Trade",       # 11 buys at 104
                         "StopTriggered", "Cancelled"]   # 13 (triggered by 104): empty book
    st = [x for x in ev if isinstance(x, StopTriggered)]
    assert [(x.order_id, x.last_price) for x in st] == [(12, 100), (11, 102), (13, 104)]
    assert ev[-1].cause == CancelCause.IOC_REMAINDER
    # a stop whose price the last trade already reached triggers at once
    ev = e.submit(NewOrder(14, 0, 2, SELL, 1, ord_type=OrdType.STOP_LIMIT, price=90,
                           stop_price=105, tif=TimeInForce.GTC))
    assert kinds(ev) == ["Accepted", "StopTriggered"]
    assert [(o.order_id, o.price) for o in e.book_state(0).asks] == [(14, 90)]


def _stp_engine(mode):
    # accounts 0 and 1 share group 7; account 2 is its own group
    return engine(accounts=[AccountSpec(mode, 7), AccountSpec(StpMode.NONE, 7), AccountSpec()])


def test_stp_cancel_aggressor_resting_both():
    e = _stp_engine(StpMode.CANCEL_AGGRESSOR)
    e.submit(limit(1, SELL, 5, 100, account=1))
    ev = e.submit(limit(2, BUY, 5, 100, account=0))
    assert kinds(ev) == ["Accepted", "Cancelled"] and ev[1].order_id == 2
    assert ev[1].cause == CancelCause.SELF_TRADE and ev[1].qty == 5

    e = _stp_engine(StpMode.CANCEL_RESTING)
    e.submit(limit(1, SELL, 5, 100, account=1))
    e.submit(limit(2, SELL, 5, 100, account=2))
    ev = e.submit(limit(3, BUY, 5, 100, account=0))
    assert kinds(ev) == ["Accepted", "Cancelled", "Trade"]
    assert ev[1].order_id == 1 and ev[2].sell_order_id == 2

    e = _stp_engine(StpMode.CANCEL_BOTH)
    e.submit(limit(1, SELL, 5, 100, account=1))
    ev = e.submit(limit(2, BUY, 3, 100, account=0))
    assert [(x.order_id, x.qty) for x in ev[1:]] == [(1, 5), (2, 3)]
    # the mode is the aggressor's: account 1 (mode NONE) trades with its group
    e = _stp_engine(StpMode.CANCEL_BOTH)
    e.submit(limit(1, SELL, 5, 100, account=0))
    assert kinds(e.submit(limit(2, BUY, 5, 100, account=1))) == ["Accepted", "Trade"]


def test_stp_decrement_and_fok():
    e = _stp_engine(StpMode.DECREMENT)
    e.submit(limit(1, SELL, 10, 100, account=1, display_qty=4))
    e.submit(limit(2, SELL, 3, 100, account=2))
    ev = e.submit(limit(3, BUY, 6, 100, account=0))       # A < R: resting reduced
    assert ev[1] == Reduced(ev[1].seq, 0, 1, 0, 1, CancelCause.SELF_TRADE, 6, 4, 0)
    assert isinstance(ev[2], Cancelled) and ev[2].order_id == 3 and ev[2].qty == 6
    assert [(o.order_id, o.qty, o.hidden) for o in e.book_state(0).asks] == [(1, 4, 0), (2, 3, 0)]
    ev = e.submit(limit(4, BUY, 6, 100, account=0))       # A > R: aggressor reduced, goes on
    assert kinds(ev) == ["Accepted", "Cancelled", "Reduced", "Trade"]
    assert (ev[2].order_id, ev[2].qty, ev[2].leaves) == (4, 4, 2)
    assert ev[3].qty == 2 and ev[3].sell_order_id == 2
    e.submit(limit(5, SELL, 2, 101, account=1))
    ev = e.submit(limit(6, BUY, 1, 101, account=0))       # A = R... both: 1 vs 1 left on 2
    assert kinds(ev) == ["Accepted", "Trade"]             # order 2 is account 2: trades
    ev = e.submit(limit(7, BUY, 2, 101, account=0))
    assert [(type(x).__name__, x.order_id) for x in ev[1:]] == [("Cancelled", 5),
                                                                 ("Cancelled", 7)]
    # FOK: an own-group order in a level it needs makes it unfillable
    e.submit(limit(8, SELL, 5, 102, account=2))
    e.submit(limit(9, SELL, 5, 103, account=1))
    ev = e.submit(limit(10, BUY, 6, 103, account=0, tif=TimeInForce.FOK))
    assert kinds(ev) == ["Accepted", "Cancelled"] and ev[1].cause == CancelCause.FOK_KILL
    ev = e.submit(limit(11, BUY, 5, 103, account=0, tif=TimeInForce.FOK))
    assert kinds(ev) == ["Accepted", "Trade"]


def test_mass_cancel_filters_and_expiry_order():
    e = engine(books=[BookSpec(), BookSpec()])
    e.submit(limit(1, BUY, 1, 99, account=0))
    e.submit(limit(2, SELL, 1, 101, account=1))
    e.submit(limit(3, BUY, 1, 100, account=0))
    e.submit(NewOrder(4, 1, 0, BUY, 1, price=50, tif=TimeInForce.GTC))
    e.submit(NewOrder(5, 0, 0, SELL, 1, ord_type=OrdType.STOP, stop_price=90))
    ev = e.submit(MassCancel(request_id=77, instrument=-1, account=0, side=int(BUY)))
    assert [x.order_id for x in ev[:-1]] == [3, 1, 4]     # instrument, then best first
    assert all(x.cause == CancelCause.MASS_CANCEL for x in ev[:-1])
    assert ev[-1] == MassCancelled(ev[-1].seq, 0, 77, -1, 0, 1, 3)
    ev = e.submit(MassCancel(request_id=78, instrument=2))
    assert ev[0].reason == ReasonCode.UNKNOWN_INSTRUMENT and ev[0].order_id == 78
    e.submit(NewOrder(6, 1, 0, BUY, 1, price=50, tif=TimeInForce.GTC))
    ev = e.submit(ExpireOrders(instrument=-1))
    assert [(type(x), x.order_id) for x in ev] == [(Expired, 2), (Expired, 5)]  # not GTC 6
    assert ev == [Expired(ev[0].seq, 0, 2, 0, 1, 1, 0), Expired(ev[1].seq, 0, 5, 0, 0, 1, 0)]
    assert e.submit(ExpireOrders(instrument=-2))[0] == Rejected(
        e.seq, 0, 0, -2, -1, CommandKind.EXPIRE, ReasonCode.UNKNOWN_INSTRUMENT)


def test_duplicate_id_after_order_done_and_validation_order():
    e = engine(books=[BookSpec(lot=10, band_lo=50, band_hi=150)])
    e.submit(limit(1, SELL, 10, 100, account=1))
    e.submit(limit(2, BUY, 10, 100))                      # both done now
    ev = e.submit(limit(1, BUY, 10, 100))
    assert ev[0].reason == ReasonCode.DUPLICATE_ORDER_ID
    assert e.submit(limit(3, BUY, 15, 100))[0].reason == ReasonCode.OFF_LOT
    assert e.submit(limit(3, BUY, 10, 151))[0].reason == ReasonCode.OUTSIDE_PRICE_BAND
    assert e.submit(limit(3, BUY, 10, 150))[0] == Accepted(
        e.seq, 0, 3, 0, 0, BUY, OrdType.LIMIT, TimeInForce.DAY, 0, 150, 0, 10, 0)
    ev = e.submit(NewOrder(9, 5, 99, 0, 0))
    assert ev[0].reason == ReasonCode.UNKNOWN_INSTRUMENT and ev[0].account == 99
    assert e.submit(NewOrder(9, 0, 99, 0, 0))[0].reason == ReasonCode.INVALID_ACCOUNT
    assert e.submit(NewOrder(9, 0, 0, 0, 0))[0].reason == ReasonCode.INVALID_SIDE
    ev = e.submit(limit(9, BUY, 10, 100, tif=TimeInForce.IOC, display_qty=5))
    assert ev[0].reason == ReasonCode.INVALID_DISPLAY_QTY
    ev = e.submit(limit(9, BUY, 10, 100, tif=TimeInForce.IOC, display_qty=10))
    assert ev[0].reason == ReasonCode.INVALID_COMBINATION
    assert e.submit(Cancel(order_id=42))[0].reason == ReasonCode.UNKNOWN_ORDER
    assert e.submit(Cancel(order_id=3, account=1))[0].reason == ReasonCode.ACCOUNT_MISMATCH
    assert e.submit(Cancel(order_id=3, instrument=1))[0].reason == \
        ReasonCode.UNKNOWN_INSTRUMENT
