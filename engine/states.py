"""Order states and the one table of allowed transitions.

An order's state follows from its events alone; `OrderTracker` folds the event
stream into states and refuses any transition that is not in `TRANSITIONS`.
The names follow FIX OrdStatus (39) so the gateway can report them directly.

>>> from engine.events import Accepted, Trade
>>> t = OrderTracker()
>>> t.apply(Accepted(1, 0, 7, 0, 0, 1, 1, 1, 0, 100, 0, 10, 0))
>>> t.state(7)
<OrderState.NEW: 1>
"""
from enum import IntEnum

from .enums import CommandKind
from .events import (Accepted, Cancelled, Event, Expired, Reduced, Rejected, Replaced,
                     StopTriggered, Trade)


class OrderState(IntEnum):
    UNKNOWN = 0
    NEW = 1                 # accepted, nothing filled (untriggered stops too)
    PARTIALLY_FILLED = 2
    FILLED = 3
    CANCELLED = 4
    EXPIRED = 5
    REJECTED = 6

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = frozenset({OrderState.FILLED, OrderState.CANCELLED, OrderState.EXPIRED,
                      OrderState.REJECTED})

S = OrderState
# (state, event type) -> the states the event may lead to. Which one is decided
# by the event's leaves and cum (see `_target`); anything absent is illegal.
TRANSITIONS: dict[tuple[OrderState, type], frozenset[OrderState]] = {
    (S.UNKNOWN, Accepted): frozenset({S.NEW}),
    (S.UNKNOWN, Rejected): frozenset({S.REJECTED}),
    (S.REJECTED, Accepted): frozenset({S.NEW}),    # a refused order leaves its id unused
    (S.NEW, Trade): frozenset({S.PARTIALLY_FILLED, S.FILLED}),
    (S.PARTIALLY_FILLED, Trade): frozenset({S.PARTIALLY_FILLED, S.FILLED}),
    (S.NEW, Cancelled): frozenset({S.CANCELLED}),
    (S.PARTIALLY_FILLED, Cancelled): frozenset({S.CANCELLED}),
    (S.NEW, Expired): frozenset({S.EXPIRED}),
    (S.PARTIALLY_FILLED, Expired): frozenset({S.EXPIRED}),
    (S.NEW, Replaced): frozenset({S.NEW}),
    (S.PARTIALLY_FILLED, Replaced): frozenset({S.PARTIALLY_FILLED, S.FILLED}),
    (S.NEW, Reduced): frozenset({S.NEW}),
    (S.PARTIALLY_FILLED, Reduced): frozenset({S.PARTIALLY_FILLED}),
    (S.NEW, StopTriggered): frozenset({S.NEW}),
    # a refused cancel or replace leaves a live order as it was
    (S.NEW, Rejected): frozenset({S.NEW}),
    (S.PARTIALLY_FILLED, Rejected): frozenset({S.PARTIALLY_FILLED}),
}


class IllegalTransition(AssertionError):
    pass


class OrderTracker:
    """Folds events into per-order states, checking every step against TRANSITIONS.

    Rejections of cancel and replace requests for ids that are unknown or done
    concern no live order and are ignored; so are mass-cancel summaries.
    """

    def __init__(self) -> None:
        self._states: dict[int, OrderState] = {}

    def state(self, order_id: int) -> OrderState:
        return self._states.get(order_id, OrderState.UNKNOWN)

    def apply(self, event: Event) -> None:
        for order_id, cum, leaves in _orders_touched(event):
            current = self.state(order_id)
            if (isinstance(event, Rejected) and event.command != CommandKind.NEW
                    and (current == S.UNKNOWN or current.is_terminal)):
                continue
            if isinstance(event, Rejected) and event.command == CommandKind.NEW and current != S.UNKNOWN:
                continue            # a duplicate id refused: the existing order is untouched
            allowed = TRANSITIONS.get((current, type(event)))
            target = _target(event, current, cum, leaves)
            if allowed is None or target not in allowed:
                raise IllegalTransition(
                    f"order {order_id}: {current.name} --{type(event).__name__}--> "
                    f"{target.name if target is not None else '?'} is not allowed")
            self._states[order_id] = target


def _orders_touched(event: Event):
    """(order_id, cum, leaves) of each order an event speaks of (-1: not given)."""
    if isinstance(event, Trade):
        return ((event.buy_order_id, event.buy_cum, event.buy_leaves),
                (event.sell_order_id, event.sell_cum, event.sell_leaves))
    if isinstance(event, (Replaced, Reduced)):
        return ((event.order_id, event.cum, event.leaves),)
    if isinstance(event, (Accepted, Rejected, Cancelled, Expired, StopTriggered)):
        return ((event.order_id, -1, -1),)
    return ()


def _target(event: Event, current: OrderState, cum: int, leaves: int) -> OrderState | None:
    if isinstance(event, Accepted):
        return S.NEW
    if isinstance(event, Rejected):
        return S.REJECTED if current == S.UNKNOWN else current
    if isinstance(event, Cancelled):
        return S.CANCELLED
    if isinstance(event, Expired):
        return S.EXPIRED
    if isinstance(event, StopTriggered):
        return current
    if leaves == 0:
        return S.FILLED
    return S.PARTIALLY_FILLED if cum > 0 else S.NEW
