"""What the gateway tells a trader about orders: the bodies of ExecutionReport
(8), OrderCancelReject (9), OrderMassCancelReport (r) and BusinessMessageReject
(j), for FIX 4.2 and FIX 4.4.

Rendering only: `OrderState` is the gateway's record of one order (kept up to
date by `fix_gateway.orders` from the engine's events) and `Reports` turns it
into a body. An ExecutionReport, the message of the hot path, comes out as
encoded bytes (`codec.encode_body`): the fields that do not change while an
order lives (Symbol, Side, OrderID, ClOrdID...) are encoded once per order
and the changing ones formatted in one step, because encoding a report field
by field cost more than the whole matching. FIX leaves the order of body
fields free outside repeating groups, so the body is fixed fields first.
The rarer messages are ``[(tag, bytes), ...]`` lists in ascending tag order,
as QuickFIX writes them.

The two dialects differ only here:

* 4.4 reports a fill as ExecType F and a status as ExecType I; 4.2 has
  ExecTransType (20) instead, a fill is ExecType 1/2 (the order's status) and
  a status answer is ExecTransType 3 with ExecType = OrdStatus.
* LastLiquidityInd (851) exists from 4.4; AggressorIndicator (1057) is not in
  the 4.4 dictionary at all (a FIX 5.0 field), so it is sent only when asked
  for: a strict 4.4 counterparty rejects an ExecutionReport carrying it.
* 4.2 knows fewer reason codes: OrdRejReason 0-8 and CxlRejReason 0-3, so
  "other" becomes 0 / 2 (broker option) there, 99 in 4.4.
"""
from __future__ import annotations

from msgspec import Struct

from engine.enums import CancelCause
from engine.prices import Tick, format_ticks
from engine.reasons import ReasonCode

from .codec import body_fields, encode_body, utc_timestamp

__all__ = ["OrderState", "Reports", "avg_px", "ord_rej_reason",
           "cxl_rej_reason", "CAUSE_TEXT", "TERMINAL"]

Field = tuple[int, bytes]

TERMINAL = frozenset({b"2", b"4", b"8", b"C"})
"""OrdStatus values after which nothing more happens to an order."""

AVG_PX_EXTRA_PLACES = 6
"""An average price that is no exact decimal (three fills at 10.00, 10.00 and
10.01) is shown with this many places beyond the tick's, rounded half-even."""

CAUSE_TEXT = {
    CancelCause.REQUEST: b"cancelled by the venue",
    CancelCause.IOC_REMAINDER: b"not filled at once: IOC or market order remainder cancelled",
    CancelCause.FOK_KILL: b"fill-or-kill order could not fill completely",
    CancelCause.SELF_TRADE: b"self-trade prevention",
    CancelCause.MASS_CANCEL: b"mass cancel",
    CancelCause.EXPIRY: b"day order expired at the end of the session",
}
"""Text (58) of a cancel the trader did not ask for, by the engine's cause."""

# ReasonCode -> OrdRejReason (103). Limits: "order exceeds limit"; anything not
# listed: "other" (99; 0 "broker option" in 4.2, which has no 99).
_EXCEEDS_LIMIT = (
    ReasonCode.MAX_ORDER_QTY, ReasonCode.MAX_ORDER_NOTIONAL, ReasonCode.PRICE_COLLAR,
    ReasonCode.CREDIT_LIMIT, ReasonCode.POSITION_LIMIT, ReasonCode.GROSS_POSITION_LIMIT,
    ReasonCode.MAX_OPEN_ORDERS, ReasonCode.RATE_LIMIT, ReasonCode.SHORT_SALE,
    ReasonCode.DAILY_LIMIT, ReasonCode.ACCOUNT_REDUCING, ReasonCode.OUTSIDE_PRICE_BAND,
    ReasonCode.QTY_TOO_LARGE, ReasonCode.PRICE_OUT_OF_RANGE)
_ORD_REJ = {ReasonCode.UNKNOWN_SYMBOL: 1, ReasonCode.UNKNOWN_INSTRUMENT: 1,
            ReasonCode.TOO_LATE: 4, ReasonCode.UNKNOWN_ORDER: 5,
            ReasonCode.DUPLICATE_ORDER_ID: 6, **{r: 3 for r in _EXCEEDS_LIMIT}}
_CXL_REJ = {ReasonCode.TOO_LATE: 0, ReasonCode.UNKNOWN_ORDER: 1}
OTHER = 99
DUPLICATE = 6          # OrdRejReason "duplicate order", CxlRejReason "duplicate ClOrdID"


def ord_rej_reason(code: int, fix42: bool) -> bytes:
    """OrdRejReason for a `ReasonCode` (or an OrdRejReason number already).

    >>> ord_rej_reason(ReasonCode.MAX_ORDER_QTY, False), ord_rej_reason(ReasonCode.OFF_TICK, True)
    (b'3', b'0')
    """
    n = _ORD_REJ.get(code, code if code < 100 else OTHER)
    if fix42 and n > 8:
        n = 0
    return b"%d" % n


def cxl_rej_reason(code: int, fix42: bool) -> bytes:
    """CxlRejReason for a `ReasonCode`: too late 0, unknown order 1, else other."""
    n = _CXL_REJ.get(code, code if code < 100 else OTHER)
    if fix42 and n > 3:
        n = 2
    return b"%d" % n


def avg_px(notional: int, cum: int, tick: Tick | None) -> bytes:
    """AvgPx (6) of fills worth `notional` (sum of price x qty, in ticks) over
    `cum`: exact whenever the quotient is a decimal within
    `AVG_PX_EXTRA_PLACES` places beyond the tick's, else rounded there.

    >>> cent = Tick.parse("0.01")
    >>> avg_px(0, 0, cent), avg_px(3 * 1000, 3, cent), avg_px(1000 + 1001, 2, cent)
    (b'0', b'10.00', b'10.005')
    >>> avg_px(1000 + 1000 + 1001, 3, cent)
    b'10.00333333'
    """
    if cum == 0:
        return b"0"
    ticks, off = divmod(notional, cum)
    if off == 0:
        return format_ticks(ticks, tick).encode()
    places = tick.scale + AVG_PX_EXTRA_PLACES
    # price = notional * mantissa / (cum * 10**scale); counted in 10**-places
    units, rem = divmod(notional * tick.mantissa * 10 ** AVG_PX_EXTRA_PLACES, cum)
    if 2 * rem > cum or (2 * rem == cum and units & 1):
        units += 1
    whole, frac = divmod(units, 10 ** places)
    digits = f"{frac:0{places}d}".rstrip("0").ljust(tick.scale, "0")
    return (f"{whole}.{digits}" if digits else str(whole)).encode()


class OrderState(Struct, gc=False):
    """One order as the trader sees it. Numbers are engine units (ticks,
    integer quantities); the ``f_*`` attributes are the ready-made fields the
    reports repeat (None: not shown). `ord_type` and `tif` are what the trader
    asked for, not the risk layer's rewrite (a market order runs as an IOC
    limit at the collar, a stop as a stop-limit), whose limit price is
    `engine_price`."""
    order_id: int
    session: str
    account: int
    fix42: bool
    clordid: bytes
    f_account: Field
    f_clordid: Field
    f_order_id: Field
    f_side: Field
    f_symbol: Field
    instrument: int = -1
    tick: Tick | None = None
    side: int = 0
    ord_type: int = 0
    tif: int = 0
    flags: int = 0
    qty: int = 0
    price: int = 0
    stop: int = 0
    display: int = 0
    leaves: int = 0
    f_qty: Field | None = None
    f_ord_type: Field | None = None
    f_price: Field | None = None
    f_tif: Field | None = None
    f_stop: Field | None = None
    f_floor: Field | None = None
    f_exec_inst: Field | None = None
    engine_price: int = 0
    cum: int = 0
    notional: int = 0                 # sum of fill price x qty, in ticks
    status: bytes = b"0"              # OrdStatus (39)
    fixed: bytes | None = None        # `fixed_fields`, encoded once


# AvgPx, CumQty, ExecID, OrdStatus, TransactTime, ExecType, LeavesQty
_CHANGING = b"6=%b\x0114=%d\x0117=%b\x0139=%b\x0160=%b\x01150=%b\x01151=%d\x01"


def fixed_fields(o: OrderState) -> bytes:
    """The encoded fields that every report of `o` repeats unchanged (until a
    replace or a ClOrdID change, which set `o.fixed` to None)."""
    return encode_body([f for f in (o.f_account, o.f_clordid, o.f_exec_inst, o.f_order_id,
                                    o.f_qty, o.f_ord_type, o.f_price, o.f_side, o.f_symbol,
                                    o.f_tif, o.f_stop, o.f_floor) if f is not None])


class Reports:
    """Renders report bodies. `aggressor_indicator`: add AggressorIndicator
    (1057) to 4.4 fills (see the module docstring)."""

    def __init__(self, *, aggressor_indicator: bool = False):
        self.aggressor_indicator = aggressor_indicator

    def execution(self, o: OrderState, exec_type: bytes, exec_id: bytes, ts: int, *,
                  last_qty: int = 0, last_px: bytes = b"", orig: bytes | None = None,
                  text: bytes | None = None, rej: bytes | None = None,
                  restated: bytes | None = None, aggressor: bool | None = None) -> bytes:
        """An ExecutionReport of `o` as it is now, as encoded body fields
        (`codec.encode_body`): the order's fixed fields (encoded once, see
        `fixed_fields`), then the ones that change. `exec_type` is the 4.4
        ExecType (F trade, I status...); the 4.2 spelling is derived here.
        `aggressor` (fills only) gives LastLiquidityInd and AggressorIndicator."""
        status = o.status
        fix42 = o.fix42
        fixed = o.fixed
        if fixed is None:
            fixed = o.fixed = fixed_fields(o)
        cum = o.cum
        body = _CHANGING % (avg_px(o.notional, cum, o.tick) if cum else b"0", cum, exec_id,
                            status, utc_timestamp(ts),
                            status if fix42 and exec_type in b"FI" else exec_type, o.leaves)
        if fix42:
            body += b"20=3\x01" if exec_type == b"I" else b"20=0\x01"
        if last_qty:
            body += b"31=%b\x0132=%d\x01" % (last_px, last_qty)
        if orig is not None:
            body += b"41=%b\x01" % orig
        if text is not None:
            body += b"58=%b\x01" % text
        if rej is not None:
            body += b"103=%b\x01" % rej
        if restated is not None:
            body += b"378=%b\x01" % restated
        if aggressor is not None and not fix42:
            body += b"851=2\x01" if aggressor else b"851=1\x01"
            if self.aggressor_indicator:
                body += b"1057=Y\x01" if aggressor else b"1057=N\x01"
        return fixed + body

    def cancel_reject(self, account: Field, clordid: bytes, order_id: bytes, status: bytes,
                      orig: bytes | None, text: bytes, ts: int, reason: bytes,
                      response_to: bytes) -> list[Field]:
        """OrderCancelReject (9). For an order the trader cannot see, FIX wants
        OrderID "NONE" and OrdStatus 8 (rejected)."""
        body = [account, (11, clordid), (37, order_id), (39, status)]
        if orig is not None:
            body.append((41, orig))
        body += ((58, text), (60, utc_timestamp(ts)), (102, reason), (434, response_to))
        return body

    def mass_cancel_report(self, clordid: bytes, order_id: bytes, request_type: bytes,
                           response: bytes, ts: int, *, symbol: bytes | None = None,
                           side: bytes | None = None, text: bytes | None = None,
                           reject_reason: bytes | None = None,
                           affected: int | None = None) -> list[Field]:
        """OrderMassCancelReport (r); `response` 0 is a refusal."""
        body = [(11, clordid), (37, order_id)]
        if side is not None:
            body.append((54, side))
        if symbol is not None:
            body.append((55, symbol))
        if text is not None:
            body.append((58, text))
        body += ((60, utc_timestamp(ts)), (530, request_type), (531, response))
        if reject_reason is not None:
            body.append((532, reject_reason))
        if affected is not None:
            body.append((533, b"%d" % affected))
        return body

    @staticmethod
    def business_reject(ref_seq: int, ref_msg_type: bytes, reason: int,
                        text: bytes) -> list[Field]:
        """BusinessMessageReject (j); RefSeqNum only when known (> 0)."""
        body = [(45, b"%d" % ref_seq)] if ref_seq > 0 else []
        body += ((58, text), (372, ref_msg_type), (380, b"%d" % reason))
        return body


_NOT_IN_42 = frozenset((851, 1057))


def in_dialect(body: bytes, fix42: bool) -> bytes:
    """An ExecutionReport body rendered for one FIX version, in the other's
    words where they differ (a drop copy on 4.4 of a 4.2 session's orders,
    say): ExecTransType (20) and the fill and status ExecTypes.

    >>> in_dialect(b"20=0\x0139=1\x01150=1\x01", fix42=False).replace(b"\x01", b"|")
    b'39=1|150=F|'
    >>> in_dialect(b"39=2\x01150=F\x01851=2\x01", fix42=True).replace(b"\x01", b"|")
    b'39=2|20=0|150=2|'
    """
    is42 = body.startswith(b"20=") or b"\x0120=" in body
    if is42 == fix42:
        return body
    fields = body_fields(body)
    values = dict(fields)
    exec_type, status = values.get(150), values.get(39)
    if fix42:
        trans = b"0"
        if exec_type == b"F":
            exec_type = status
        elif exec_type == b"I":
            exec_type, trans = status, b"3"
        out = [(t, v) for t, v in fields if t not in _NOT_IN_42 and t != 150]
        out += [(20, trans), (150, exec_type)]
    else:
        if values[20] == b"3":
            exec_type = b"I"
        elif exec_type in (b"1", b"2"):
            exec_type = b"F"
        out = [(t, v) for t, v in fields if t not in (20, 150)]
        out.append((150, exec_type))
    return encode_body(out)
