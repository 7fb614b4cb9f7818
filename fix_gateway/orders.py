"""The FIX application layer for orders: NewOrderSingle (D), OrderCancelRequest
(F), OrderCancelReplaceRequest (G), OrderStatusRequest (H) and, in 4.4,
OrderMassCancelRequest (q) in; ExecutionReport (8), OrderCancelReject (9),
OrderMassCancelReport (r) and BusinessMessageReject (j) out.

`OrderEntry` knows no sockets, sequence numbers or codec: the session layer
hands it one `Inbound` per application message and sends the `Outbound`s it
returns. It gives every order its engine id, turns FIX fields into engine
commands (decimal strings into ticks exactly, once, here), runs them through
`submit` (the server's door: journal, risk, engine) and folds the events into
one `OrderState` per order, from which `fix_gateway.exec_reports` draws the
reports. Both parties of a trade get their fill, whichever session they are on.

Where FIX leaves a choice:

* Quantities are whole numbers; "100" and "100.0" are taken, "100.5" is not.
  Prices must lie on the tick grid ("187.005" with a 0.01 tick is refused,
  never rounded) and are echoed as the trader wrote them; a Price on a market
  or stop order is ignored (and not echoed).
* ExecInst (18) "6" (participate, don't initiate) is post-only; any other
  instruction is refused rather than ignored. Self-trade prevention comes from
  the account's configuration: FIX 4.4 has no field for it
  (SelfMatchPreventionID is a FIX 5.0 SP2 extension).
* A ClOrdID may not be reused for the account while the gateway remembers the
  order (live, or done today: see `new_trading_day`); a refused order or
  request does not use up its ClOrdID.
* A cancel or replace finds its order by OrderID (37) if given, else by
  OrigClOrdID (41), which may be any ClOrdID of the order's chain. Another
  account's order is an unknown order (OrderID "NONE", OrdStatus 8).
* A replace changes OrderQty (the new total), Price and StopPx only; a
  different OrdType, TimeInForce or MaxFloor is refused (the book cannot
  change them in place); a TimeInForce left out keeps the order's. Replaced
  below its filled quantity, the order is amended to it and is filled
  (Appendix D, C.3.b/c).
* The book answers at once, so there are no Pending New/Cancel/Replace reports.
  IOC and FOK orders are reported New, then filled and/or Canceled (Text says
  why). A triggered stop is not reported (its state does not change; its fills
  are). A decrement by self-trade prevention is ExecType D (restated) with
  ExecRestatementReason 5 (partial decline of OrderQty) and the lower OrderQty.
* ExecID is the engine's event sequence number (suffixed B/S for the two sides
  of a trade), so a replayed journal gives the same ids; "0" for status
  answers, as the spec asks; "G" + the order id for a refusal made here.
* An unknown order in a status request is answered with an ExecutionReport
  ExecType I (4.2: ExecTransType 3), OrdStatus 8, OrdRejReason 5.
* OrderMassCancelRequest is 4.4 only (business reject in 4.2); types 1 (by
  Symbol, optionally by Side) and 7 (all); it cancels the account's orders of
  every session. The per-order Canceled reports come first, then the report.
* A report goes to the session that entered the order; when another session
  of the account caused it (a cancel, replace or mass cancel sent there, or
  the disconnect of the order's own session), to every session of the
  account (session None).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import NamedTuple

import msgspec

from engine.commands import Cancel, Command, MassCancel, NewOrder, Replace
from engine.enums import CancelCause, CommandKind, OrderFlags, OrdType, Side, TimeInForce
from engine.events import (Accepted, Cancelled, Event, Expired, MassCancelled, Reduced,
                           Rejected, Replaced, StopTriggered, Trade)
from engine.prices import PriceError, Tick, format_ticks, parse_qty, to_ticks
from engine.reasons import ReasonCode
from engine.refdata import ReferenceData, UnknownName

from .exec_reports import (CAUSE_TEXT, DUPLICATE, OTHER, TERMINAL, OrderState, Reports,
                           cxl_rej_reason, ord_rej_reason)

__all__ = ["Inbound", "Outbound", "OrderEntry"]


class Inbound(NamedTuple):
    """One application message from the session layer, header and trailer
    removed; `seq` is its MsgSeqNum (RefSeqNum of a business reject)."""
    session: str                          # e.g. "FIX.4.4:ISLD->TW44"
    account: int                          # engine account the session acts for
    begin_string: bytes                   # b"FIX.4.2" | b"FIX.4.4"
    msg_type: bytes
    fields: list[tuple[int, bytes]]       # body fields in wire order
    seq: int = 0


class Outbound(NamedTuple):
    """One message to send: to `session`, or to every session of `account`
    when None. Drop-copy sessions covering `account` also get the
    ExecutionReports (the server's job)."""
    session: str | None
    account: int
    msg_type: bytes
    body: list[tuple[int, bytes]]         # ascending tag order


class _Request(NamedTuple):
    """The trader's request whose events are being reported."""
    session: str | None
    account: int
    fix42: bool
    order_id: int                         # the order, or the mass cancel's id
    clordid: bytes | None                 # None: not a trader's request
    orig: bytes | None = None             # OrigClOrdID as sent
    fields: dict | None = None            # the request's fields (G, q)
    text: bytes | None = None             # Text of a cancel nobody asked for


class _Refused(Exception):
    """A request refused here, before the engine; `reason` is a ReasonCode or a
    FIX reason number."""

    def __init__(self, text: str, reason: int = OTHER):
        super().__init__(text)
        self.reason = reason


SIDES = {b"1": (Side.BUY, 0), b"2": (Side.SELL, 0),
         b"5": (Side.SELL, int(OrderFlags.SHORT_SALE)),
         b"6": (Side.SELL, int(OrderFlags.SHORT_EXEMPT))}
ORD_TYPES = {b"1": OrdType.MARKET, b"2": OrdType.LIMIT, b"3": OrdType.STOP,
             b"4": OrdType.STOP_LIMIT}
TIFS = {b"0": TimeInForce.DAY, b"1": TimeInForce.GTC, b"3": TimeInForce.IOC,
        b"4": TimeInForce.FOK}
WITH_PRICE = frozenset({OrdType.LIMIT, OrdType.STOP_LIMIT})
WITH_STOP = frozenset({OrdType.STOP, OrdType.STOP_LIMIT})
PRICES_REMEMBERED = 1 << 16
POST_ONLY = b"6"                          # ExecInst: participate, don't initiate
FIELD_NAMES = {11: "ClOrdID", 54: "Side", 55: "Symbol", 530: "MassCancelRequestType"}

# BusinessRejectReason (380)
UNSUPPORTED_MESSAGE_TYPE = 3
REQUIRED_FIELD_MISSING = 5                # "conditionally required field missing"


def _reason_text(event: Rejected) -> str:
    return ReasonCode(event.reason).text


class OrderEntry:
    """Orders from FIX sessions into the engine door `submit`, reports back.

    `reject_text(event)` words the Text of a refusal by risk or the engine
    (``RiskGate.reject_detail``: "max order qty 1000 exceeded: 1500"); by
    default the reason's short text. `first_order_id`: where engine order ids
    start (after a restart, past the journal's). `aggressor_indicator`: add
    AggressorIndicator (1057) to 4.4 fills (not in the 4.4 dictionary).

    Every method is O(events) but `on_disconnect` (O(the session's live
    orders)) and `new_trading_day` (O(orders remembered)).
    """

    def __init__(self, ref: ReferenceData, submit: Callable[[Command], list[Event]], *,
                 reject_text: Callable[[Rejected], str] | None = None,
                 first_order_id: int = 1, aggressor_indicator: bool = False):
        self.ref = ref
        self.submit = submit
        self.reject_text = reject_text or _reason_text
        self.reports = Reports(aggressor_indicator=aggressor_indicator)
        self._next_id = first_order_id
        self._orders: dict[int, OrderState] = {}
        self._by_clordid: dict[tuple[int, bytes], OrderState] = {}
        self._live: dict[str, dict[int, OrderState]] = {}
        self._instruments: dict[bytes, tuple[int, Tick]] = {}
        self._ticks: dict[tuple[int, bytes], int] = {}    # (instrument, price) seen
        self._account_fields: dict[int, tuple[int, bytes]] = {}
        self._requests = {b"D": self._new_order, b"F": self._cancel, b"G": self._replace,
                          b"H": self._status, b"q": self._mass_cancel}
        self._events = {Accepted: self._accepted, Trade: self._trade,
                        Cancelled: self._cancelled, Replaced: self._replaced,
                        Reduced: self._reduced, Expired: self._expired,
                        Rejected: self._rejected, MassCancelled: self._mass_cancelled,
                        StopTriggered: _ignore}

    # ------------------------------------------------------------ the doors

    def on_message(self, msg: Inbound, now_ns: int) -> list[Outbound]:
        """Handle one application message; `now_ns` stamps the command."""
        handle = self._requests.get(msg.msg_type)
        if handle is None or (msg.msg_type == b"q" and msg.begin_string == b"FIX.4.2"):
            return [self._business_reject(msg, UNSUPPORTED_MESSAGE_TYPE,
                                          b"Unsupported Message Type")]
        return handle(msg, dict(msg.fields), now_ns)

    def on_disconnect(self, session: str, account: int, now_ns: int) -> list[Outbound]:
        """Cancel-on-disconnect: cancel the open orders `session` entered for
        `account`. The reports go to every session of the account."""
        live = self._live.get(session)
        out: list[Outbound] = []
        for o in list(live.values()) if live else ():
            if o.account == account:
                req = _Request(None, account, o.fix42, o.order_id, None,
                               text=b"cancelled on disconnect")
                out += self._apply(self.submit(Cancel(o.order_id, o.instrument, o.account,
                                                      ts=now_ns)), req)
        return out

    def on_events(self, events: Iterable[Event]) -> list[Outbound]:
        """Reports for events of commands the server ran itself (end-of-day
        expiry, kill switch, an operator's cancel); events of orders not
        entered here are skipped."""
        return self._apply(events, None)

    def new_trading_day(self) -> int:
        """Forget finished orders and their ClOrdIDs (which may then be used
        again); returns how many. Live orders (GTC) are kept."""
        done = [o for o in self._orders.values() if o.status in TERMINAL]
        for o in done:
            del self._orders[o.order_id]
        self._by_clordid = {k: o for k, o in self._by_clordid.items()
                            if o.status not in TERMINAL}
        return len(done)

    def order(self, order_id: int) -> OrderState | None:
        """The gateway's state of an order, by engine id (for tools and tests)."""
        return self._orders.get(order_id)

    # ------------------------------------------------------------ requests

    def _new_order(self, msg: Inbound, f: dict, now: int) -> list[Outbound]:
        clordid, side_b, symbol = f.get(11), f.get(54), f.get(55)
        if clordid is None or side_b is None or symbol is None:
            return [self._missing(msg, 11 if clordid is None else 54 if side_b is None else 55)]
        order_id = self._next_id
        self._next_id += 1
        try:
            o = self._order_from(msg, f, order_id, clordid, side_b, symbol)
        except _Refused as e:
            return [self._refuse_new(msg, f, order_id, e, now)]
        self._orders[order_id] = o
        self._by_clordid[o.account, clordid] = o
        live = self._live.get(o.session)
        if live is None:
            live = self._live[o.session] = {}
        live[order_id] = o
        return self._apply(self.submit(NewOrder(
            order_id, o.instrument, o.account, o.side, o.qty, o.price, o.ord_type, o.tif,
            o.stop, o.display, o.flags, now)), None)

    def _order_from(self, msg: Inbound, f: dict, order_id: int, clordid: bytes,
                    side_b: bytes, symbol: bytes) -> OrderState:
        """The new order's state, or `_Refused`."""
        account = msg.account
        f_account = self._account_field(account)
        if f.get(1, f_account[1]) != f_account[1]:
            raise _Refused(f"Account {_shown(f[1])} is not this session's account "
                           f"{_shown(f_account[1])}")
        side_flags = SIDES.get(side_b)
        if side_flags is None:
            raise _Refused(f"unsupported Side {_shown(side_b)}")
        instrument, tick = self._instrument(symbol)
        ord_type_b = f.get(40, b"")
        ord_type = ORD_TYPES.get(ord_type_b)
        if ord_type is None:
            raise _Refused(f"unsupported OrdType {_shown(ord_type_b)}")
        tif_b = f.get(59, b"0")
        tif = TIFS.get(tif_b)
        if tif is None:
            raise _Refused(f"unsupported TimeInForce {_shown(tif_b)}")
        qty = _qty(f.get(38), "OrderQty (38)")
        price_b = f.get(44) if ord_type in WITH_PRICE else None
        price = self._price(price_b, instrument, tick, "price") if ord_type in WITH_PRICE else 0
        stop_b = f.get(99) if ord_type in WITH_STOP else None
        stop = self._price(stop_b, instrument, tick, "stop price") if ord_type in WITH_STOP else 0
        floor_b = f.get(111)
        display = _qty(floor_b, "MaxFloor (111)") if floor_b is not None else 0
        flags = side_flags[1]
        exec_inst = f.get(18)
        if exec_inst is not None:
            if any(i != POST_ONLY for i in exec_inst.split()):
                raise _Refused(f"unsupported ExecInst {_shown(exec_inst)}: only 6 "
                               "(participate, don't initiate: post-only)")
            flags |= int(OrderFlags.POST_ONLY)
        if (account, clordid) in self._by_clordid:
            raise _Refused(f"duplicate ClOrdID {_shown(clordid)}", DUPLICATE)
        # positional: this runs once per order and keywords cost twice as much
        return OrderState(
            order_id, msg.session, account, msg.begin_string == b"FIX.4.2", clordid,
            f_account, (11, clordid), (37, b"%d" % order_id), (54, side_b), (55, symbol),
            instrument, tick, side_flags[0], ord_type, tif, flags, qty, price, stop, display,
            qty, (38, b"%d" % qty), (40, ord_type_b),
            None if price_b is None else (44, price_b), (59, tif_b),
            None if stop_b is None else (99, stop_b),
            None if floor_b is None else (111, b"%d" % display),
            None if exec_inst is None else (18, POST_ONLY))

    def _refuse_new(self, msg: Inbound, f: dict, order_id: int, e: _Refused,
                    now: int) -> Outbound:
        """ExecType 8 for a NewOrderSingle refused here, echoing its fields."""
        fix42 = msg.begin_string == b"FIX.4.2"
        clordid = f[11]
        o = OrderState(order_id, msg.session, msg.account, fix42, clordid,
                       self._account_field(msg.account), (11, clordid), (37, b"NONE"),
                       (54, f[54]), (55, f[55]), status=b"8",
                       f_qty=_echo(f, 38), f_ord_type=_echo(f, 40), f_price=_echo(f, 44),
                       f_tif=_echo(f, 59), f_stop=_echo(f, 99), f_floor=_echo(f, 111),
                       f_exec_inst=_echo(f, 18))
        body = self.reports.execution(o, b"8", b"G%d" % order_id, now, text=_text(str(e)),
                                      rej=ord_rej_reason(e.reason, fix42))
        return Outbound(msg.session, msg.account, b"8", body)

    def _cancel(self, msg: Inbound, f: dict, now: int) -> list[Outbound]:
        target = self._target(msg, f, b"1", now)
        if isinstance(target, Outbound):
            return [target]
        o, clordid, orig = target
        try:
            self._same_order(o, f)
        except _Refused as e:
            return [self._cancel_reject(msg, clordid, orig, o, e, b"1", now)]
        req = _Request(msg.session, msg.account, msg.begin_string == b"FIX.4.2", o.order_id,
                       clordid, orig)
        return self._apply(self.submit(Cancel(o.order_id, o.instrument, o.account, ts=now)),
                           req)

    def _replace(self, msg: Inbound, f: dict, now: int) -> list[Outbound]:
        target = self._target(msg, f, b"2", now)
        if isinstance(target, Outbound):
            return [target]
        o, clordid, orig = target
        try:
            self._same_order(o, f)
            if 40 in f and ORD_TYPES.get(f[40]) != o.ord_type:
                raise _Refused("OrdType cannot be changed")
            if 59 in f and TIFS.get(f[59]) != o.tif:
                raise _Refused("TimeInForce cannot be changed")
            if 111 in f and _qty(f[111], "MaxFloor (111)") != o.display:
                raise _Refused("MaxFloor cannot be changed")
            qty = _qty(f.get(38), "OrderQty (38)")
            # a stop the risk layer runs as a stop-limit keeps that limit
            price = (self._price(f.get(44), o.instrument, o.tick, "price")
                     if o.ord_type in WITH_PRICE else o.engine_price)
            stop = (self._price(f[99], o.instrument, o.tick, "stop price")
                    if o.ord_type in WITH_STOP and 99 in f else 0)
        except _Refused as e:
            return [self._cancel_reject(msg, clordid, orig, o, e, b"2", now)]
        req = _Request(msg.session, msg.account, msg.begin_string == b"FIX.4.2", o.order_id,
                       clordid, orig, f)
        return self._apply(self.submit(Replace(o.order_id, qty, price, stop, o.instrument,
                                               o.account, int(o.side), ts=now)), req)

    def _status(self, msg: Inbound, f: dict, now: int) -> list[Outbound]:
        clordid = f.get(11)
        if clordid is None:
            return [self._missing(msg, 11)]
        fix42 = msg.begin_string == b"FIX.4.2"
        o = self._find(msg.account, f.get(37), clordid)
        if o is None:
            if 54 not in f or 55 not in f:
                return [self._missing(msg, 54 if 54 not in f else 55)]
            o = OrderState(0, msg.session, msg.account, fix42, clordid,
                           self._account_field(msg.account), (11, clordid), (37, b"NONE"),
                           (54, f[54]), (55, f[55]), status=b"8")
            body = self.reports.execution(o, b"I", b"0", now, text=b"unknown order",
                                          rej=ord_rej_reason(ReasonCode.UNKNOWN_ORDER, fix42))
        else:
            if o.fix42 != fix42:          # asked on a session of the other version
                o = msgspec.structs.replace(o, fix42=fix42)
            body = self.reports.execution(o, b"I", b"0", now)
        return [Outbound(msg.session, msg.account, b"8", body)]

    def _mass_cancel(self, msg: Inbound, f: dict, now: int) -> list[Outbound]:
        clordid, kind = f.get(11), f.get(530)
        if clordid is None or kind is None:
            return [self._missing(msg, 11 if clordid is None else 530)]
        side, instrument = 0, -1
        symbol = f.get(55) if kind == b"1" else None
        refusal = None
        if 54 in f:
            side = int(SIDES.get(f[54], (0,))[0])
            if side == 0:
                refusal = (b"99", f"unsupported Side {_shown(f[54])}")
        if kind == b"1":
            if symbol is None:
                refusal = (b"1", "Symbol (55) is required to cancel by security")
            else:
                try:
                    instrument = self._instrument(symbol)[0]
                except _Refused as e:
                    refusal = (b"1", str(e))
        elif kind != b"7":
            refusal = (b"0", f"MassCancelRequestType {_shown(kind)} is not supported: "
                             "1 (by Symbol) or 7 (all orders)")
        if refusal is not None:
            body = self.reports.mass_cancel_report(
                clordid, b"NONE", kind, b"0", now, symbol=symbol, side=f.get(54),
                text=_text(refusal[1]), reject_reason=refusal[0])
            return [Outbound(msg.session, msg.account, b"r", body)]
        request_id = self._next_id
        self._next_id += 1
        req = _Request(msg.session, msg.account, False, request_id, clordid, None, f)
        return self._apply(self.submit(MassCancel(request_id, instrument, msg.account, side,
                                                  ts=now)), req)

    # ------------------------------------------------------------ request helpers

    def _target(self, msg: Inbound, f: dict, response_to: bytes, now: int):
        """(order, ClOrdID, OrigClOrdID) of a cancel or replace, or the
        OrderCancelReject / business reject that answers it."""
        clordid = f.get(11)
        if clordid is None:
            return self._missing(msg, 11)
        orig = f.get(41)
        o = self._find(msg.account, f.get(37), orig)
        if o is None:
            return self._cancel_reject(msg, clordid, orig, None,
                                       _Refused("unknown order", ReasonCode.UNKNOWN_ORDER),
                                       response_to, now)
        if (msg.account, clordid) in self._by_clordid:
            return self._cancel_reject(msg, clordid, orig, o,
                                       _Refused(f"duplicate ClOrdID {_shown(clordid)}",
                                                DUPLICATE), response_to, now)
        return o, clordid, orig

    def _find(self, account: int, order_id: bytes | None,
              clordid: bytes | None) -> OrderState | None:
        """The account's order with OrderID `order_id`, else with `clordid`
        anywhere in its chain."""
        if order_id is not None and order_id.isdigit():
            o = self._orders.get(int(order_id))
            if o is not None and o.account == account:
                return o
        return self._by_clordid.get((account, clordid)) if clordid is not None else None

    @staticmethod
    def _same_order(o: OrderState, f: dict) -> None:
        """Side and Symbol of a cancel or replace must be the order's."""
        side = f.get(54)
        if side is not None and SIDES.get(side, (0,))[0] != o.side:
            raise _Refused(f"Side {_shown(side)} differs from the order's",
                           ReasonCode.SIDE_MISMATCH)
        symbol = f.get(55)
        if symbol is not None and symbol != o.f_symbol[1]:
            raise _Refused(f"Symbol {_shown(symbol)} differs from the order's",
                           ReasonCode.INSTRUMENT_MISMATCH)

    def _instrument(self, symbol: bytes) -> tuple[int, Tick]:
        known = self._instruments.get(symbol)
        if known is None:
            try:
                index = self.ref.instrument(symbol.decode("latin-1"))
            except UnknownName as e:
                raise _Refused(str(e), ReasonCode.UNKNOWN_SYMBOL) from None
            known = self._instruments[symbol] = (index, self.ref.tick(index))
        return known

    def _price(self, raw: bytes | None, instrument: int, tick: Tick, what: str) -> int:
        """Ticks in a decimal price, exactly; off the tick grid is refused.
        Traders repeat prices, so the conversions are remembered."""
        if raw is None:
            raise _Refused(f"missing {what}")
        ticks = self._ticks.get((instrument, raw))
        if ticks is None:
            try:
                ticks = to_ticks(raw.decode("latin-1"), tick, what)
            except PriceError as e:
                raise _Refused(str(e), e.reason) from None
            if len(self._ticks) >= PRICES_REMEMBERED:
                self._ticks.clear()
            self._ticks[instrument, raw] = ticks
        return ticks

    def _account_field(self, account: int) -> tuple[int, bytes]:
        field = self._account_fields.get(account)
        if field is None:
            field = self._account_fields[account] = (
                1, self.ref.account_name(account).encode("latin-1"))
        return field

    def _cancel_reject(self, msg: Inbound, clordid: bytes, orig: bytes | None,
                       o: OrderState | None, e: _Refused, response_to: bytes,
                       now: int) -> Outbound:
        fix42 = msg.begin_string == b"FIX.4.2"
        body = self.reports.cancel_reject(
            self._account_field(msg.account), clordid,
            b"NONE" if o is None else o.f_order_id[1], b"8" if o is None else o.status,
            orig, _text(str(e)), now, cxl_rej_reason(e.reason, fix42), response_to)
        return Outbound(msg.session, msg.account, b"9", body)

    def _missing(self, msg: Inbound, tag: int) -> Outbound:
        return self._business_reject(
            msg, REQUIRED_FIELD_MISSING,
            b"missing required field %s (%d)" % (FIELD_NAMES.get(tag, "").encode(), tag))

    def _business_reject(self, msg: Inbound, reason: int, text: bytes) -> Outbound:
        return Outbound(msg.session, msg.account, b"j",
                        self.reports.business_reject(msg.seq, msg.msg_type, reason, text))

    # ------------------------------------------------------------ events

    def _apply(self, events: Iterable[Event], req: _Request | None) -> list[Outbound]:
        out: list[Outbound] = []
        handlers = self._events
        for ev in events:
            handle = handlers.get(type(ev))
            if handle is not None:
                handle(ev, req, out)
        return out

    def _report(self, o: OrderState, req: _Request | None, body: list) -> Outbound:
        """An ExecutionReport of `o`: to its session, or to all the account's
        sessions when another session (or none) caused it."""
        session = o.session if req is None or req.session == o.session else None
        return Outbound(session, o.account, b"8", body)

    def _accepted(self, ev: Accepted, req, out: list) -> None:
        o = self._orders.get(ev.order_id)
        if o is not None:
            o.engine_price = ev.price
            out.append(self._report(o, req, self.reports.execution(o, b"0", b"%d" % ev.seq,
                                                                   ev.ts)))

    def _trade(self, ev: Trade, req, out: list) -> None:
        o = self._orders.get(ev.buy_order_id)
        if o is not None:
            self._fill(o, ev, ev.buy_leaves, ev.buy_cum, b"%dB" % ev.seq, req, out)
        o = self._orders.get(ev.sell_order_id)
        if o is not None:
            self._fill(o, ev, ev.sell_leaves, ev.sell_cum, b"%dS" % ev.seq, req, out)

    def _fill(self, o: OrderState, ev: Trade, leaves: int, cum: int, exec_id: bytes,
              req, out: list) -> None:
        o.cum = cum
        o.leaves = leaves
        o.notional += ev.price * ev.qty
        o.status = b"1" if leaves else b"2"
        out.append(self._report(o, req, self.reports.execution(
            o, b"F", exec_id, ev.ts, last_qty=ev.qty,
            last_px=format_ticks(ev.price, o.tick).encode(), aggressor=ev.aggressor == o.side)))
        if not leaves:
            self._done(o)

    def _cancelled(self, ev: Cancelled, req, out: list) -> None:
        o = self._orders.get(ev.order_id)
        if o is None:
            return
        o.leaves = 0
        o.status = b"4"
        orig = text = None
        if (req is None or req.order_id != o.order_id or ev.cause != CancelCause.REQUEST
                or req.fields is not None):       # a replace's order cancelled by STP
            text = CAUSE_TEXT.get(ev.cause)
        elif req.clordid is not None:             # the trader's cancel request
            orig = o.clordid
            self._rename(o, req.clordid)
        else:
            text = req.text
        out.append(self._report(o, req, self.reports.execution(
            o, b"4", b"%d" % ev.seq, ev.ts, orig=orig, text=text)))
        self._done(o)

    def _replaced(self, ev: Replaced, req, out: list) -> None:
        o = self._orders.get(ev.order_id)
        if o is None:
            return
        ours = req is not None and req.order_id == o.order_id and req.clordid is not None
        sent = req.fields if ours else {}
        o.engine_price = ev.price
        if o.ord_type in WITH_PRICE and (ev.price != o.price or 44 in sent):
            o.price = ev.price
            o.f_price = (44, sent.get(44) or format_ticks(ev.price, o.tick).encode())
            o.fixed = None
        if o.ord_type in WITH_STOP and ev.stop_price != o.stop:
            o.stop = ev.stop_price
            o.f_stop = (99, sent.get(99) or format_ticks(ev.stop_price, o.tick).encode())
            o.fixed = None
        qty = max(ev.qty, ev.cum)      # amended to the filled quantity, never below
        if qty != o.qty:
            o.qty = qty
            o.f_qty = (38, b"%d" % qty)
            o.fixed = None
        o.cum = ev.cum
        o.leaves = ev.leaves
        o.status = b"2" if not ev.leaves else b"1" if ev.cum else b"0"
        if ours:
            orig = o.clordid
            self._rename(o, req.clordid)
            body = self.reports.execution(o, b"5", b"%d" % ev.seq, ev.ts, orig=orig)
        else:                           # changed by the venue: restated, broker option
            body = self.reports.execution(o, b"D", b"%d" % ev.seq, ev.ts, restated=b"4")
        out.append(self._report(o, req, body))
        if not ev.leaves:
            self._done(o)

    def _reduced(self, ev: Reduced, req, out: list) -> None:
        o = self._orders.get(ev.order_id)
        if o is None:
            return
        o.cum = ev.cum
        o.leaves = ev.leaves
        o.qty = ev.cum + ev.leaves
        o.f_qty = (38, b"%d" % o.qty)
        o.fixed = None
        text = b"%s: %d cancelled" % (CAUSE_TEXT.get(ev.cause, b"reduced"), ev.qty)
        out.append(self._report(o, req, self.reports.execution(
            o, b"D", b"%d" % ev.seq, ev.ts, text=text, restated=b"5")))

    def _expired(self, ev: Expired, req, out: list) -> None:
        o = self._orders.get(ev.order_id)
        if o is None:
            return
        o.leaves = 0
        o.status = b"C"
        out.append(self._report(o, req, self.reports.execution(
            o, b"C", b"%d" % ev.seq, ev.ts, text=CAUSE_TEXT[CancelCause.EXPIRY])))
        self._done(o)

    def _rejected(self, ev: Rejected, req, out: list) -> None:
        command = ev.command
        if command == CommandKind.NEW:
            o = self._orders.pop(ev.order_id, None)
            if o is None:
                return
            del self._by_clordid[o.account, o.clordid]
            self._done(o)
            o.status = b"8"
            o.leaves = 0
            out.append(Outbound(o.session, o.account, b"8", self.reports.execution(
                o, b"8", b"%d" % ev.seq, ev.ts, text=_text(self.reject_text(ev)),
                rej=ord_rej_reason(ev.reason, o.fix42))))
        elif req is None or req.clordid is None:
            return                      # not a trader's request: nobody to answer
        elif command == CommandKind.MASS_CANCEL:
            f = req.fields
            out.append(Outbound(req.session, req.account, b"r", self.reports.mass_cancel_report(
                req.clordid, b"%d" % ev.order_id,
                f[530], b"0", ev.ts, symbol=f.get(55) if f[530] == b"1" else None,
                side=f.get(54), text=_text(self.reject_text(ev)), reject_reason=b"99")))
        else:
            o = self._orders.get(ev.order_id)
            body = self.reports.cancel_reject(
                self._account_field(req.account), req.clordid,
                b"NONE" if o is None else o.f_order_id[1], b"8" if o is None else o.status,
                req.orig, _text(self.reject_text(ev)), ev.ts,
                cxl_rej_reason(ev.reason, req.fix42),
                b"1" if command == CommandKind.CANCEL else b"2")
            out.append(Outbound(req.session, req.account, b"9", body))

    def _mass_cancelled(self, ev: MassCancelled, req, out: list) -> None:
        if req is None or req.order_id != ev.request_id:
            return
        f = req.fields
        kind = f[530]
        out.append(Outbound(req.session, req.account, b"r", self.reports.mass_cancel_report(
            req.clordid, b"%d" % ev.request_id, kind, kind, ev.ts,
            symbol=f.get(55) if kind == b"1" else None, side=f.get(54),
            affected=ev.count)))

    # ------------------------------------------------------------ book-keeping

    def _rename(self, o: OrderState, clordid: bytes) -> None:
        """The order now goes by `clordid`; the old ones still find it."""
        self._by_clordid[o.account, clordid] = o
        o.clordid = clordid
        o.f_clordid = (11, clordid)
        o.fixed = None

    def _done(self, o: OrderState) -> None:
        live = self._live.get(o.session)
        if live is not None:
            live.pop(o.order_id, None)


def _ignore(ev, req, out) -> None:
    """StopTriggered: the order's state does not change; its fills are reported."""


def _qty(raw: bytes | None, what: str) -> int:
    """A whole quantity: "100", or "100.0" (FIX's Qty is a float type)."""
    if raw is None:
        raise _Refused(f"missing {what}")
    if raw.isdigit() and len(raw) < 19:      # bytes.isdigit: ASCII digits only
        return int(raw)
    text = raw.decode("latin-1")
    whole, dot, frac = text.partition(".")
    if dot and frac.isdigit() and frac.isascii() and not frac.strip("0"):
        text = whole
    try:
        return parse_qty(text, what=what)
    except PriceError as e:
        raise _Refused(f"{what} {_shown(raw)} is not a whole number"
                       if e.reason == ReasonCode.BAD_INTEGER and dot else str(e),
                       e.reason) from None


def _echo(f: dict, tag: int) -> tuple[int, bytes] | None:
    value = f.get(tag)
    return None if value is None else (tag, value)


def _text(s: str) -> bytes:
    return s.encode("ascii", "replace")


def _shown(value: bytes) -> str:
    """A trader's value in a message: quoted, cut to a readable length."""
    text = value.decode("latin-1")
    return repr(text if len(text) <= 40 else text[:37] + "...")
