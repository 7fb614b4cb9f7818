"""Command structs as `COMMAND_DTYPE` records, for the batch door (`MatchingEngine.run`)."""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .commands import Cancel, ExpireOrders, MassCancel, NewOrder, Replace
from .enums import CommandKind
from .layout import COMMAND_DTYPE


def commands_to_array(cmds: Iterable) -> np.ndarray:
    """One `COMMAND_DTYPE` record per command, in order.

    Fields a command does not have are 0, except: a mass cancel's `request_id`
    goes in `order_id`; `ExpireOrders` has `order_id` 0 and `account` -1 (as
    the per-command door reads it). Values must fit the record's fields (int8
    enums and flags, int32 instrument and account); a value that does not
    raises OverflowError rather than wrapping around.
    """
    rows = [_fields(cmd) for cmd in cmds]
    out = np.zeros(len(rows), COMMAND_DTYPE)
    for name in COMMAND_DTYPE.names:
        column = [int(row.get(name, 0)) for row in rows]
        info = np.iinfo(COMMAND_DTYPE[name])
        bad = [v for v in column if not info.min <= v <= info.max]
        if bad:
            raise OverflowError(f"{name}={bad[0]} does not fit {COMMAND_DTYPE[name]}")
        out[name] = column
    return out


def _fields(cmd) -> dict[str, int]:
    if isinstance(cmd, NewOrder):
        return dict(kind=CommandKind.NEW, order_id=cmd.order_id, instrument=cmd.instrument,
                    account=cmd.account, side=cmd.side, qty=cmd.qty, price=cmd.price,
                    ord_type=cmd.ord_type, tif=cmd.tif, stop_price=cmd.stop_price,
                    display_qty=cmd.display_qty, flags=cmd.flags, ts=cmd.ts)
    if isinstance(cmd, Cancel):
        return dict(kind=CommandKind.CANCEL, order_id=cmd.order_id, instrument=cmd.instrument,
                    account=cmd.account, ts=cmd.ts)
    if isinstance(cmd, Replace):
        return dict(kind=CommandKind.REPLACE, order_id=cmd.order_id, qty=cmd.qty,
                    price=cmd.price, stop_price=cmd.stop_price, instrument=cmd.instrument,
                    account=cmd.account, side=cmd.side, ts=cmd.ts)
    if isinstance(cmd, MassCancel):
        return dict(kind=CommandKind.MASS_CANCEL, order_id=cmd.request_id,
                    instrument=cmd.instrument, account=cmd.account, side=cmd.side, ts=cmd.ts)
    if isinstance(cmd, ExpireOrders):
        return dict(kind=CommandKind.EXPIRE, order_id=0, instrument=cmd.instrument,
                    account=-1, ts=cmd.ts)
    raise TypeError(f"not a command: {cmd!r}")



def array_to_commands(cmds: np.ndarray) -> list:
    """The command structs of `COMMAND_DTYPE` records (the inverse of
    `commands_to_array`), for the per-command door and the reference book."""
    out = []
    for (order_id, price, stop_price, qty, display_qty, ts, instrument, account, kind, side,
         ord_type, tif, flags) in cmds.tolist():
        if kind == CommandKind.NEW:
            out.append(NewOrder(order_id, instrument, account, side, qty, price, ord_type, tif,
                                stop_price, display_qty, flags, ts))
        elif kind == CommandKind.CANCEL:
            out.append(Cancel(order_id, instrument, account, ts))
        elif kind == CommandKind.REPLACE:
            out.append(Replace(order_id, qty, price, stop_price, instrument, account, side, ts))
        elif kind == CommandKind.MASS_CANCEL:
            out.append(MassCancel(order_id, instrument, account, side, ts))
        elif kind == CommandKind.EXPIRE:
            out.append(ExpireOrders(instrument, ts))
        else:
            raise ValueError(f"unknown command kind {kind}")
    return out
