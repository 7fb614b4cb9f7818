"""Every pre-trade check of the risk layer (risk/kernels.py) at its edge, through
`RiskGate.submit`: exactly at the limit passes, one lot, tick or unit past it
is rejected with the check's reason, the limit and the value that broke it, and
the text `RiskGate.reject_detail` makes of them. Also the risk commands, the
book-keeping behind the limits, and the errors of the ``[risk]`` tables
(risk/config.py).

Each test builds the default venue's instruments and accounts (those of
engine/default_config.toml, without its ``[risk]`` tables: AAPL tick 0.01, MSFT,
F lot 100, ESZ5 tick 0.25, EURUSD; ALICE, BOB, FIRMA-MM, FIRMA-ARB) with a short
``[risk]`` snippet of its own (`venue`). Prices in orders are ticks; money in
events is micro-units (1e-6 of the currency): one AAPL share at 100.00 (10000
ticks of 0.01) is 100_000_000.

Every rejection goes through `fails`, which also checks that the rejected
command changed nothing: the risk arrays and the books are compared byte for
byte before and after.
"""
import itertools
import textwrap

import pytest

from engine.commands import Cancel, NewOrder, Replace
from engine.config import ConfigError, parse_config
from engine.enums import CancelCause, CommandKind, OrderFlags, OrdType, Side, TimeInForce
from engine.events import Accepted, Cancelled, MassCancelled, Rejected, Replaced, Trade
from engine.reasons import ReasonCode as R
from risk.commands import (AccountStateChanged, KillSwitch, KillSwitchChanged, LimitChanged,
                           NewTradingDay, SetAccountState, SetLimit, TradingDayStarted)
from risk.config import parse_risk
from risk.gate import RiskGate

VENUE = """
[instruments.AAPL]
tick_size = "0.01"
price_band = ["1.00", "1000.00"]

[instruments.MSFT]
tick_size = "0.01"
price_band = ["1.00", "2000.00"]

[instruments.F]
tick_size = "0.01"
lot_size = 100
price_band = ["0.50", "100.00"]

[instruments.ESZ5]
tick_size = "0.25"
price_band = ["1000.00", "10000.00"]

[instruments.EURUSD]
tick_size = "0.0001"
lot_size = 1000
price_band = ["0.5000", "2.0000"]

[accounts.ALICE]
[accounts.BOB]
[accounts.FIRMA-MM]
stp = "cancel_resting"
stp_group = "FIRM-A"
[accounts.FIRMA-ARB]
stp = "decrement"
stp_group = "FIRM-A"
"""
"""The instruments and accounts of engine/default_config.toml, no limits."""

AAPL, MSFT, F, ESZ5, EURUSD = range(5)
ALICE, BOB, MM, ARB = range(4)
BUY, SELL = Side.BUY, Side.SELL
P = 10_000                      # AAPL 100.00, in ticks of 0.01
SECOND = 1_000_000_000
T0 = 1_700_000_000 * SECOND     # a plausible timestamp (ns)

_ids = itertools.count(1)


# ------------------------------------------------------------------ helpers

def venue(risk: str = "") -> RiskGate:
    """The default venue with the ``[risk]`` tables of the TOML snippet `risk`."""
    return RiskGate(parse_config(VENUE + textwrap.dedent(risk), "venue.toml"))


def order(side, qty, price=P, account=ALICE, instrument=AAPL, **kw) -> NewOrder:
    """A new order with a fresh id (a limit order unless `ord_type` says otherwise)."""
    return NewOrder(order_id=next(_ids), instrument=instrument, account=account, side=side,
                    qty=qty, price=price, **kw)


def buy(qty, price=P, account=ALICE, instrument=AAPL, **kw) -> NewOrder:
    return order(BUY, qty, price, account, instrument, **kw)


def sell(qty, price=P, account=ALICE, instrument=AAPL, **kw) -> NewOrder:
    return order(SELL, qty, price, account, instrument, **kw)


def market(side, qty, account=ALICE, instrument=AAPL, **kw) -> NewOrder:
    return order(side, qty, 0, account, instrument, ord_type=OrdType.MARKET, **kw)


def state(g: RiskGate) -> dict:
    """Everything a command may change: the risk arrays and the books."""
    e = g.engine
    arrays = dict(accounts=g.accounts, positions=g.positions, rctr=g.rctr, rings=g.rings,
                  orders=e.orders, ids=e.ids, books=e.books)
    out = {name: a.tobytes() for name, a in arrays.items()}
    out["book_states"] = [e.book_state(b) for b in range(e.instrument_count)]
    out["live"] = (e.live_orders(), e.order_ids_taken())
    return out


def passes(g: RiskGate, cmd) -> list:
    """Submit `cmd`, which the checks let through; its events."""
    events = g.submit(cmd)
    assert events and not isinstance(events[0], Rejected), events
    return events


def fails(g: RiskGate, cmd, reason: R, limit: int = 0, value: int = 0,
          detail: str | None = None) -> Rejected:
    """Submit `cmd`, which must be rejected for `reason` with `limit` and
    `value` (and `detail` as its text), having changed nothing."""
    before = state(g)
    events = g.submit(cmd)
    assert len(events) == 1 and isinstance(events[0], Rejected), events
    ev = events[0]
    assert (ev.reason, ev.limit, ev.value) == (reason, limit, value), ev
    assert ev.order_id == cmd.order_id
    if detail is not None:
        assert g.reject_detail(ev) == detail
    after = state(g)
    for key in before:
        assert before[key] == after[key], f"a rejected command changed {key}"
    return ev


def trade(g: RiskGate, qty, price=P, buyer=ALICE, seller=BOB, instrument=AAPL, ts=0):
    """`seller` rests, `buyer` takes it: one fill of `qty` at `price`."""
    passes(g, sell(qty, price, seller, instrument, ts=ts))
    events = passes(g, buy(qty, price, buyer, instrument, ts=ts))
    assert [(e.qty, e.price) for e in events if isinstance(e, Trade)] == [(qty, price)]


def usage(g: RiskGate, account="ALICE", symbol=None) -> dict:
    row = next(r for r in g.usage() if r["account"] == account)
    if symbol is None:
        return row
    return next(i for i in row["instruments"] if i["symbol"] == symbol)


# ------------------------------------------------------------------ order size

def test_max_order_qty_of_the_account():
    g = venue("""
        [risk.accounts.ALICE]
        max_order_qty = 1000
    """)
    fails(g, buy(1001), R.MAX_ORDER_QTY, 1000, 1001, "max order qty 1000 exceeded: 1001")
    fails(g, sell(1500), R.MAX_ORDER_QTY, 1000, 1500, "max order qty 1000 exceeded: 1500")
    passes(g, buy(1000))
    passes(g, sell(1000, P + 1))
    passes(g, buy(5000, account=BOB))           # another account's: no limit


def test_max_order_qty_defaults_and_per_instrument_override():
    g = venue("""
        [risk.defaults]
        max_order_qty = 300
        [risk.accounts.ALICE]
        max_order_qty = 1000
        [risk.accounts.ALICE.instruments.F]
        max_order_qty = 500
    """)
    passes(g, buy(500, 1000, instrument=F))
    fails(g, buy(600, 1000, instrument=F), R.MAX_ORDER_QTY, 500, 600)    # one lot past
    passes(g, buy(1000))                        # AAPL: the account's limit
    fails(g, buy(1001), R.MAX_ORDER_QTY, 1000, 1001)
    passes(g, buy(300, account=BOB))            # BOB: the default
    fails(g, buy(301, account=BOB), R.MAX_ORDER_QTY, 300, 301)


def test_max_order_notional():
    g = venue("""
        [risk.accounts.ALICE]
        max_order_notional = "10000"
    """)
    fails(g, buy(100, P + 1), R.MAX_ORDER_NOTIONAL, 10_000_000_000, 10_001_000_000,
          "max order notional 10000.00 exceeded: 10001.00")
    fails(g, sell(101, P), R.MAX_ORDER_NOTIONAL, 10_000_000_000, 10_100_000_000,
          "max order notional 10000.00 exceeded: 10100.00")
    passes(g, buy(100, P))                      # 100 x 100.00 = 10000.00
    passes(g, sell(50, 2 * P))                  # 50 x 200.00


def test_max_order_notional_counts_the_tick_value():
    g = venue("""
        [risk.accounts.ALICE]
        max_order_notional = "50000"
    """)
    # ESZ5: tick 0.25, so 5000.00 is 20000 ticks; 10 contracts = 50000.00
    passes(g, buy(10, 20_000, instrument=ESZ5))
    fails(g, buy(10, 20_001, instrument=ESZ5), R.MAX_ORDER_NOTIONAL, 50_000_000_000,
          50_002_500_000, "max order notional 50000.00 exceeded: 50002.50")


# ------------------------------------------------------------------ price collar

COLLAR_PERCENT = """
    [risk.instruments.AAPL]
    reference_price = "100.00"
    collar_percent = "5"
"""


def test_collar_percent_buy_above():
    g = venue(COLLAR_PERCENT)                   # 5% of 100.00: 5.00 = 500 ticks
    fails(g, buy(1, 10_501), R.PRICE_COLLAR, 10_500, 10_501,
          "price collar: 105.01 is above the collar 105.00")
    passes(g, buy(1, 10_500))


def test_collar_percent_sell_below():
    g = venue(COLLAR_PERCENT)
    fails(g, sell(1, 9_499), R.PRICE_COLLAR, 9_500, 9_499,
          "price collar: 94.99 is below the collar 95.00")
    passes(g, sell(1, 9_500))


def test_collar_bounds_only_the_aggressive_side():
    g = venue(COLLAR_PERCENT)
    passes(g, buy(1, 5_000))                    # a low bid is no fat finger
    passes(g, sell(1, 20_000))


def test_collar_ticks_both_sides():
    g = venue("""
        [risk.instruments.ESZ5]
        reference_price = "5000.00"
        collar_ticks = 8
    """)                                        # 5000.00 is 20000 ticks of 0.25
    fails(g, buy(1, 20_009, instrument=ESZ5), R.PRICE_COLLAR, 20_008, 20_009,
          "price collar: 5002.25 is above the collar 5002.00")
    fails(g, sell(1, 19_991, instrument=ESZ5), R.PRICE_COLLAR, 19_992, 19_991,
          "price collar: 4997.75 is below the collar 4998.00")
    passes(g, buy(1, 20_008, instrument=ESZ5))
    passes(g, sell(1, 19_992, instrument=ESZ5))     # trades with that bid


def test_collar_reference_is_configured_then_mid_then_last_trade():
    """The reference is the last trade if there is one, else the mid of two
    sides, else the configured reference_price: each in turn as the book fills."""
    g = venue("""
        [risk.instruments.AAPL]
        reference_price = "100.00"
        collar_ticks = 100
    """)
    # empty book: the configured reference price (previous close)
    fails(g, buy(1, 10_101), R.PRICE_COLLAR, 10_100, 10_101)
    # two sides: their mid, (10050 + 10091) // 2 = 10070
    passes(g, buy(10, 10_050, account=BOB))
    passes(g, sell(10, 10_091, account=BOB))
    fails(g, buy(1, 10_171), R.PRICE_COLLAR, 10_170, 10_171)
    fails(g, sell(1, 9_969), R.PRICE_COLLAR, 9_970, 9_969)
    # a trade: its price, though the book still has two sides
    passes(g, sell(1, 10_050))
    assert g.engine.book_state(AAPL).last_price == 10_050
    fails(g, buy(1, 10_151), R.PRICE_COLLAR, 10_150, 10_151)
    fails(g, sell(1, 9_949), R.PRICE_COLLAR, 9_950, 9_949)


def test_collar_one_side_of_the_book_is_no_mid():
    g = venue("""
        [risk.instruments.AAPL]
        reference_price = "100.00"
        collar_ticks = 100
    """)
    passes(g, buy(10, 10_090, account=BOB))
    fails(g, buy(1, 10_101), R.PRICE_COLLAR, 10_100, 10_101)


def test_collar_without_any_reference_lets_limit_orders_through():
    g = venue("""
        [risk.instruments.AAPL]
        collar_percent = "5"
    """)
    passes(g, buy(1, 90_000))


def test_market_order_without_reference_is_rejected_when_collared():
    g = venue("""
        [risk.instruments.AAPL]
        collar_percent = "5"
    """)
    fails(g, market(BUY, 10), R.NO_REFERENCE_PRICE, 0, 0,
          "no reference price for a market order")
    fails(g, market(SELL, 10), R.NO_REFERENCE_PRICE)
    passes(g, market(BUY, 10, instrument=MSFT))     # no collar, no reference needed


def test_market_buy_becomes_ioc_limit_at_the_collar_and_sweeps_no_further():
    g = venue("""
        [risk.instruments.AAPL]
        reference_price = "100.00"
        collar_ticks = 50
    """)
    for price in (10_040, 10_050, 10_051):
        passes(g, sell(5, price, account=BOB))
    events = passes(g, market(BUY, 20))
    acc = events[0]
    assert isinstance(acc, Accepted)
    assert (acc.ord_type, acc.price, acc.tif, acc.qty) == (
        OrdType.LIMIT, 10_050, TimeInForce.IOC, 20)
    assert [(e.price, e.qty) for e in events if isinstance(e, Trade)] == [
        (10_040, 5), (10_050, 5)]
    rest = events[-1]
    assert isinstance(rest, Cancelled) and rest.cause == CancelCause.IOC_REMAINDER
    assert rest.qty == 10
    assert [(o.price, o.qty) for o in g.engine.book_state(AAPL).asks] == [(10_051, 5)]
    assert usage(g, symbol="AAPL")["position"] == 10
    assert usage(g)["open_orders"] == 0


def test_market_sell_becomes_limit_at_the_collar_keeping_fok():
    g = venue("""
        [risk.instruments.AAPL]
        reference_price = "100.00"
        collar_percent = "1"
    """)                                        # 1% of 10000 ticks: 100
    passes(g, buy(5, 9_900, account=BOB))
    passes(g, buy(5, 9_899, account=BOB))
    events = passes(g, market(SELL, 10, tif=TimeInForce.FOK))
    acc = events[0]
    assert (acc.ord_type, acc.price, acc.tif) == (OrdType.LIMIT, 9_900, TimeInForce.FOK)
    assert not any(isinstance(e, Trade) for e in events)    # 10 not fillable at >= 99.00
    assert len(g.engine.book_state(AAPL).bids) == 2


def test_uncollared_market_buy_counts_at_the_band_edge_against_credit():
    # no collar: the worst a market buy can pay is the band's top, 1000.00
    g = venue("""
        [risk.accounts.ALICE]
        credit_limit = "10000"
    """)
    fails(g, market(BUY, 11), R.CREDIT_LIMIT, 10_000_000_000, 11_000_000_000,
          "credit limit 10000.00 exceeded: 11000.00")
    passes(g, sell(10, P, account=BOB))
    events = passes(g, market(BUY, 10))              # 10 x 1000.00: exactly the limit
    assert [(e.price, e.qty) for e in events if isinstance(e, Trade)] == [(P, 10)]
    assert usage(g)["credit_used"] == "1000.00"      # the position, at what it cost


def test_unbounded_market_and_stop_orders_need_an_account_without_money_limits():
    g = RiskGate(parse_config("""
        [instruments.X]
        tick_size = "0.01"
        [accounts.ALICE]
        [accounts.BOB]
        [risk.accounts.ALICE]
        max_order_notional = "1000"
    """))
    fails(g, market(BUY, 1, instrument=0), R.UNBOUNDED_MARKET_ORDER)
    fails(g, order(BUY, 1, 0, instrument=0, ord_type=OrdType.STOP, stop_price=100),
          R.UNBOUNDED_MARKET_ORDER)
    passes(g, market(BUY, 1, account=BOB, instrument=0))     # BOB has no money limit


def test_market_order_collar_is_kept_inside_the_price_band():
    g = venue("""
        [risk.instruments.AAPL]
        reference_price = "990.00"
        collar_percent = "5"
        [risk.instruments.F]
        reference_price = "0.60"
        collar_percent = "50"
    """)
    # AAPL's band ends at 1000.00, below the collar's 1039.50
    passes(g, sell(5, 99_900, account=BOB))
    events = passes(g, market(BUY, 5))
    assert (events[0].price, events[0].tif) == (100_000, TimeInForce.IOC)
    assert [(e.price, e.qty) for e in events if isinstance(e, Trade)] == [(99_900, 5)]
    # F's band starts at 0.50, above the collar's 0.30
    passes(g, buy(100, 50, account=BOB, instrument=F))
    events = passes(g, market(SELL, 100, instrument=F))
    assert events[0].price == 50
    assert [(e.price, e.qty) for e in events if isinstance(e, Trade)] == [(50, 100)]


# ------------------------------------------------------------------ exposure

def test_credit_limit_counts_open_buys_and_the_cost_of_longs():
    g = venue("""
        [risk.accounts.ALICE]
        credit_limit = "10000"
    """)
    trade(g, 50)                                # long 50 at 100.00: cost 5000.00
    passes(g, buy(30, P - 100))                 # open: 30 x 99.00 = 2970.00
    passes(g, sell(200, 2 * P))                 # sells use no credit
    u = usage(g)
    assert (u["credit_used"], u["credit_headroom"]) == ("7970.00", "2030.00")
    # 2030.00 left: 20 x 101.50
    fails(g, buy(20, 10_151), R.CREDIT_LIMIT, 10_000_000_000, 10_000_200_000,
          "credit limit 10000.00 exceeded: 10000.20")
    passes(g, buy(20, 10_151, account=BOB))     # BOB has no credit limit
    passes(g, buy(20, 10_150))
    assert usage(g)["credit_used"] == "10000.00"
    fails(g, buy(1, 100), R.CREDIT_LIMIT, 10_000_000_000, 10_001_000_000)


def test_position_limit_buy_side_counts_position_and_open_buys():
    g = venue("""
        [risk.accounts.ALICE]
        position_limit = 100
    """)
    trade(g, 30)                                # long 30
    passes(g, buy(40, P - 1))
    fails(g, buy(31, P - 2), R.POSITION_LIMIT, 100, 101, "position limit 100 exceeded: 101")
    passes(g, buy(30, P - 2))                   # 30 + 40 + 30 = 100


def test_position_limit_sell_side_counts_position_and_open_sells():
    g = venue("""
        [risk.accounts.ALICE]
        position_limit = 100
    """)
    trade(g, 30)                                # long 30: may sell 130
    passes(g, sell(100, P + 1))
    fails(g, sell(31, P + 2), R.POSITION_LIMIT, 100, 101)
    passes(g, sell(30, P + 2))
    passes(g, buy(70, P - 1))                   # the buy side is counted apart


def test_position_limit_per_instrument_override():
    g = venue("""
        [risk.accounts.ALICE]
        position_limit = 100
        [risk.accounts.ALICE.instruments.MSFT]
        position_limit = 10
    """)
    passes(g, buy(10, instrument=MSFT))
    fails(g, sell(21, instrument=MSFT, price=P + 1), R.POSITION_LIMIT, 10, 21)
    fails(g, buy(1, instrument=MSFT), R.POSITION_LIMIT, 10, 11)
    passes(g, buy(100))


def test_gross_position_limit_sums_the_instruments():
    g = venue("""
        [risk.accounts.ALICE]
        gross_position_limit = 100
    """)
    passes(g, buy(60))
    passes(g, buy(40, instrument=MSFT))
    fails(g, buy(1, instrument=MSFT), R.GROSS_POSITION_LIMIT, 100, 101,
          "gross position limit 100 exceeded: 101")
    fails(g, buy(100, 1000, instrument=F), R.GROSS_POSITION_LIMIT, 100, 200)
    # an instrument counts its larger side: selling 60 against 60 bought adds nothing
    passes(g, sell(60, P + 1))
    fails(g, sell(1, P + 1), R.GROSS_POSITION_LIMIT, 100, 101)


def test_max_open_orders():
    g = venue("""
        [risk.accounts.ALICE]
        max_open_orders = 2
    """)
    first = buy(1)
    passes(g, first)
    passes(g, sell(1, P + 1))
    fails(g, buy(1, P - 1), R.MAX_OPEN_ORDERS, 2, 3, "max open orders 2 exceeded: 3")
    passes(g, Cancel(first.order_id))
    passes(g, buy(1, P - 1))
    passes(g, buy(1, P + 1, account=BOB))       # fills ALICE's sell: one open left
    assert usage(g)["open_orders"] == 1
    passes(g, buy(1, P - 2))
    fails(g, buy(1, P - 3), R.MAX_OPEN_ORDERS, 2, 3)


# ------------------------------------------------------------------ throttle

def test_rate_limit_is_a_sliding_second():
    g = venue("""
        [risk.accounts.ALICE]
        max_orders_per_second = 3
    """)
    for dt in (0, 100, 200):
        passes(g, buy(1, ts=T0 + dt))
    fails(g, buy(1, ts=T0 + SECOND - 1), R.RATE_LIMIT, 3, 4,
          "message rate limit (per second) 3 exceeded: 4")
    passes(g, buy(1, ts=T0 + SECOND))           # exactly a second after the oldest
    fails(g, buy(1, ts=T0 + SECOND), R.RATE_LIMIT, 3, 4)    # T0+100 is now the oldest
    passes(g, buy(1, ts=T0 + SECOND + 100))
    passes(g, buy(1, account=BOB, ts=T0 + SECOND))          # each account its own


def test_rejected_orders_do_not_use_the_rate():
    g = venue("""
        [risk.accounts.ALICE]
        max_orders_per_second = 2
        max_order_qty = 10
    """)
    for _ in range(5):
        fails(g, buy(11, ts=T0), R.MAX_ORDER_QTY, 10, 11)
    passes(g, buy(1, ts=T0))
    passes(g, buy(1, ts=T0))
    fails(g, buy(1, ts=T0), R.RATE_LIMIT, 2, 3)


def test_cancels_are_never_throttled():
    g = venue("""
        [risk.accounts.ALICE]
        max_cancels_per_second = 2
    """)
    orders = [buy(1, P - k, ts=T0) for k in range(5)]
    for o in orders:
        passes(g, o)
    for o in orders:
        assert isinstance(passes(g, Cancel(o.order_id, ts=T0))[0], Cancelled)


def test_replaces_are_throttled_with_the_cancels():
    g = venue("""
        [risk.accounts.ALICE]
        max_orders_per_second = 100
        max_cancels_per_second = 2
    """)
    a, b, c = buy(1, ts=T0), buy(1, P - 1, ts=T0), buy(1, P - 2, ts=T0)
    for o in (a, b, c):
        passes(g, o)
    passes(g, Cancel(a.order_id, ts=T0))
    passes(g, Replace(b.order_id, qty=2, price=P - 1, ts=T0 + 10))
    fails(g, Replace(c.order_id, qty=2, price=P - 2, ts=T0 + SECOND - 1), R.RATE_LIMIT, 2, 3)
    passes(g, Cancel(c.order_id, ts=T0 + SECOND - 1))       # a cancel still goes
    passes(g, buy(1, P - 3, ts=T0 + SECOND - 1))            # so do new orders
    # the cancel at T0 + 1s - 1 is in the window now; b's replace at T0 + 10 leaves
    # it at T0 + 1s + 10
    fails(g, Replace(b.order_id, qty=3, price=P - 1, ts=T0 + SECOND + 9), R.RATE_LIMIT, 2, 3)
    passes(g, Replace(b.order_id, qty=3, price=P - 1, ts=T0 + SECOND + 10))


def test_replaces_do_not_use_the_order_rate():
    g = venue("""
        [risk.accounts.ALICE]
        max_orders_per_second = 1
    """)
    o = buy(1, ts=T0)
    passes(g, o)
    for q in (2, 3, 4):
        passes(g, Replace(o.order_id, qty=q, price=P, ts=T0))
    fails(g, buy(1, ts=T0 + 1), R.RATE_LIMIT, 1, 2)


# ------------------------------------------------------------------ restrictions

def test_restricted_instrument_for_everyone():
    g = venue("""
        [risk.instruments.F]
        restricted = true
    """)
    for account in (ALICE, BOB, MM):
        fails(g, buy(100, 1000, account=account, instrument=F), R.RESTRICTED, 0, 0,
              "instrument restricted for this account")
    passes(g, buy(100))


def test_restricted_list_of_one_account():
    g = venue("""
        [risk.accounts.ALICE]
        restricted = ["MSFT"]
    """)
    fails(g, buy(1, instrument=MSFT), R.RESTRICTED)
    fails(g, sell(1, instrument=MSFT), R.RESTRICTED)
    passes(g, buy(1, instrument=MSFT, account=BOB))
    passes(g, buy(1))
    assert usage(g, symbol="MSFT")["restricted"] is True


def test_short_sale_not_checked_when_allow_short_is_unset():
    g = venue()
    passes(g, sell(100))


def test_short_sale_false_refuses_selling_beyond_the_long_position():
    g = venue("""
        [risk.accounts.ALICE]
        allow_short = false
    """)
    fails(g, sell(1), R.SHORT_SALE, 0, 1,
          "short sale: selling 1 with 0 available long; the account may not sell short")
    trade(g, 50)
    fails(g, sell(51, P + 1), R.SHORT_SALE, 50, 51,
          "short sale: selling 51 with 50 available long; the account may not sell short")
    fails(g, sell(51, P + 1, flags=OrderFlags.SHORT_SALE), R.SHORT_SALE, 50, 51)
    passes(g, sell(30, P + 1))
    fails(g, sell(21, P + 1), R.SHORT_SALE, 20, 21)     # open sells count
    passes(g, sell(20, P + 1))


def test_short_sale_true_needs_the_order_marked():
    g = venue("""
        [risk.accounts.ALICE]
        allow_short = true
    """)
    trade(g, 50)
    passes(g, sell(50, P + 1))                  # within the long: no mark needed
    fails(g, sell(1, P + 1), R.SHORT_SALE, 0, 1,
          "short sale: selling 1 with 0 available long; mark the order short")
    passes(g, sell(1, P + 1, flags=OrderFlags.SHORT_SALE))
    passes(g, sell(1, P + 1, flags=OrderFlags.SHORT_EXEMPT))


def test_short_sale_replace_of_a_marked_order_may_grow():
    g = venue("""
        [risk.accounts.ALICE]
        allow_short = true
    """)
    o = sell(10, flags=OrderFlags.SHORT_SALE)
    passes(g, o)
    passes(g, Replace(o.order_id, qty=20, price=P))


def test_short_sale_replace_of_an_unmarked_order_may_not_go_short():
    g = venue("""
        [risk.accounts.ALICE]
        allow_short = true
    """)
    trade(g, 10)
    u = sell(10, P + 1)
    passes(g, u)                                # within the long of 10
    fails(g, Replace(u.order_id, qty=11, price=P + 1), R.SHORT_SALE, 0, 1,
          "short sale: selling 1 with 0 available long; mark the order short")


# ------------------------------------------------------------------ daily limits

def test_daily_qty_limit_counts_traded_and_open_and_resets_on_a_new_day():
    g = venue("""
        [risk.accounts.ALICE]
        daily_qty_limit = 100
    """)
    trade(g, 60)
    passes(g, buy(30, P - 1))
    fails(g, sell(11, P + 1), R.DAILY_LIMIT, 100, 101, "daily qty limit 100 exceeded: 101")
    passes(g, sell(10, P + 1))
    fails(g, buy(1, P - 1), R.DAILY_LIMIT, 100, 101)
    events = g.submit(NewTradingDay(ts=5, by="eod"))
    assert [type(e) for e in events] == [TradingDayStarted]
    assert usage(g)["daily_qty"] == 0
    assert usage(g, symbol="AAPL")["bought"] == 0
    passes(g, buy(60, P - 1))                   # the 40 still open count
    fails(g, buy(1, P - 1), R.DAILY_LIMIT, 100, 101)


def test_daily_notional_limit_and_new_day():
    g = venue("""
        [risk.accounts.ALICE]
        daily_notional_limit = "10000"
        daily_qty_limit = 1000
    """)
    trade(g, 50)                                # 5000.00 traded
    passes(g, buy(40, P - 100))                 # 3960.00 open
    fails(g, buy(10, 10_401), R.DAILY_LIMIT, 10_000_000_000, 10_000_100_000,
          "daily notional limit 10000.00 exceeded: 10000.10")
    passes(g, buy(10, 10_400, account=BOB))
    passes(g, buy(10, 10_400))
    assert usage(g)["daily_notional"] == "5000.00"
    g.submit(NewTradingDay(ts=5))
    assert usage(g)["daily_notional"] == "0.00"
    passes(g, buy(50, P - 100))                 # 3960 + 1040 + 4950 = 9950.00
    fails(g, buy(1, 5_001), R.DAILY_LIMIT, 10_000_000_000, 10_000_010_000)


# ------------------------------------------------------------------ account states

def test_halted_account_may_only_cancel():
    g = venue()
    o, keep = buy(10), buy(10, P - 1)
    passes(g, o)
    passes(g, keep)
    events = g.submit(SetAccountState(ts=1, account="ALICE", state="halted", by="ops"))
    assert [(type(e), e.old, e.new, e.by) for e in events] == [
        (AccountStateChanged, "active", "halted", "ops")]
    fails(g, buy(1, P - 2), R.ACCOUNT_HALTED, detail="account halted")
    fails(g, Replace(o.order_id, qty=5, price=P), R.ACCOUNT_HALTED)
    assert isinstance(passes(g, Cancel(o.order_id))[0], Cancelled)
    passes(g, buy(1, account=BOB))
    g.submit(SetAccountState(ts=2, account="ALICE", state="active"))
    passes(g, Replace(keep.order_id, qty=5, price=P - 1))


def test_halted_account_from_the_configuration():
    g = venue("""
        [risk.accounts.BOB]
        state = "halted"
    """)
    fails(g, buy(1, account=BOB), R.ACCOUNT_HALTED)
    passes(g, buy(1))


def test_reducing_account_may_only_reduce_its_position():
    g = venue()
    trade(g, 50)                                # ALICE long 50
    g.submit(SetAccountState(ts=1, account="ALICE", state="reducing"))
    fails(g, buy(1, P - 1), R.ACCOUNT_REDUCING, 0, 1,
          "account may only reduce its position: 0 to reduce, 1 would be open")
    fails(g, sell(51, P + 1), R.ACCOUNT_REDUCING, 50, 51,
          "account may only reduce its position: 50 to reduce, 51 would be open")
    passes(g, sell(30, P + 1))
    fails(g, sell(21, P + 1), R.ACCOUNT_REDUCING, 50, 51)
    passes(g, sell(20, P + 1))


def test_reducing_short_account_may_only_buy_back():
    g = venue("""
        [risk.accounts.ALICE]
        state = "reducing"
    """)
    fails(g, sell(1), R.ACCOUNT_REDUCING, 0, 1)
    g.submit(SetAccountState(ts=1, account="ALICE", state="active"))
    trade(g, 40, buyer=BOB, seller=ALICE)       # ALICE short 40
    g.submit(SetAccountState(ts=2, account="ALICE", state="reducing"))
    fails(g, buy(41, P - 1), R.ACCOUNT_REDUCING, 40, 41)
    fails(g, sell(1, P + 1), R.ACCOUNT_REDUCING, 0, 1)
    passes(g, buy(40, P - 1))


# ------------------------------------------------------------------ kill switch, halts

def test_account_kill_switch_cancels_its_orders_in_the_same_command():
    g = venue()
    mine = [buy(10, P - 1), sell(5, P + 1, instrument=MSFT)]
    bobs = buy(10, P - 2, account=BOB)
    for o in (*mine, bobs):
        passes(g, o)
    events = g.submit(KillSwitch(ts=7, account="ALICE", cancel_orders=True, request_id=77,
                                 by="risk-desk"))
    assert [type(e) for e in events] == [KillSwitchChanged, Cancelled, Cancelled,
                                         MassCancelled]
    k = events[0]
    assert (k.ts, k.account, k.on, k.cancel_orders, k.by) == (7, "ALICE", True, True,
                                                             "risk-desk")
    assert [e.seq for e in events] == list(range(k.seq, k.seq + 4))
    assert {e.order_id for e in events[1:3]} == {o.order_id for o in mine}
    assert all(e.cause == CancelCause.MASS_CANCEL for e in events[1:3])
    assert (events[3].request_id, events[3].account, events[3].count) == (77, ALICE, 2)
    assert g.engine.is_live(bobs.order_id)
    assert usage(g)["open_orders"] == 0 and usage(g)["kill_switch"] is True
    fails(g, buy(1), R.KILL_SWITCH, detail="kill switch on")
    passes(g, buy(1, account=BOB))
    off = g.submit(KillSwitch(ts=8, account="ALICE", on=False))
    assert [(type(e), e.on) for e in off] == [(KillSwitchChanged, False)]
    assert off[0].seq > events[-1].seq
    passes(g, buy(1))


def test_kill_switch_without_cancel_keeps_orders_but_blocks_replaces():
    g = venue()
    o = buy(10)
    passes(g, o)
    assert len(g.submit(KillSwitch(ts=1, account="ALICE"))) == 1
    assert g.engine.is_live(o.order_id)
    fails(g, Replace(o.order_id, qty=5, price=P), R.KILL_SWITCH)
    passes(g, Cancel(o.order_id))


def test_global_kill_switch_stops_everyone():
    g = venue()
    passes(g, buy(1, P - 1))
    passes(g, buy(1, P - 2, account=BOB))
    events = g.submit(KillSwitch(ts=3, account=None, cancel_orders=True))
    assert [type(e) for e in events] == [KillSwitchChanged, Cancelled, Cancelled,
                                         MassCancelled]
    assert events[0].account is None and events[-1].account == -1
    for account in range(4):
        fails(g, buy(1, account=account), R.KILL_SWITCH)
    g.submit(KillSwitch(ts=4, account=None, on=False))
    passes(g, buy(1, account=MM))


def test_global_kill_switch_from_the_configuration():
    g = venue("""
        [risk]
        kill_switch = true
    """)
    fails(g, buy(1, account=BOB), R.KILL_SWITCH)
    assert usage(g, "BOB")["kill_switch"] is True


def test_risk_commands_take_the_next_sequence_numbers():
    g = venue()
    seqs = [e.seq for e in passes(g, buy(1))]
    for cmd in (SetLimit(ts=1, account="ALICE", limit="max_order_qty", value=10, by="ops"),
                SetAccountState(ts=2, account="BOB", state="reducing"),
                KillSwitch(ts=3, account="BOB"),
                NewTradingDay(ts=4)):
        seqs += [e.seq for e in g.submit(cmd)]
    seqs += [e.seq for e in g.submit(buy(11))]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))


def test_set_limit_changes_and_removes_a_limit():
    g = venue()
    events = g.submit(SetLimit(ts=1, account="ALICE", limit="max_order_qty", value=10,
                               by="ops"))
    assert [(type(e), e.account, e.symbol, e.limit, e.old, e.new, e.by) for e in events] == [
        (LimitChanged, "ALICE", None, "max_order_qty", None, 10, "ops")]
    fails(g, buy(11), R.MAX_ORDER_QTY, 10, 11)
    events = g.submit(SetLimit(ts=2, account="ALICE", limit="max_order_qty", value=None))
    assert (events[0].old, events[0].new) == (10, None)
    passes(g, buy(11))


def test_set_limit_of_the_account_keeps_per_instrument_overrides():
    g = venue("""
        [risk.accounts.ALICE]
        max_order_qty = 1000
        position_limit = 1000
        [risk.accounts.ALICE.instruments.F]
        max_order_qty = 500
        position_limit = 500
    """)
    g.submit(SetLimit(ts=1, account="ALICE", limit="max_order_qty", value=2000))
    events = g.submit(SetLimit(ts=1, account="ALICE", limit="position_limit", value=2000))
    assert (events[0].old, events[0].new) == (1000, 2000)
    passes(g, buy(2000))
    fails(g, buy(600, 1000, instrument=F), R.MAX_ORDER_QTY, 500, 600)
    passes(g, buy(500, 1000, instrument=F))
    fails(g, buy(100, 1000, instrument=F), R.POSITION_LIMIT, 500, 600)
    # removing the override leaves the account's limit, not none
    events = g.submit(SetLimit(ts=2, account="ALICE", limit="max_order_qty", value=None,
                               symbol="F"))
    assert (events[0].symbol, events[0].old, events[0].new) == ("F", 500, None)
    fails(g, buy(2100, 1000, instrument=F), R.MAX_ORDER_QTY, 2000, 2100)


def test_set_limit_refuses_a_rate_the_throttle_cannot_hold():
    g = venue()
    with pytest.raises(ValueError, match="max_orders_per_second"):
        g.submit(SetLimit(ts=1, account="ALICE", limit="max_orders_per_second",
                          value=10 ** 9))


def test_set_limit_of_the_rate_takes_effect():
    g = venue()
    g.submit(SetLimit(ts=1, account="ALICE", limit="max_orders_per_second", value=1))
    passes(g, buy(1, ts=T0))
    fails(g, buy(1, ts=T0 + 1), R.RATE_LIMIT, 1, 2)


def test_instrument_halted():
    g = venue("""
        [risk.instruments.AAPL]
        halted = true
    """)
    fails(g, buy(1), R.INSTRUMENT_HALTED, detail="instrument halted")
    fails(g, sell(1, account=BOB), R.INSTRUMENT_HALTED)
    passes(g, buy(1, instrument=MSFT))


def test_switches_come_before_the_limits():
    g = venue("""
        [risk.accounts.ALICE]
        kill_switch = true
        max_order_qty = 1
    """)
    fails(g, buy(5), R.KILL_SWITCH)


# ------------------------------------------------------------------ replace and cancel

def test_rejected_replace_leaves_the_order_as_it_was():
    g = venue("""
        [risk.accounts.ALICE]
        max_order_qty = 100
        [risk.instruments.AAPL]
        reference_price = "100.00"
        collar_ticks = 100
    """)
    o = buy(50, P - 10)
    passes(g, o)
    ev = fails(g, Replace(o.order_id, qty=101, price=P - 10), R.MAX_ORDER_QTY, 100, 101,
               "max order qty 100 exceeded: 101")
    assert ev.command == CommandKind.REPLACE
    assert (ev.instrument, ev.account) == (AAPL, ALICE)     # the order's
    ev = fails(g, Replace(o.order_id, qty=50, price=P + 101), R.PRICE_COLLAR, P + 100,
               P + 101, "price collar: 101.01 is above the collar 101.00")
    assert [(r.order_id, r.price, r.qty) for r in g.engine.book_state(AAPL).bids] == [
        (o.order_id, P - 10, 50)]
    events = passes(g, Replace(o.order_id, qty=100, price=P + 100))
    assert isinstance(events[0], Replaced) and events[0].leaves == 100
    assert usage(g, symbol="AAPL")["open_buy"] == 100


def test_replace_checked_on_its_new_exposure():
    g = venue("""
        [risk.accounts.ALICE]
        position_limit = 100
    """)
    o = buy(60)
    passes(g, o)
    passes(g, sell(50, P + 1))
    fails(g, Replace(o.order_id, qty=101, price=P), R.POSITION_LIMIT, 100, 101)
    passes(g, Replace(o.order_id, qty=100, price=P))
    fails(g, Replace(o.order_id, qty=101, price=P), R.POSITION_LIMIT, 100, 101)


def test_replace_raising_the_price_is_checked_against_the_credit():
    g = venue("""
        [risk.accounts.ALICE]
        credit_limit = "10000"
    """)
    o = buy(100, 5_000)                         # 5000.00
    passes(g, o)
    # fewer shares at a higher price: 90 x 200.00 = 18000.00 of credit
    fails(g, Replace(o.order_id, qty=90, price=20_000), R.CREDIT_LIMIT, 10_000_000_000,
          18_000_000_000, "credit limit 10000.00 exceeded: 18000.00")
    passes(g, Replace(o.order_id, qty=90, price=11_111))   # 9999.90
    assert usage(g)["credit_used"] == "9999.90"


def test_replace_raising_the_price_is_checked_against_the_daily_notional():
    g = venue("""
        [risk.accounts.ALICE]
        daily_notional_limit = "10000"
    """)
    o = sell(100, 5_000)
    passes(g, o)
    fails(g, Replace(o.order_id, qty=50, price=20_001), R.DAILY_LIMIT, 10_000_000_000,
          10_000_500_000, "daily notional limit 10000.00 exceeded: 10000.50")
    passes(g, Replace(o.order_id, qty=50, price=20_000))


def test_replace_shrinking_an_order_passes_even_beyond_a_lowered_limit():
    g = venue()
    o = buy(100)
    passes(g, o)
    g.submit(SetLimit(ts=1, account="ALICE", limit="position_limit", value=50))
    g.submit(SetLimit(ts=1, account="ALICE", limit="credit_limit", value=1_000_000))
    passes(g, Replace(o.order_id, qty=80, price=P))
    fails(g, Replace(o.order_id, qty=81, price=P), R.POSITION_LIMIT, 50, 81)
    passes(g, Replace(o.order_id, qty=80, price=P - 1))     # cheaper: less credit


def _poke(field, value, table="accounts", row=ALICE):
    """Set a switch no risk command sets (they come from the configuration)."""
    def apply(g):
        getattr(g, table)[row][field] = value
    return apply


def _limit(name, value=1):
    return lambda g: g.submit(SetLimit(ts=T0, account="ALICE", limit=name, value=value))


BLOCKERS = {
    "kill_switch": lambda g: g.submit(KillSwitch(ts=T0, account="ALICE")),
    "global_kill_switch": lambda g: g.submit(KillSwitch(ts=T0, account=None)),
    "halted": lambda g: g.submit(SetAccountState(ts=T0, account="ALICE", state="halted")),
    "reducing": lambda g: g.submit(SetAccountState(ts=T0, account="ALICE",
                                                   state="reducing")),
    "max_order_qty": _limit("max_order_qty"),
    "max_order_notional": _limit("max_order_notional"),
    "credit_limit": _limit("credit_limit"),
    "position_limit": _limit("position_limit"),
    "gross_position_limit": _limit("gross_position_limit"),
    "max_open_orders": _limit("max_open_orders"),
    "max_orders_per_second": _limit("max_orders_per_second"),
    "max_cancels_per_second": _limit("max_cancels_per_second"),
    "daily_qty_limit": _limit("daily_qty_limit"),
    "daily_notional_limit": _limit("daily_notional_limit"),
    "allow_short": _poke("allow_short", 0),
    "restricted_for_the_account": _poke("restricted", 1, "positions", ALICE * 5 + AAPL),
    "restricted_instrument": _poke("restricted", 1, "instruments", AAPL),
    "halted_instrument": _poke("halted", 1, "instruments", AAPL),
    "collar": lambda g: (_poke("reference_price", 1, "instruments", AAPL)(g),
                         _poke("collar_ticks", 1, "instruments", AAPL)(g)),
}


@pytest.mark.parametrize("blocker", BLOCKERS)
def test_a_cancel_is_never_blocked(blocker):
    g = venue()
    orders = [buy(10, P - k, ts=T0) for k in range(3)] + [sell(10, P + 1, ts=T0)]
    for o in orders:
        passes(g, o)
    BLOCKERS[blocker](g)
    for o in orders:
        assert isinstance(passes(g, Cancel(o.order_id, ts=T0))[0], Cancelled)
    assert usage(g)["open_orders"] == 0


# ------------------------------------------------------------------ no state change

def test_a_rejected_command_changes_nothing():
    g = venue("""
        [risk.accounts.ALICE]
        max_order_qty = 100
        max_orders_per_second = 3
        max_cancels_per_second = 50
        credit_limit = "10000"
        position_limit = 100
        max_open_orders = 2
        [risk.instruments.AAPL]
        reference_price = "100.00"
        collar_percent = "10"
    """)
    trade(g, 20, ts=T0)                         # long 20, cost 2000.00
    o = buy(30, P - 1, ts=T0 + 1)
    passes(g, o)
    passes(g, sell(40, P + 5, ts=T0 + 2))
    passes(g, buy(5, P - 3, account=BOB, ts=T0 + 3))
    passes(g, Replace(o.order_id, qty=35, price=P - 1, ts=T0 + 4))
    # fails() compares every array and book before and after each of these
    fails(g, buy(1, ts=T0 + 5), R.RATE_LIMIT, 3, 4)     # ALICE's 4th order in 5 ns
    later = T0 + 2 * SECOND
    fails(g, buy(101, ts=later), R.MAX_ORDER_QTY, 100, 101)
    fails(g, buy(1, 11_001, ts=later), R.PRICE_COLLAR, 11_000, 11_001)
    fails(g, buy(46, P - 10, ts=later), R.POSITION_LIMIT, 100, 101)
    # credit used: 2000.00 + 35 x 99.99 = 5499.65; 45 x 100.10 = 4504.50 more
    fails(g, buy(45, P + 10, ts=later), R.CREDIT_LIMIT, 10_000_000_000, 10_004_150_000)
    fails(g, buy(1, P - 10, ts=later), R.MAX_OPEN_ORDERS, 2, 3)
    fails(g, Replace(o.order_id, qty=101, price=P - 1, ts=later), R.MAX_ORDER_QTY, 100, 101)
    fails(g, buy(1, P - 1, account=9, ts=later), R.INVALID_ACCOUNT)     # the book's own
    fails(g, buy(1, 0, ts=later), R.PRICE_NOT_POSITIVE)


# ------------------------------------------------------------------ book-keeping

def test_round_trip_realises_the_pnl():
    g = venue()
    trade(g, 100, 1_000)                        # ALICE buys 100 at 10.00
    assert usage(g, symbol="AAPL")["position"] == 100
    assert usage(g, symbol="AAPL")["cost"] == "1000.00"
    trade(g, 100, 1_050, buyer=BOB, seller=ALICE)   # sells them at 10.50
    mine, bobs = usage(g, symbol="AAPL"), usage(g, "BOB", "AAPL")
    assert (mine["position"], mine["bought"], mine["sold"]) == (0, 100, 100)
    assert mine["realised_pnl"] == "50.00"
    assert int(g.positions[ALICE * 5 + AAPL]["realised"]) == 50_000_000
    assert (bobs["position"], bobs["realised_pnl"]) == (0, "-50.00")
    assert usage(g)["credit_used"] == "0.00"


def test_positions_are_the_sum_of_the_fills():
    g = venue()
    events = []
    for o in (sell(30, P, BOB), buy(50, P + 2), sell(10, P + 1, MM), sell(10, P + 2, BOB),
              sell(40, P - 5), buy(100, P + 5, MM), sell(25, P - 3, BOB),
              buy(30, P - 3, ARB)):
        events += passes(g, o)
    trades = [e for e in events if isinstance(e, Trade)]
    assert len(trades) >= 5
    for a, name in enumerate(["ALICE", "BOB", "FIRMA-MM", "FIRMA-ARB"]):
        bought = sum(t.qty for t in trades if t.buy_account == a)
        sold = sum(t.qty for t in trades if t.sell_account == a)
        u = usage(g, name, "AAPL")
        assert (u["position"], u["bought"], u["sold"]) == (bought - sold, bought, sold)
        open_buy = sum(r.qty + r.hidden for r in g.engine.book_state(AAPL).bids
                       if r.account == a)
        open_sell = sum(r.qty + r.hidden for r in g.engine.book_state(AAPL).asks
                        if r.account == a)
        assert (u["open_buy"], u["open_sell"]) == (open_buy, open_sell)


# ------------------------------------------------------------------ configuration errors

def risk_error(snippet: str) -> str:
    with pytest.raises(ConfigError) as e:
        parse_risk(parse_config(VENUE + textwrap.dedent(snippet), "venue.toml"))
    return str(e.value)


@pytest.mark.parametrize("snippet, message", [
    ("[risk.accounts.ALICE]\nmax_qty = 5",
     "venue.toml: risk.accounts.ALICE.max_qty: unknown key"),
    ("[risk.instruments.AAPL]\ncollar = 5",
     "venue.toml: risk.instruments.AAPL.collar: unknown key"),
    ("[risk.defaults]\nstate_ = 1",
     "venue.toml: risk.defaults.state_: unknown key"),
    ("[risk]\nkill = true",
     "venue.toml: risk.kill: unknown key"),
    ("[risk.accounts.ALICE.instruments.AAPL]\ncredit_limit = 5",
     "venue.toml: risk.accounts.ALICE.instruments.AAPL.credit_limit: unknown key"),
])
def test_config_unknown_key(snippet, message):
    assert risk_error(snippet).startswith(message)


@pytest.mark.parametrize("snippet, message", [
    ("[risk.accounts.CAROL]\nmax_order_qty = 5",
     "venue.toml: risk.accounts.CAROL: no such account in [accounts]"),
    ("[risk.instruments.XYZ]\nhalted = true",
     "venue.toml: risk.instruments.XYZ: no such instrument in [instruments]"),
    ("[risk.accounts.ALICE.instruments.XYZ]\nmax_order_qty = 5",
     "venue.toml: risk.accounts.ALICE.instruments.XYZ: no such instrument in [instruments]"),
    ('[risk.accounts.ALICE]\nrestricted = ["AAPL", "XYZ"]',
     'venue.toml: risk.accounts.ALICE.restricted: no such instrument: "XYZ"'),
])
def test_config_unknown_account_or_instrument(snippet, message):
    assert risk_error(snippet) == message


@pytest.mark.parametrize("snippet, path", [
    ("[risk.accounts.ALICE]\ncredit_limit = 1000.5", "risk.accounts.ALICE.credit_limit"),
    ("[risk.defaults]\nmax_order_notional = 1e6", "risk.defaults.max_order_notional"),
    ('[risk.instruments.AAPL]\nreference_price = 190.0', "risk.instruments.AAPL.reference_price"),
    ("[risk.instruments.AAPL]\ncollar_percent = 5.0", "risk.instruments.AAPL.collar_percent"),
])
def test_config_float_money_is_refused(snippet, path):
    message = risk_error(snippet)
    assert message.startswith(f"venue.toml: {path}: must be a decimal string")
    assert "(a float: write money and prices as decimal strings)" in message


@pytest.mark.parametrize("snippet, message", [
    ("[risk.accounts.ALICE]\nmax_order_qty = -1",
     "venue.toml: risk.accounts.ALICE.max_order_qty: must be a positive integer, got -1"),
    ("[risk.accounts.BOB]\nposition_limit = 0",
     "venue.toml: risk.accounts.BOB.position_limit: must be a positive integer, got 0"),
    ('[risk.accounts.ALICE]\ncredit_limit = "-5"',
     'venue.toml: risk.accounts.ALICE.credit_limit: must be a positive amount, got "-5"'),
    ("[risk.defaults]\ndaily_notional_limit = -5",
     "venue.toml: risk.defaults.daily_notional_limit: must be a positive amount, got -5"),
    ("[risk.instruments.ESZ5]\ncollar_ticks = -3",
     "venue.toml: risk.instruments.ESZ5.collar_ticks: must be a positive integer, got -3"),
    ("[risk.accounts.ALICE.instruments.F]\nmax_order_qty = -100",
     "venue.toml: risk.accounts.ALICE.instruments.F.max_order_qty: must be a positive "
     "integer, got -100"),
    ('[risk.instruments.AAPL]\ncollar_percent = "-1"',
     'venue.toml: risk.instruments.AAPL.collar_percent: must be a percentage above 0 and '
     'at most 1000, got "-1"'),
])
def test_config_negative_limit(snippet, message):
    assert risk_error(snippet) == message


def test_config_collar_percent_and_ticks_together():
    assert risk_error("""
        [risk.instruments.AAPL]
        collar_percent = "5"
        collar_ticks = 500
    """) == "venue.toml: risk.instruments.AAPL: give collar_percent or collar_ticks, not both"


def test_config_other_errors_name_the_key_path():
    assert risk_error('[risk.accounts.ALICE]\nstate = "paused"') == (
        'venue.toml: risk.accounts.ALICE.state: must be one of active, reducing, halted, '
        'got "paused"')
    assert risk_error('[risk.instruments.AAPL]\nreference_price = "100.005"').startswith(
        "venue.toml: risk.instruments.AAPL.reference_price: ")
    assert risk_error('[risk.accounts.ALICE]\ncredit_limit = "0.0000001"') == (
        'venue.toml: risk.accounts.ALICE.credit_limit: has more than 6 decimal places: '
        '"0.0000001"')
    assert risk_error("[risk.accounts.ALICE]\nmax_orders_per_second = 100001") == (
        "venue.toml: risk.accounts.ALICE.max_orders_per_second: must be at most 100,000, "
        "got 100001")
