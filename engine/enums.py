"""The small vocabularies shared by commands, events, kernels and the edges.

Values are what the kernels store in their int64/int8 fields, so they never
change once released. `Side` is a sign (+1 buy, -1 sell) so that one code path
serves both sides of the book: a buy crosses a price P at limit L when
``side * (L - P) >= 0``.
"""
from enum import IntEnum


class Side(IntEnum):
    BUY = 1
    SELL = -1


class OrdType(IntEnum):
    LIMIT = 1
    MARKET = 2
    STOP = 3          # becomes a market order when triggered
    STOP_LIMIT = 4    # becomes a limit order when triggered


class TimeInForce(IntEnum):
    DAY = 1   # rests; expired by an ExpireOrders command at the end of the session
    GTC = 2   # rests until filled or cancelled
    IOC = 3   # fills what it can at once, the rest is cancelled
    FOK = 4   # fills completely at once or not at all


class OrderFlags(IntEnum):
    """Bit flags on an order."""
    NONE = 0
    POST_ONLY = 1
    SHORT_SALE = 2          # a sell marked short (FIX Side 5); the book ignores it,
    SHORT_EXEMPT = 4        # pre-trade risk reads it (FIX Side 6: short, exempt)


class StpMode(IntEnum):
    """Self-trade prevention, applied by the aggressor's account when both
    orders belong to the same STP group. Off unless configured."""
    NONE = 0
    CANCEL_AGGRESSOR = 1
    CANCEL_RESTING = 2
    CANCEL_BOTH = 3
    DECREMENT = 4     # decrement both by the smaller quantity, cancel the smaller


class CancelCause(IntEnum):
    REQUEST = 1
    IOC_REMAINDER = 2   # IOC and market orders: what did not fill at once
    FOK_KILL = 3
    SELF_TRADE = 4
    MASS_CANCEL = 5
    EXPIRY = 6          # carried by Expired events: a DAY order at session end


class CommandKind(IntEnum):
    NEW = 1
    CANCEL = 2
    REPLACE = 3
    MASS_CANCEL = 4
    EXPIRE = 5
