"""Commands into the engine: small frozen tagged structs, the tag is the `CommandKind`.

Every command carries `ts`, nanoseconds since the Unix epoch from the caller's
clock: the engine never reads a clock itself, so the same commands replay to the
same events. Prices are integer ticks and quantities integer units of the
instrument; decimal strings are converted before a command is built
(`engine.prices`). `instrument` and `account` are indexes into the engine's
reference data (`engine.refdata.ReferenceData` resolves names).

On cancel and replace, `instrument`, `account` and `side` are optional checks:
-1 (or 0 for `side`) means "not given"; given and different from the order's,
the command is rejected.
"""
from msgspec import Struct

from .enums import CommandKind, OrdType, Side, TimeInForce


class Command(Struct, frozen=True, array_like=True, gc=False, tag_field="kind"):
    """Base of all commands (not instantiated)."""


class NewOrder(Command, tag=int(CommandKind.NEW)):
    order_id: int
    instrument: int
    account: int
    side: Side
    qty: int
    price: int = 0                       # limit price in ticks: LIMIT and STOP_LIMIT
    ord_type: OrdType = OrdType.LIMIT
    tif: TimeInForce = TimeInForce.DAY
    stop_price: int = 0                  # trigger price in ticks: STOP and STOP_LIMIT
    display_qty: int = 0                 # iceberg: the shown part; 0 shows everything
    flags: int = 0                       # OrderFlags bits (POST_ONLY)
    ts: int = 0


class Cancel(Command, tag=int(CommandKind.CANCEL)):
    order_id: int
    instrument: int = -1
    account: int = -1
    ts: int = 0


class Replace(Command, tag=int(CommandKind.REPLACE)):
    """FIX semantics: `qty` is the new *total* order quantity, so the new leaves
    are ``qty - cum``; ``stop_price`` 0 keeps the order's stop price."""
    order_id: int
    qty: int
    price: int = 0
    stop_price: int = 0
    instrument: int = -1
    account: int = -1
    side: int = 0
    ts: int = 0


class MassCancel(Command, tag=int(CommandKind.MASS_CANCEL)):
    """Cancels every live order matching all given filters (-1 / 0: any)."""
    request_id: int
    instrument: int = -1
    account: int = -1
    side: int = 0
    ts: int = 0


class ExpireOrders(Command, tag=int(CommandKind.EXPIRE)):
    """End of session: every live DAY order of the instrument (-1: all) expires."""
    instrument: int = -1
    ts: int = 0


AnyCommand = NewOrder | Cancel | Replace | MassCancel | ExpireOrders
