"""The numba engine is the reference engine, and its two doors agree.

* `EngineVsReference`: a hypothesis state machine sends the same random
  commands to a `MatchingEngine` (created with tiny capacities, so that every
  growth path runs) and to the `ReferenceEngine`, and after every step requires
  identical events, identical L1/L2/L3 views of every instrument and
  `MatchingEngine.check()` to pass.
* `test_big_sweeps_grow_the_event_buffer`: many resting orders, then one big
  aggressor, mass cancel or expiry (one command with many events).
* `test_submit_and_run_agree`: the per-command door (`submit`) and the batch
  door (`run`, small chunks) give the same events and the same books.
* `test_quick_mode_without_jit`: this file again in a subprocess with
  NUMBA_DISABLE_JIT=1, so the kernels run as Python and coverage sees them.

Settings come from the profiles in `tests/conftest.py`.
"""
from __future__ import annotations

import inspect
import os
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import (RuleBasedStateMachine, initialize, invariant,
                                 precondition, rule)

from engine.batch import array_to_commands, commands_to_array
from engine.commands import Cancel, ExpireOrders, MassCancel, NewOrder, Replace
from engine.enums import OrderFlags, OrdType, Side, StpMode, TimeInForce
from engine.events import event_from_row
from engine.layout import MAX_QTY, MAX_SPAN
from engine.matching import MatchingEngine
from engine.reference import ReferenceEngine
from engine.specs import AccountSpec, BookSpec

# Unbounded lot 1; lot 5; banded lot 1. The mid of the narrow price range is 100.
BOOKS = [BookSpec(lot=1), BookSpec(lot=5), BookSpec(lot=1, band_lo=97, band_hi=103)]
# Every STP mode; accounts 0 and 1 share group 1; account 2 (no STP) has an
# explicit group of its own, accounts 3 and 4 the default one. Account 0, the
# one simple examples use, self-trades with 0 and 1.
ACCOUNTS = [AccountSpec(StpMode.DECREMENT, 1), AccountSpec(StpMode.CANCEL_AGGRESSOR, 1),
            AccountSpec(StpMode.NONE, 0), AccountSpec(StpMode.CANCEL_RESTING),
            AccountSpec(StpMode.CANCEL_BOTH)]
MID = 100
FOK_ = TimeInForce.FOK
NO_JIT = os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0")
# The smallest capacities the engine takes, so that every growth path runs
# (orders, levels, the level index, the id table, the event buffer).
TINY = {name: value for name, value in dict(
    order_capacity=2, level_capacity=1, levels_per_side=1, ladder_ticks=1,
    event_capacity=2).items() if name in inspect.signature(MatchingEngine).parameters}


BUSY_BOOKS = st.sampled_from([0, 0, 0, 1, 2, 2])   # valid orders: most in one book


def tiny_engine() -> MatchingEngine:
    return MatchingEngine(BOOKS, ACCOUNTS, **TINY)


def lot_of(b: int) -> int:
    return BOOKS[b].lot if 0 <= b < len(BOOKS) else 1


def weighted(*pairs):
    """One of the strategies, each with its weight: `weighted((s1, 3), (s2, 1))`.
    (`st.one_of` would not do: it merges repeated branches.)"""
    return st.sampled_from([s for s, w in pairs for _ in range(w)]).flatmap(lambda s: s)


def mostly(common, rare, weight: int = 5):
    """`common` about weight/(weight+1) of the time, else `rare`."""
    return weighted((common, weight), (rare, 1))


# ---------------------------------------------------------------- command parts

INSTRUMENTS = mostly(st.integers(0, len(BOOKS) - 1), st.sampled_from([-1, 3, -2]), 8)
ACCOUNT_IDX = mostly(st.integers(0, len(ACCOUNTS) - 1), st.sampled_from([-1, 5, -7]), 8)
SIDES = mostly(st.sampled_from([Side.BUY, Side.SELL]), st.sampled_from([0, 2, -2]), 12)
ORD_TYPES = mostly(st.sampled_from([OrdType.LIMIT] * 3 + [OrdType.MARKET, OrdType.STOP,
                                                          OrdType.STOP_LIMIT]),
                   st.sampled_from([9, 0, 5]), 12)
TIFS = mostly(st.sampled_from([TimeInForce.DAY, TimeInForce.GTC, TimeInForce.GTC,
                               TimeInForce.IOC, TimeInForce.FOK]), st.sampled_from([0, 5]), 12)
FLAGS = st.sampled_from([0] * 8 + [int(OrderFlags.POST_ONLY)] * 2 + [2, 3])
PRICES = mostly(st.integers(MID - 4, MID + 4),
                st.sampled_from([0, -1, 1, MID - 10, MID + 10, 2 ** 62]))
# mostly a small id space (duplicates and reuse), rarely the int64 extremes
ORDER_IDS = mostly(st.integers(1, 60), st.sampled_from([0, -1, 2 ** 63 - 1, -2 ** 63, 2 ** 40]), 30)
HUGE_QTY = [MAX_QTY, MAX_QTY + 1]
ODD_QTY = st.sampled_from([0, -1, 3, 7, *HUGE_QTY])          # invalid or at the limit


def qty_for(b: int, most: int = 8):
    lot = lot_of(b)
    return mostly(st.integers(1, most).map(lambda k: k * lot), ODD_QTY, 8)


def display_for(b: int):
    lot = lot_of(b)
    return weighted((st.just(0), 3), (st.integers(1, 3).map(lambda k: k * lot), 2),
                    (st.sampled_from([-lot, 3, 7]), 1))


def stop_price_near(last: int):
    base = last if last > 0 else MID
    return mostly(st.integers(base - 3, base + 3), st.sampled_from([0, -2, MID - 10]))


def draw_new_order(draw, order_id: int, ts: int, last_price=lambda b: 0, *, b=None,
                   account=None, ord_type=None, tif=None, qty_most: int = 12,
                   valid_side: bool = False) -> NewOrder:
    """A new order, any field possibly invalid unless given."""
    b = draw(INSTRUMENTS) if b is None else b
    side = draw(st.sampled_from([Side.BUY, Side.SELL]) if valid_side else SIDES)
    return NewOrder(
        order_id=order_id, instrument=b,
        account=draw(ACCOUNT_IDX) if account is None else account,
        side=side, qty=draw(qty_for(b, qty_most)), price=draw(PRICES),
        ord_type=draw(ORD_TYPES) if ord_type is None else ord_type,
        tif=draw(TIFS) if tif is None else tif,
        stop_price=draw(stop_price_near(last_price(b) if 0 <= b < len(BOOKS) else 0)),
        display_qty=draw(display_for(b)), flags=draw(FLAGS), ts=ts)


@st.composite
def any_command(draw, ts: int = 0):
    """A command for the stateless tests: small id space so that cancels,
    replaces and duplicates hit orders."""
    kind = draw(st.sampled_from(["new"] * 6 + ["cancel", "replace", "replace", "mass",
                                                "expire"]))
    oid = draw(mostly(st.integers(1, 15), ORDER_IDS, 10))
    if kind == "new":
        return draw_new_order(draw, oid, ts)
    if kind == "cancel":
        return Cancel(order_id=oid, instrument=draw(st.sampled_from([-1, -1, 0, 1, 3])),
                      account=draw(st.sampled_from([-1, -1, 0, 2])), ts=ts)
    if kind == "replace":
        return Replace(order_id=oid, qty=draw(st.integers(0, 12)), price=draw(PRICES),
                       stop_price=draw(st.sampled_from([0, 0, MID - 1, MID + 1])),
                       instrument=draw(st.sampled_from([-1, -1, 0, 2])),
                       account=draw(st.sampled_from([-1, -1, 1])),
                       side=draw(st.sampled_from([0, 0, 1, -1, 2])), ts=ts)
    if kind == "mass":
        return MassCancel(request_id=oid, instrument=draw(st.sampled_from([-1, 0, 1, 2, 3])),
                          account=draw(st.sampled_from([-1, 0, 2, -3])),
                          side=draw(st.sampled_from([0, 1, -1])), ts=ts)
    return ExpireOrders(instrument=draw(st.sampled_from([-1, 0, 2, 3])), ts=ts)


@st.composite
def command_lists(draw, max_size: int = 40):
    n = draw(st.integers(0, max_size))
    ts, out = 0, []
    for _ in range(n):
        ts += draw(st.sampled_from([0, 1, 1000]))
        out.append(draw(any_command(ts)))
    return out


# ---------------------------------------------------------------- comparing

def assert_same_books(eng: MatchingEngine, ref: ReferenceEngine, context: str = "") -> None:
    for b in range(len(BOOKS)):
        got, want = eng.book_state(b), ref.book_state(b)
        assert got == want, f"book_state({b}) differs {context}\nnumba: {got}\nref:   {want}"
        assert eng.depth(b) == ref.depth(b), f"depth({b}) differs {context}"
        assert eng.depth(b, 2) == ref.depth(b, 2), f"depth({b}, 2) differs {context}"
        assert eng.top(b) == ref.top(b), f"top({b}) differs {context}"


def submit_checked(eng: MatchingEngine, ref: ReferenceEngine, cmd, context: str = ""):
    """Run `cmd` on both engines; require the same events. Returns them."""
    want = ref.submit(cmd)
    got = eng.submit(cmd)
    # the kernels write events without bounds checks: a command whose events
    # outgrow the buffer it reserved would have written past it
    assert len(got) <= len(eng.ev), f"{len(got)} events in a {len(eng.ev)}-row buffer"
    assert got == want, f"{context}{cmd!r}\nnumba: {got}\nref:   {want}"
    return got


# ---------------------------------------------------------------- the state machine

class EngineVsReference(RuleBasedStateMachine):
    """Random commands into both engines; identical events and books after each."""

    @initialize()
    def start(self):
        self.eng = tiny_engine()
        self.ref = ReferenceEngine(BOOKS, ACCOUNTS)
        self.ts = 0
        self.steps = 0

    # ---------------------------------------------------------- helpers

    def run(self, cmd) -> None:
        note(repr(cmd))
        self.steps += 1
        submit_checked(self.eng, self.ref, cmd, f"step {self.steps}: ")

    def next_ts(self, data) -> int:
        self.ts += data.draw(st.sampled_from([0, 1, 1, 1000]), label="ts step")
        return self.ts

    def last_price(self, b: int) -> int:
        return self.ref.books[b].last_price

    def target_id(self, data, live: int = 6, done: int = 2, fresh: int = 1) -> int:
        """Weighted: a live order's id, a finished order's id, any small id."""
        live_ids = sorted(self.ref.live)
        done_ids = sorted(self.ref.used_ids - set(live_ids))
        choices = [(ORDER_IDS, fresh)]
        if done_ids:
            choices.append((st.sampled_from(done_ids), done))
        if live_ids:
            choices.append((st.sampled_from(live_ids), live))
        return data.draw(weighted(*choices), label="order id")

    def new_id(self, data) -> int:
        return data.draw(ORDER_IDS, label="new order id")

    def valid_order(self, data, ord_types, tifs, **kw) -> NewOrder:
        """A new order whose enums, instrument and account are valid."""
        draw = data.draw
        ord_type = draw(st.sampled_from(ord_types))
        tif = draw(st.sampled_from(tifs))
        cmd = draw_new_order(draw, self.new_id(data), self.next_ts(data), self.last_price,
                             b=draw(BUSY_BOOKS), valid_side=True,
                             account=draw(st.integers(0, len(ACCOUNTS) - 1)),
                             ord_type=ord_type, tif=tif, **kw)
        if not (ord_type == OrdType.LIMIT and tif in (TimeInForce.DAY, TimeInForce.GTC)):
            # mostly without what only resting limit orders may have
            keep = draw(st.sampled_from([False] * 5 + [True]), label="keep display/flags")
            if not keep:
                cmd = msgspec.structs.replace(cmd, display_qty=0, flags=0)
        return cmd

    # ---------------------------------------------------------- new orders

    @rule(data=st.data())
    def new_order_anything(self, data):
        """Any field may be invalid; the id may be taken already."""
        oid = self.target_id(data, live=1, done=1, fresh=4)
        self.run(draw_new_order(data.draw, oid, self.next_ts(data), self.last_price))

    @rule(data=st.data())
    def new_resting_limit(self, data):
        """A DAY/GTC limit order, maybe an iceberg, maybe post-only."""
        self.run(self.valid_order(data, [OrdType.LIMIT], [TimeInForce.DAY, TimeInForce.GTC]))

    @rule(data=st.data())
    def new_resting_iceberg(self, data):
        cmd = self.valid_order(data, [OrdType.LIMIT], [TimeInForce.DAY, TimeInForce.GTC])
        lot = lot_of(cmd.instrument)
        display = data.draw(st.integers(1, 3), label="display lots") * lot
        self.run(msgspec.structs.replace(cmd, display_qty=display, qty=cmd.qty + 4 * lot))

    @rule(data=st.data())
    def new_aggressor(self, data):
        """A bigger limit or market order, often IOC or FOK."""
        self.run(self.valid_order(data, [OrdType.LIMIT, OrdType.MARKET],
                                  [TimeInForce.IOC, TimeInForce.FOK, TimeInForce.DAY],
                                  qty_most=20))

    @precondition(lambda self: any(o.price and not o.is_stop for o in self.ref.live.values()))
    @rule(data=st.data())
    def new_order_sized_to_the_book(self, data):
        """An order against a resting one, sized to an edge: that order's shown
        qty or leaves, or all leaves up to its price, give or take a lot; from
        its own account, its STP group or another (exact fills, FOK with hidden
        volume, STP decrement with A = R, ...)."""
        draw = data.draw
        target = self.ref.live[draw(st.sampled_from(sorted(
            oid for oid, o in self.ref.live.items() if o.price and not o.is_stop)),
            label="target")]
        b, lot = target.instrument, lot_of(target.instrument)
        state = self.ref.book_state(b)
        same_side = state.bids if target.side == Side.BUY else state.asks
        through = sum(o.qty + o.hidden for o in same_side
                      if (o.price - target.price) * target.side >= 0)
        qty = draw(st.sampled_from([target.shown, target.shown + target.hidden, through]),
                   label="size") + draw(st.sampled_from([0, 0, 0, lot, -lot]), label="+-")
        account = draw(st.sampled_from([target.account, 0, 1, 3, 4, 2]), label="account")
        self.run(NewOrder(
            order_id=self.new_id(data), instrument=b, account=account, side=-target.side,
            qty=qty, price=target.price + draw(st.sampled_from([0, 0, 1, -1])) * target.side,
            ord_type=draw(st.sampled_from([OrdType.LIMIT] * 4 + [OrdType.MARKET])),
            tif=draw(st.sampled_from([FOK_, FOK_, TimeInForce.IOC, TimeInForce.DAY])),
            ts=self.next_ts(data)))

    @rule(data=st.data())
    def new_stop(self, data):
        """A stop or stop-limit order with its stop price near the last trade."""
        self.run(self.valid_order(data, [OrdType.STOP, OrdType.STOP_LIMIT],
                                  list(TimeInForce)))

    @rule(data=st.data())
    def new_stop_limit_at_the_touch(self, data):
        """A stop-limit one tick either side of the last trade, its limit a few
        ticks through it: it waits, or triggers at once, and then may rest."""
        draw = data.draw
        cmd = self.valid_order(data, [OrdType.STOP_LIMIT], [TimeInForce.DAY, TimeInForce.GTC])
        last = self.last_price(cmd.instrument) or MID
        stop = last + draw(st.sampled_from([-1, 0, 1]), label="stop - last")
        price = stop + cmd.side * draw(st.integers(-2, 4), label="limit - stop")
        self.run(msgspec.structs.replace(cmd, stop_price=stop, price=price))

    # ---------------------------------------------------------- cancel and replace

    @rule(data=st.data())
    def cancel(self, data):
        oid = self.target_id(data)
        order = self.ref.live.get(oid)
        right_b = order.instrument if order else 0
        right_a = order.account if order else 0
        b = data.draw(st.sampled_from([-1, -1, -1, right_b, (right_b + 1) % 3, 3, -2]))
        a = data.draw(st.sampled_from([-1, -1, -1, right_a, (right_a + 1) % 5, 9, -4]))
        self.run(Cancel(order_id=oid, instrument=b, account=a, ts=self.next_ts(data)))

    @rule(data=st.data())
    def replace_unknown_or_done(self, data):
        oid = self.target_id(data, live=0, done=2, fresh=1)
        self.run(Replace(order_id=oid, qty=data.draw(st.integers(0, 12)),
                         price=data.draw(PRICES), ts=self.next_ts(data)))

    @precondition(lambda self: self.ref.live)
    @rule(data=st.data())
    def replace_live(self, data):
        draw = data.draw
        order = self.ref.live[draw(st.sampled_from(sorted(self.ref.live)), label="live id")]
        lot = lot_of(order.instrument)
        cum, total = order.cum, order.cum + order.shown + order.hidden
        qty = draw(st.sampled_from([total, total - lot, total + lot, cum + 3 * lot, cum,
                                    cum - lot, lot, 0, total + 1, 2 * total,
                                    MAX_QTY + lot]), label="qty")
        price = draw(weighted((st.just(order.price), 3),
                              (st.integers(order.price - 3, order.price + 3), 2), (PRICES, 1)),
                     label="price")
        stop = draw(weighted((st.just(0), 3), (st.just(order.stop_price), 1),
                             (stop_price_near(self.last_price(order.instrument)), 2)),
                    label="stop price")
        b = draw(st.sampled_from([-1] * 5 + [order.instrument, (order.instrument + 1) % 3, 3]))
        a = draw(st.sampled_from([-1] * 5 + [order.account, (order.account + 2) % 5]))
        side = draw(st.sampled_from([0] * 5 + [order.side, -order.side, 2]))
        self.run(Replace(order_id=order.order_id, qty=qty, price=price, stop_price=stop,
                         instrument=b, account=a, side=side, ts=self.next_ts(data)))

    # ---------------------------------------------------------- mass cancel, expiry

    @rule(data=st.data())
    def mass_cancel_or_expire(self, data):
        draw = data.draw
        if draw(st.sampled_from([True, True, False]), label="mass cancel"):
            self.run(MassCancel(request_id=draw(st.integers(0, 99)),
                                instrument=draw(st.sampled_from([-1, 0, 1, 2, 3, -2])),
                                account=draw(st.sampled_from([-1, 0, 1, 2, 3, 4, 5, -3])),
                                side=draw(st.sampled_from([0, 1, -1, 2])),
                                ts=self.next_ts(data)))
        else:
            self.run(ExpireOrders(instrument=draw(st.sampled_from([-1, 0, 1, 2, 3, -4])),
                                  ts=self.next_ts(data)))

    # ---------------------------------------------------------- after every step

    @invariant()
    def same_books_and_invariants_hold(self):
        assert_same_books(self.eng, self.ref, f"after step {self.steps}")
        self.eng.check()


TestEngineVsReference = EngineVsReference.TestCase


# ---------------------------------------------------------------- one big command

def _scaled(factor: float) -> settings:
    """This test's share of the profile's examples."""
    return settings(max_examples=max(3, int(settings.default.max_examples * factor)))


@st.composite
def big_sweep(draw):
    """Many resting orders and stops in instrument `b`, then one command that
    meets (nearly) all of them."""
    b = draw(st.integers(0, len(BOOKS) - 1))
    lot = lot_of(b)
    n = draw(st.integers(20, 120))
    side = draw(st.sampled_from([Side.BUY, Side.SELL]))
    cmds, total = [], 0
    for i in range(n):
        qty = draw(st.integers(1, 6)) * lot
        total += qty
        stop = draw(st.integers(0, 9)) == 0
        cmds.append(NewOrder(
            order_id=i + 1, instrument=b, account=draw(st.integers(0, len(ACCOUNTS) - 1)),
            side=side, qty=qty, price=MID + draw(st.integers(-3, 3)),
            ord_type=OrdType.STOP_LIMIT if stop else OrdType.LIMIT,
            tif=draw(st.sampled_from([TimeInForce.DAY, TimeInForce.GTC])),
            stop_price=MID - 2 * side if stop else 0,      # inside the band too
            display_qty=draw(st.sampled_from([0, 0, 0, lot, 2 * lot])) if not stop else 0,
            ts=i))
    # opposite side, crossing everything (the band bounds market orders)
    final = draw(st.sampled_from(["market", "limit", "mass", "expire"]))
    if final in ("market", "limit"):
        cmds.append(NewOrder(
            order_id=n + 1, instrument=b, account=draw(st.integers(0, len(ACCOUNTS) - 1)),
            side=-side, qty=total + draw(st.integers(0, 3)) * lot,
            price=MID - 6 * side if final == "limit" else 0,
            ord_type=OrdType.MARKET if final == "market" else OrdType.LIMIT,
            tif=draw(st.sampled_from([TimeInForce.IOC, TimeInForce.DAY, TimeInForce.FOK])),
            ts=n))
    elif final == "mass":
        cmds.append(MassCancel(request_id=1, instrument=draw(st.sampled_from([-1, b])),
                               account=draw(st.sampled_from([-1, 0, 2])),
                               side=draw(st.sampled_from([0, int(side)])), ts=n))
    else:
        cmds.append(ExpireOrders(instrument=draw(st.sampled_from([-1, b])), ts=n))
    return cmds


@_scaled(0.1)
@given(big_sweep())
def test_big_sweeps_grow_the_event_buffer(cmds):
    replay_against_reference(cmds)


def replay_against_reference(cmds) -> MatchingEngine:
    """Run `cmds` through a tiny numba engine and the reference, one by one,
    requiring the same events and books after each; then through the batch
    door of another engine, requiring the same events again."""
    eng, ref = tiny_engine(), ReferenceEngine(BOOKS, ACCOUNTS)
    events = []
    for i, cmd in enumerate(cmds):
        events.extend(submit_checked(eng, ref, cmd, f"command {i}: "))
        assert_same_books(eng, ref, f"after command {i}: {cmd!r}")
        eng.check()
    assert run_batch_events(tiny_engine(), cmds, chunk=3) == events
    return eng


# ---------------------------------------------------------------- fixed scenarios

def L(oid, side, qty, price, account=2, b=0, tif=TimeInForce.DAY, **kw):
    return NewOrder(oid, b, account, side, qty, price=price, tif=tif, **kw)


def S(oid, side, qty, stop_price, account=2, price=0, tif=TimeInForce.DAY, b=0):
    return NewOrder(oid, b, account, side, qty, price=price, stop_price=stop_price, tif=tif,
                    ord_type=OrdType.STOP_LIMIT if price else OrdType.STOP)


BUY, SELL = Side.BUY, Side.SELL
ALL = MassCancel(request_id=0)


def _stp_scenario():
    """Each STP mode meeting its group with A < R, A = R, A > R, with and without
    another order behind the resting one (the level may go away)."""
    cmds, oid = [], 100
    for aggressor, resting in ((0, 1), (0, 0), (1, 0), (3, 3), (4, 4), (2, 0)):
        for qty in (2, 4, 6):
            for behind in (True, False):
                cmds += [L(oid, SELL, 4, 100, resting, display_qty=2 if qty == 2 else 0)]
                cmds += [L(oid + 1, SELL, 3, 100 if behind else 101, 2)]
                cmds += [L(oid + 2, BUY, qty, 101, aggressor, tif=TimeInForce.IOC), ALL]
                cmds += [L(oid + 3, BUY, 3, 100, resting), L(oid + 4, SELL, 9, 99, aggressor,
                                                             tif=TimeInForce.FOK), ALL]
                oid += 5
    return cmds


SCENARIOS = {
    "stp": _stp_scenario(),
    "replace": [
        L(1, BUY, 10, 100), L(2, SELL, 4, 100, 3), Replace(1, qty=4, price=100),
        L(3, BUY, 10, 100), L(4, SELL, 6, 100, 3), Replace(3, qty=2, price=100),
        L(6, SELL, 5, 101, 3), L(5, BUY, 10, 99, display_qty=3),
        Replace(5, qty=7, price=99), Replace(5, qty=7, price=99), Replace(5, qty=12, price=99),
        Replace(5, qty=12, price=101), Replace(5, qty=12, price=101, side=-1),
        Replace(5, qty=12, price=101, account=4), Replace(5, qty=12, price=101, instrument=1),
        Replace(5, qty=12, price=101, instrument=7), Replace(3, qty=1, price=100),
        Replace(99, qty=1, price=100), Replace(5, qty=13, price=101, instrument=0, account=2,
                                               side=1),
        L(7, SELL, 5, 105, 3, flags=int(OrderFlags.POST_ONLY)), Replace(7, qty=5, price=99),
        Replace(7, qty=5, price=104), S(8, BUY, 5, 110), S(9, BUY, 5, 110),
        Replace(8, qty=3), Replace(8, qty=3, stop_price=111), Replace(8, qty=3, stop_price=100),
        S(10, SELL, 2, 90, price=95), Replace(10, qty=2, price=96), Replace(10, qty=2, price=0),
        Replace(10, qty=2, price=96, stop_price=-1), Replace(9, qty=0),
        L(11, BUY, 5, 50, b=1), Replace(11, qty=7, price=50), Replace(11, qty=10, price=50),
        Replace(11, qty=10, price=2 ** 62),
        L(12, BUY, 5, 100, b=2), Replace(12, qty=5, price=104)],
    "stop cascades": [
        L(1, SELL, 1, 100, 3), L(2, SELL, 1, 101, 3), L(3, SELL, 2, 102, 3), L(4, SELL, 1, 103, 3),
        S(11, BUY, 1, 100), S(12, BUY, 1, 100), S(13, BUY, 1, 101), S(14, BUY, 1, 102,
                                                                      price=102, tif=FOK_),
        S(15, BUY, 5, 103, price=104, tif=TimeInForce.GTC), S(16, BUY, 1, 102,
                                                               tif=TimeInForce.IOC),
        L(5, BUY, 1, 100, 4),
        L(21, BUY, 1, 99, 3), L(22, BUY, 2, 98, 3), L(23, BUY, 1, 97, 3),
        S(31, SELL, 1, 99), S(32, SELL, 1, 99), S(33, SELL, 2, 98, price=97), S(34, SELL, 1, 80),
        L(24, SELL, 1, 99, 4), S(35, BUY, 1, 90), S(36, SELL, 1, 120, price=1),
        ExpireOrders(instrument=0)],
    "icebergs": [
        L(1, SELL, 10, 100, 3, display_qty=2), L(2, BUY, 7, 100, 4), L(3, SELL, 4, 100, 4),
        L(4, BUY, 9, 100, 0, display_qty=1), S(5, SELL, 6, 100, 1), L(6, SELL, 1, 100, 3),
        L(7, SELL, 20, 99, 3, display_qty=3, tif=TimeInForce.GTC),
        L(8, BUY, 15, 99, 0, tif=FOK_), L(9, BUY, 30, 99, 3, tif=FOK_),
        L(10, BUY, 30, 99, 2, tif=FOK_), MassCancel(1, account=3)],
    "lots and bands": [
        L(1, BUY, 7, 50, b=1), L(1, BUY, 5, 50, b=1, display_qty=3), L(1, BUY, 10, 50, b=1,
                                                                       display_qty=-5),
        L(1, BUY, 10, 50, b=1, display_qty=5), L(2, SELL, 5, 49, 3, b=1), Replace(1, qty=7),
        L(3, BUY, 5, 96, b=2), L(3, BUY, 5, 104, b=2), L(3, BUY, 5, 103, b=2),
        L(4, SELL, 5, 97, 3, b=2), NewOrder(5, 2, 4, BUY, 20, ord_type=OrdType.MARKET),
        NewOrder(6, 2, 4, SELL, 20, ord_type=OrdType.MARKET),
        S(7, BUY, 1, 104, b=2), S(7, BUY, 1, 0, b=2), S(7, SELL, 1, 96, price=98, b=2),
        NewOrder(8, 2, 4, SELL, 5, ord_type=OrdType.MARKET, tif=FOK_)],
    "mass cancel and expiry": [
        L(1, BUY, 1, 99, 0), L(2, SELL, 1, 101, 1, tif=TimeInForce.GTC), L(3, BUY, 5, 50, 3, b=1),
        S(4, BUY, 1, 105, 4), S(5, SELL, 1, 95, 0, tif=TimeInForce.GTC), L(6, BUY, 1, 98, 2, b=2),
        L(7, BUY, 1, 99, 2), L(8, BUY, 1, 99, 3), L(9, BUY, 1, 99, 2), Cancel(8),
        MassCancel(1, instrument=-1, account=0, side=1), MassCancel(2, instrument=3),
        MassCancel(3, instrument=-2), MassCancel(4, instrument=0, account=-5),
        MassCancel(5, side=2), ExpireOrders(instrument=0), ExpireOrders(instrument=5),
        ExpireOrders(instrument=-1), ExpireOrders(), ALL, Cancel(1), Cancel(2)],
    "price range": [
        L(1, BUY, 1, 100), L(2, SELL, 1, 100 + MAX_SPAN - 1, 3), L(3, BUY, 1, 99),
        S(4, SELL, 1, 99), S(4, BUY, 1, 101, price=100 + MAX_SPAN), Replace(1, qty=1, price=99),
        NewOrder(5, 0, 0, BUY, 1, ord_type=OrdType.MARKET), L(6, BUY, 2, 100 + MAX_SPAN - 1, 4),
        ALL, L(7, BUY, 1, 99), L(8, BUY, 1, 101)],
    "validation": [
        NewOrder(1, 0, 0, 0, 1, price=100), NewOrder(1, 0, 0, 2, 1, price=100),
        NewOrder(1, 0, 0, BUY, 1, price=100, ord_type=9), NewOrder(1, 0, 0, BUY, 1, price=100,
                                                                   tif=0),
        NewOrder(1, 0, 5, BUY, 1, price=100), NewOrder(1, 0, -1, BUY, 1, price=100),
        NewOrder(1, 3, 0, BUY, 1, price=100), NewOrder(1, -1, 0, BUY, 1, price=100),
        NewOrder(1, 0, 0, BUY, 1, price=100, flags=2), NewOrder(1, 0, 0, BUY, 1, price=100,
                                                               flags=1, tif=TimeInForce.IOC),
        NewOrder(1, 0, 0, BUY, 1, price=-3), NewOrder(1, 0, 0, BUY, 0, price=100),
        NewOrder(1, 0, 0, BUY, 1, ord_type=OrdType.STOP, stop_price=0),
        NewOrder(1, 0, 0, BUY, 1, ord_type=OrdType.STOP, stop_price=5, display_qty=1),
        NewOrder(1, 0, 0, BUY, 1, ord_type=OrdType.MARKET, flags=1),
        NewOrder(1, 0, 0, BUY, MAX_QTY + 1, price=100), NewOrder(1, 1, 0, BUY, MAX_QTY + 5,
                                                                 price=50),
        Cancel(1), Cancel(1, instrument=4), Cancel(1, instrument=-3),
        L(1, BUY, 1, 100), Cancel(1, account=3), Cancel(1, instrument=2), Cancel(1),
        Cancel(1), L(1, BUY, 1, 100), L(2, SELL, MAX_QTY, 101), L(3, SELL, MAX_QTY, 101),
        Replace(2, qty=MAX_QTY + 1, price=101), L(4, BUY, MAX_QTY, 101, tif=FOK_), ALL],
}


SLOW_WITHOUT_JIT = {"price range"}     # ladders millions of ticks wide


@pytest.mark.parametrize("name", [
    pytest.param(name, marks=pytest.mark.skipif(
        NO_JIT and name in SLOW_WITHOUT_JIT, reason="too slow without the JIT"))
    for name in sorted(SCENARIOS)])
def test_scenario_agrees_with_reference(name):
    """Fixed command sequences through every rule, so that every kernel branch
    runs on every run (the quick mode's coverage does not depend on luck)."""
    replay_against_reference(SCENARIOS[name])


# ---------------------------------------------------------------- the two doors

def run_batch_events(eng: MatchingEngine, cmds, chunk: int) -> list:
    """Events of `cmds` through the batch door, as structs, checking the
    per-command split that `run` reports."""
    events, firsts = [], []

    def on_events(first, end, rows, first_row):
        assert first == len(firsts) and end - first == len(first_row)
        firsts.extend(len(events) + int(r) for r in first_row)
        events.extend(event_from_row(row) for row in rows)

    total = eng.run(commands_to_array(cmds), on_events, chunk=chunk)
    assert total == len(events) and len(firsts) == len(cmds)
    assert firsts == sorted(firsts)
    return events


@_scaled(0.5)
@given(command_lists())
def test_submit_and_run_agree(cmds):
    one, batch, ref = tiny_engine(), tiny_engine(), ReferenceEngine(BOOKS, ACCOUNTS)
    submitted = []
    for cmd in cmds:
        submitted.extend(submit_checked(one, ref, cmd))
    assert run_batch_events(batch, cmds, chunk=3) == submitted
    for b in range(len(BOOKS)):
        assert batch.book_state(b) == one.book_state(b)
        assert batch.depth(b) == one.depth(b)
    one.check()
    batch.check()
    assert one.order_ids_taken() == batch.order_ids_taken()


@_scaled(0.2)
@given(command_lists(max_size=15))
def test_commands_to_array_round_trip(cmds):
    assert array_to_commands(commands_to_array(cmds)) == cmds


def test_commands_to_array_layout():
    rows = commands_to_array([
        NewOrder(7, 1, 2, Side.SELL, 10, price=99, ord_type=OrdType.STOP_LIMIT,
                 tif=TimeInForce.GTC, stop_price=98, display_qty=0, flags=1, ts=5),
        MassCancel(request_id=42, instrument=-1, account=3, side=-1, ts=6),
        ExpireOrders(instrument=2, ts=7)])
    assert rows[0].tolist() == (7, 99, 98, 10, 0, 5, 1, 2, 1, -1, 4, 2, 1)
    assert (rows[1]["order_id"], rows[1]["account"], rows[1]["side"]) == (42, 3, -1)
    assert (rows[2]["order_id"], rows[2]["account"], rows[2]["instrument"]) == (0, -1, 2)
    with pytest.raises(OverflowError):
        commands_to_array([NewOrder(1, 0, 0, Side.BUY, 1, flags=300)])


# ---------------------------------------------------------------- the quick mode

@pytest.mark.skipif(NO_JIT, reason="already running without the JIT")
def test_quick_mode_without_jit():
    """This file with the kernels as plain Python (the `quick` profile)."""
    root = Path(__file__).resolve().parent.parent
    env = {k: v for k, v in os.environ.items() if k != "HYPOTHESIS_PROFILE"}
    env["NUMBA_DISABLE_JIT"] = "1"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", str(Path(__file__)), "-q", "-p", "no:cacheprovider",
         "-x"], cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
