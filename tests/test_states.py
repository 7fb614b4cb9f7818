"""The order-state table: every event stream the engine produces follows it.

Random flows (the benchmark generator, plus hypothesis command lists of every
kind) run through the engine; `OrderTracker` folds each event into the
order's state and raises on any transition missing from `TRANSITIONS`.
"""
import pytest
from hypothesis import given, strategies as st

from engine.batch import array_to_commands
from engine.commands import Cancel, ExpireOrders, MassCancel, NewOrder, Replace
from engine.enums import OrdType, Side, StpMode, TimeInForce
from engine.events import Accepted, Cancelled, Rejected, Trade
from engine.matching import MatchingEngine
from engine.reasons import ReasonCode
from engine.enums import CancelCause, CommandKind
from engine.specs import AccountSpec, BookSpec
from engine.states import TERMINAL, TRANSITIONS, IllegalTransition, OrderState, OrderTracker
from oms import flowgen


def test_terminal_states_have_no_way_out():
    for (state, _event), targets in TRANSITIONS.items():
        if state in TERMINAL:
            assert state == OrderState.REJECTED, f"{state.name} is terminal but has an exit"


def test_illegal_transition_is_refused():
    t = OrderTracker()
    t.apply(Accepted(1, 0, 7, 0, 0, Side.BUY, OrdType.LIMIT, TimeInForce.DAY, 0, 10, 0, 5, 0))
    t.apply(Cancelled(2, 0, 7, 0, 0, CancelCause.REQUEST, 5, 0))
    assert t.state(7) == OrderState.CANCELLED
    with pytest.raises(IllegalTransition):
        t.apply(Trade(3, 0, 1, 0, 10, 5, Side.BUY, 7, 8, 0, 1, 0, 5, 0, 5))


def test_a_refused_order_leaves_its_id_usable():
    t = OrderTracker()
    t.apply(Rejected(1, 0, 7, 0, 0, CommandKind.NEW, ReasonCode.OFF_LOT))
    assert t.state(7) == OrderState.REJECTED
    t.apply(Accepted(2, 0, 7, 0, 0, Side.BUY, OrdType.LIMIT, TimeInForce.DAY, 0, 10, 0, 5, 0))
    assert t.state(7) == OrderState.NEW


def test_the_benchmark_flow_follows_the_table():
    engine = MatchingEngine(*flowgen.venue())
    tracker = OrderTracker()
    for cmd in array_to_commands(flowgen.generate(20_000, seed=3)):
        for event in engine.submit(cmd):
            tracker.apply(event)


command = st.one_of(
    st.builds(NewOrder, order_id=st.integers(1, 25), instrument=st.just(0),
              account=st.integers(0, 2), side=st.sampled_from(Side), qty=st.integers(1, 40),
              price=st.integers(95, 105), ord_type=st.sampled_from(OrdType),
              tif=st.sampled_from(TimeInForce), stop_price=st.integers(95, 105),
              display_qty=st.sampled_from([0, 0, 5]), flags=st.sampled_from([0, 0, 1])),
    st.builds(Cancel, order_id=st.integers(1, 25)),
    st.builds(Replace, order_id=st.integers(1, 25), qty=st.integers(1, 50),
              price=st.integers(95, 105)),
    st.builds(MassCancel, request_id=st.integers(1, 9), account=st.integers(-1, 2)),
    st.builds(ExpireOrders, instrument=st.sampled_from([-1, 0])),
)


@given(st.lists(command, max_size=60))
def test_random_commands_follow_the_table(cmds):
    engine = MatchingEngine([BookSpec()], [AccountSpec(), AccountSpec(StpMode.DECREMENT, 0),
                                           AccountSpec(StpMode.CANCEL_BOTH, 0)])
    tracker = OrderTracker()
    for cmd in cmds:
        for event in engine.submit(cmd):
            tracker.apply(event)
    for order_id in range(1, 26):
        if tracker.state(order_id) in TERMINAL:
            assert not engine.is_live(order_id)
