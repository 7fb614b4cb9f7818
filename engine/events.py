"""Events out of the engine: small frozen tagged structs, the tag is the `EventKind`.

Every event carries the engine's sequence number `seq` (one counter for the
whole engine, +1 per event) and `ts`, the timestamp of the command that caused
it. Quantities: `leaves` is what is still open, `cum` what has been filled.

The kernels write events as rows of one int64 matrix (`ROW_WIDTH` columns):
column 0 is the kind, then the struct's fields in declaration order, so a row
``r`` is ``cls(*r[1:1 + len(cls.__struct_fields__)])``. The `col` helper gives the
kernels their column constants from these declarations, so the two can never
disagree.
"""
from enum import IntEnum

import msgspec
from msgspec import Struct

from .enums import CancelCause, CommandKind, OrdType, Side, TimeInForce
from .reasons import ReasonCode


class EventKind(IntEnum):
    ACCEPTED = 1
    REJECTED = 2
    TRADE = 3
    CANCELLED = 4
    REDUCED = 5
    REPLACED = 6
    STOP_TRIGGERED = 7
    EXPIRED = 8
    MASS_CANCELLED = 9


class Event(Struct, frozen=True, array_like=True, gc=False, tag_field="kind"):
    """Base of all events (not instantiated)."""
    seq: int
    ts: int


class Accepted(Event, tag=int(EventKind.ACCEPTED)):
    order_id: int
    instrument: int
    account: int
    side: Side
    ord_type: OrdType
    tif: TimeInForce
    flags: int
    price: int
    stop_price: int
    qty: int
    display_qty: int


class Rejected(Event, tag=int(EventKind.REJECTED)):
    """A command refused; it changed nothing. `order_id` is the command's order
    id (the request id of a mass cancel). A limit check (the risk layer's)
    also gives the limit and the value that broke it, in the limit's units
    (quantity, ticks, or notional in micro-units of the currency); 0 otherwise."""
    order_id: int
    instrument: int
    account: int
    command: CommandKind
    reason: ReasonCode
    limit: int = 0
    value: int = 0


class Trade(Event, tag=int(EventKind.TRADE)):
    """One match, the fill of both sides. It prints at the resting order's price."""
    trade_id: int
    instrument: int
    price: int
    qty: int
    aggressor: Side
    buy_order_id: int
    sell_order_id: int
    buy_account: int
    sell_account: int
    buy_leaves: int
    buy_cum: int
    sell_leaves: int
    sell_cum: int


class Cancelled(Event, tag=int(EventKind.CANCELLED)):
    """The order is done; `qty` is the open quantity that was cancelled."""
    order_id: int
    instrument: int
    account: int
    cause: CancelCause
    qty: int
    cum: int


class Reduced(Event, tag=int(EventKind.REDUCED)):
    """Open quantity taken away without a trade (self-trade prevention in
    decrement mode); the order stays live with `leaves`."""
    order_id: int
    instrument: int
    account: int
    cause: CancelCause
    qty: int
    leaves: int
    cum: int


class Replaced(Event, tag=int(EventKind.REPLACED)):
    """`qty` is the new total order quantity; leaves 0 means the replace ended
    the order. `kept_priority` is False when the order went to the back."""
    order_id: int
    instrument: int
    account: int
    price: int
    stop_price: int
    qty: int
    leaves: int
    cum: int
    kept_priority: bool


class StopTriggered(Event, tag=int(EventKind.STOP_TRIGGERED)):
    """A stop order became active; `last_price` is the book's last trade price."""
    order_id: int
    instrument: int
    account: int
    last_price: int


class Expired(Event, tag=int(EventKind.EXPIRED)):
    """A DAY order reached the end of its session (cause: expiry)."""
    order_id: int
    instrument: int
    account: int
    qty: int
    cum: int


class MassCancelled(Event, tag=int(EventKind.MASS_CANCELLED)):
    """Closes a mass cancel: how many orders it cancelled."""
    request_id: int
    instrument: int
    account: int
    side: int
    count: int


AnyEvent = (Accepted | Rejected | Trade | Cancelled | Reduced | Replaced
            | StopTriggered | Expired | MassCancelled)

EVENT_TYPES: dict[int, type[Event]] = {
    int(cls.__struct_config__.tag): cls
    for cls in (Accepted, Rejected, Trade, Cancelled, Reduced, Replaced,
                StopTriggered, Expired, MassCancelled)
}

ROW_WIDTH = 16


def col(cls: type[Event], field: str) -> int:
    """Column of `field` in an event row of `cls` (column 0 holds the kind)."""
    return 1 + cls.__struct_fields__.index(field)


def event_from_row(row) -> Event:
    """Build the struct from one event row (a sequence of ints), enum fields as
    their members. Slow; for tests and tools (the engine decodes its rows with
    msgspec, see `engine.event_codec`)."""
    cls = EVENT_TYPES[int(row[0])]
    return cls(*[conv(int(v)) for conv, v in zip(_CONVERTERS[cls], row[1:])])


def _converter(tp):
    if isinstance(tp, type) and (issubclass(tp, IntEnum) or tp is bool):
        return tp
    return int


_CONVERTERS = {cls: [_converter(f.type) for f in msgspec.structs.fields(cls)]
               for cls in EVENT_TYPES.values()}
