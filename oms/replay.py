"""`oms replay`: an order-flow CSV through the engine's batch door.

The CSV contract (other tools depend on it exactly):

* FLOW, header ``action,order_id,account,symbol,side,ord_type,tif,price,qty``;
  action new / cancel / replace; side buy / sell; ord_type limit / market;
  tif day / gtc / ioc / fok; price a decimal string (empty for market);
  order_id an integer. A cancel may leave side, ord_type, tif, price and qty
  empty; a replace gives the new price and the new *total* qty and may leave
  side and tif empty.
* TRADES, header ``trade_id,symbol,price,qty,buy_order_id,sell_order_id,aggressor``,
  one row per match in the order they happen.
* BOOK (the resting orders at the end), header
  ``symbol,side,price,order_id,leaves_qty``, by symbol, buy side first, best
  price first, then time priority.
* REJECTS (``--rejects-out``), header ``line,order_id,reason,detail``: every
  refused line or command, by line; `reason` is the reason code's lower snake
  case name, `detail` what a person needs (``max order qty 1000 exceeded: 1500``).

Extensions that keep old files valid: an optional ``time`` column (anywhere in
the header) gives each command its time, as integer nanoseconds since midnight
or an ISO-8601 time or date-time (``09:30:00.000125``,
``2012-06-21T09:30:00.000125Z``); it drives the risk throttle. Time may not go
backwards; an empty cell, or no column, means 1 microsecond after the line
before. `side` may also be ``sell_short`` or ``sell_short_exempt`` (FIX Side
5 and 6), for the short-sale check.

With a configuration (``--config``, or the built-in one) the orders pass the
pre-trade checks of its ``[risk]`` tables (`risk.gate.RiskGate`); with
``--tick`` there are no limits.

A bad line is reported on stderr with its line number and reason and changes
nothing; the rest of the file runs. A file that cannot be read or has the wrong
header is an error (`FlowError`) before anything runs.
"""
from __future__ import annotations

import csv
import os
import re
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TextIO

import numpy as np

from engine.enums import CommandKind, OrderFlags, OrdType, Side, TimeInForce
from engine.events import event_from_row
from engine.layout import (COMMAND_DTYPE, EV_KIND, EV_REJECTED, EV_TRADE, TR_AGGRESSOR, TR_BUY_ID, TR_INSTRUMENT,
                           TR_PRICE, TR_QTY, TR_SELL_ID, TR_TRADE_ID)
from engine.matching import MatchingEngine
from engine.prices import PriceError, parse_qty
from engine.reasons import ReasonCode
from engine.refdata import ReferenceData, UnknownName

FLOW_HEADER = ["action", "order_id", "account", "symbol", "side", "ord_type", "tif", "price",
               "qty"]
TRADES_HEADER = ["trade_id", "symbol", "price", "qty", "buy_order_id", "sell_order_id",
                 "aggressor"]
BOOK_HEADER = ["symbol", "side", "price", "order_id", "leaves_qty"]
REJECTS_HEADER = ["line", "order_id", "reason", "detail"]
TIME_COLUMN = "time"

ACTIONS = {"new": CommandKind.NEW, "cancel": CommandKind.CANCEL, "replace": CommandKind.REPLACE}
SIDES = {"buy": (Side.BUY, 0), "sell": (Side.SELL, 0),
         "sell_short": (Side.SELL, int(OrderFlags.SHORT_SALE)),
         "sell_short_exempt": (Side.SELL, int(OrderFlags.SHORT_EXEMPT))}
ORD_TYPES = {"limit": OrdType.LIMIT, "market": OrdType.MARKET}
TIFS = {"day": TimeInForce.DAY, "gtc": TimeInForce.GTC, "ioc": TimeInForce.IOC,
        "fok": TimeInForce.FOK}
NANOS_PER_LINE = 1_000        # commands are 1 us apart (the file has no time column)


class FlowError(Exception):
    """The flow file as a whole is unusable (unreadable, wrong header)."""


class BadLine(ValueError):
    def __init__(self, reason: ReasonCode, message: str):
        super().__init__(message)
        self.reason = reason


class Reject(tuple):
    """One refused line or command: (line, reason, message, order_id)."""
    __slots__ = ()

    def __new__(cls, line: int, reason: ReasonCode, message: str, order_id: str = ""):
        return super().__new__(cls, (line, reason, message, order_id))


@dataclass
class Flow:
    """A parsed flow: commands, the file line of each, and the lines refused."""
    commands: np.ndarray
    lines: np.ndarray
    bad: list[Reject] = field(default_factory=list)


@dataclass
class ReplayResult:
    commands: int                       # commands the engine ran (bad lines excluded)
    trades: list[tuple]                 # TRADES rows, in order
    rejects: list[Reject]               # by line
    resting: list[tuple]                # BOOK rows, in order
    engine_seconds: float
    parse_seconds: float

    @property
    def commands_per_second(self) -> float:
        return self.commands / self.engine_seconds if self.engine_seconds > 0 else float("inf")


def read_flow(path: str, ref: ReferenceData) -> Flow:
    """Parse FLOW into command records; bad lines are collected, not raised."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            return parse_flow(f, ref)
    except (OSError, UnicodeDecodeError) as exc:
        raise FlowError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None


def parse_flow(f: TextIO, ref: ReferenceData) -> Flow:
    reader = csv.reader(f)
    header = next(reader, None)
    if header is None:
        raise FlowError("the file is empty; expected the header " + ",".join(FLOW_HEADER))
    names = [h.strip() for h in header]
    time_at = names.index(TIME_COLUMN) if TIME_COLUMN in names else -1
    if [n for i, n in enumerate(names) if i != time_at] != FLOW_HEADER:
        raise FlowError(f"line 1: expected the header {','.join(FLOW_HEADER)} (and "
                        f"optionally a {TIME_COLUMN} column), got {','.join(header)}")
    records, lines, bad = [], [], []
    clock = _Clock()
    for row in reader:
        line = reader.line_num
        if not row or row == [""]:
            continue
        try:
            if len(row) != len(names):
                raise BadLine(ReasonCode.MISSING_FIELD,
                              f"expected {len(names)} fields, got {len(row)}")
            stamp = row.pop(time_at).strip() if time_at >= 0 else ""
            ts = clock.next(stamp)
            records.append(_command(row, ref, ts))
            clock.commit(ts)
            lines.append(line)
        except BadLine as exc:
            bad.append(Reject(line, exc.reason, str(exc), _order_id_of(row, names, time_at)))
    cmds = np.zeros(len(records), COMMAND_DTYPE)
    if records:
        cmds[:] = records
    return Flow(cmds, np.array(lines, np.int64), bad)


def _order_id_of(row: list[str], names: list[str], time_at: int) -> str:
    """The order id of a refused row, as written (empty if there is none)."""
    if len(row) == len(FLOW_HEADER):             # the time cell was taken out
        return row[1].strip()
    i = names.index("order_id")
    return row[i].strip() if i < len(row) else ""


class _Clock:
    """Command times: from the time column, else 1 us after the line before."""

    def __init__(self):
        self.last = 0

    def next(self, stamp: str) -> int:
        if not stamp:
            return self.last + NANOS_PER_LINE
        ts = parse_time(stamp)
        if ts < self.last:
            raise BadLine(ReasonCode.BAD_VALUE, f"time {stamp!r} goes back before the previous line's time")
        return ts

    def commit(self, ts: int) -> None:
        self.last = ts


_CLOCK_TIME = re.compile(r"(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?")
_DATE_TIME = re.compile(r"(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?"
                        r"(Z|[+-]\d{2}:?\d{2})?")


def parse_time(text: str) -> int:
    """Nanoseconds: an integer (since midnight) as is; ``HH:MM:SS[.fraction]``
    since midnight; an ISO-8601 date-time since the Unix epoch (UTC unless it
    has an offset). Up to 9 fraction digits, exactly.

    >>> parse_time("34200000000125")
    34200000000125
    >>> parse_time("09:30:00.000000125")
    34200000000125
    >>> parse_time("1970-01-01T00:00:01.5Z")
    1500000000
    """
    if text.isdigit():
        return int(text)
    if m := _CLOCK_TIME.fullmatch(text):
        h, mi, s, frac = m.groups()
        if int(h) > 23 or int(mi) > 59 or int(s) > 60:
            raise BadLine(ReasonCode.BAD_VALUE, f"time {text!r} is not a time of day")
        return ((int(h) * 60 + int(mi)) * 60 + int(s)) * 10 ** 9 + _nanos(frac)
    if m := _DATE_TIME.fullmatch(text):
        day, clock, frac, zone = m.groups()
        try:
            moment = datetime.fromisoformat(f"{day}T{clock}{_zone(zone)}")
        except ValueError:
            raise BadLine(ReasonCode.BAD_VALUE, f"time {text!r} is not a valid date-time") \
                from None
        seconds = int((moment - datetime(1970, 1, 1, tzinfo=timezone.utc)).total_seconds())
        return seconds * 10 ** 9 + _nanos(frac)
    raise BadLine(ReasonCode.BAD_VALUE,
                  f"time {text!r} is neither nanoseconds since midnight nor ISO-8601")


def _nanos(frac: str | None) -> int:
    return int((frac or "").ljust(9, "0"))


def _zone(zone: str | None) -> str:
    if not zone or zone == "Z":
        return "+00:00"
    return zone if ":" in zone else f"{zone[:3]}:{zone[3:]}"


def _command(row: list[str], ref: ReferenceData, ts: int) -> tuple:
    """One CSV row (without its time cell) as a COMMAND_DTYPE record tuple, or BadLine."""
    action, order_id, account, symbol, side, ord_type, tif, price, qty = (v.strip() for v in row)
    kind = ACTIONS.get(action.lower())
    if kind is None:
        raise BadLine(ReasonCode.UNKNOWN_ACTION,
                      f"unknown action {action!r} (expected new, cancel or replace)")
    oid = _integer(order_id, "order_id")
    new = kind == CommandKind.NEW
    b = _name(ref.instrument, symbol, "symbol", required=new)
    a = _name(ref.account, account, "account", required=new)
    s, flags = _choice(SIDES, side, "side", required=new) or (0, 0)
    t = _choice(ORD_TYPES, ord_type, "ord_type", required=new)
    tf = _choice(TIFS, tif, "tif", required=False) or (TimeInForce.DAY if new else 0)
    ticks = 0
    if kind == CommandKind.CANCEL:
        q = 0
    else:
        q = _integer(qty, "qty")
        if t == OrdType.MARKET:
            if price:
                raise BadLine(ReasonCode.BAD_VALUE, "a market order takes no price")
        elif not price:
            raise BadLine(ReasonCode.MISSING_FIELD, "price is missing")
        else:
            if b < 0:
                raise BadLine(ReasonCode.MISSING_FIELD, "a replace needs the symbol to read its price")
            try:
                ticks = ref.price_to_ticks(b, price)
            except PriceError as exc:
                raise BadLine(exc.reason, str(exc)) from None
    # field order of COMMAND_DTYPE
    return (oid, ticks, 0, q, 0, ts, b, a, int(kind), int(s), int(t or 0), int(tf), flags)


def _integer(text: str, what: str) -> int:
    try:
        return parse_qty(text, what=what)
    except PriceError as exc:
        raise BadLine(exc.reason, str(exc)) from None


def _name(lookup, text: str, what: str, required: bool) -> int:
    if not text:
        if required:
            raise BadLine(ReasonCode.MISSING_FIELD, f"{what} is missing")
        return -1
    try:
        return lookup(text)
    except UnknownName as exc:
        raise BadLine(exc.reason, str(exc)) from None


def _choice(table: dict, text: str, what: str, required: bool):
    if not text:
        if required:
            raise BadLine(ReasonCode.MISSING_FIELD, f"{what} is missing")
        return 0
    value = table.get(text.lower())
    if value is None:
        raise BadLine(ReasonCode.BAD_VALUE,
                      f"{what} {text!r} is not one of {', '.join(table)}")
    return value


def replay(flow: Flow, book, ref: ReferenceData, parse_seconds: float = 0.0,
           detail=None, stream=None) -> ReplayResult:
    """Run a parsed flow through the batch door of `book` (a `MatchingEngine`,
    or a `RiskGate` for the checks) and collect the outputs. `detail(event)`
    words a reject (default: its reason's text); `stream`, a
    `reporting.stream.StreamWriter`, journals every command and its events."""
    trade_rows: list[np.ndarray] = []
    rejects = list(flow.bad)
    detail = detail or _reject_message

    def on_events(first: int, end: int, rows: np.ndarray, first_row: np.ndarray) -> None:
        if stream is not None:
            stream.chunk(flow.commands[first:end], rows, first_row)
        kinds = rows[:, EV_KIND]
        trades = rows[kinds == EV_TRADE]
        if len(trades):
            trade_rows.append(trades.copy())
        for r in np.flatnonzero(kinds == EV_REJECTED):
            k = first + int(np.searchsorted(first_row, r, side="right")) - 1
            event = event_from_row(rows[r])
            rejects.append(Reject(int(flow.lines[k]), ReasonCode(event.reason), detail(event),
                                  str(event.order_id)))

    start = time.perf_counter()
    book.run(flow.commands, on_events)
    seconds = time.perf_counter() - start
    rejects.sort(key=lambda r: r[0])
    trades = _trades_table(np.concatenate(trade_rows) if trade_rows else
                           np.zeros((0, 16), np.int64), ref)
    engine = getattr(book, "engine", book)
    return ReplayResult(len(flow.commands), trades, rejects, resting_table(engine, ref),
                        seconds, parse_seconds)


def _reject_message(event) -> str:
    command = CommandKind(event.command).name.lower().replace("_", " ")
    return f"{ReasonCode(event.reason).text} ({command} of order {event.order_id})"


def _trades_table(rows: np.ndarray, ref: ReferenceData) -> list[tuple]:
    out = []
    for r in rows.tolist():
        b = r[TR_INSTRUMENT]
        out.append((r[TR_TRADE_ID], ref.symbol(b), ref.ticks_to_price(b, r[TR_PRICE]),
                    r[TR_QTY], r[TR_BUY_ID], r[TR_SELL_ID],
                    "buy" if r[TR_AGGRESSOR] == Side.BUY else "sell"))
    return out


def resting_table(engine: MatchingEngine, ref: ReferenceData) -> list[tuple]:
    """BOOK rows: by symbol, bids then asks, best price first, then time priority."""
    out = []
    for b in sorted(range(ref.instrument_count), key=ref.symbol):
        state = engine.book_state(b)
        symbol = ref.symbol(b)
        for side, orders in (("buy", state.bids), ("sell", state.asks)):
            for o in orders:
                out.append((symbol, side, ref.ticks_to_price(b, o.price), o.order_id,
                            o.qty + o.hidden))
    return out


def write_csv(path: str, header: list[str], rows: list[tuple]) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def run_file(path: str, ref: ReferenceData, trades_out: str | None, book_out: str | None,
             err: TextIO = sys.stderr, config=None, rejects_out: str | None = None,
             journal: str | None = None, durability: str = "none", tick: str | None = None
             ) -> ReplayResult:
    """The whole `oms replay` job: parse, run, write, report bad lines.

    With `config` (an `engine.config.Config`) the orders pass its pre-trade
    checks; without (``--tick``), the book alone runs them. With `journal`, a
    new journal directory receives the venue, every command and its events."""
    if config is not None:
        from risk.gate import RiskGate
        book = RiskGate(config, ref=ref)
        detail = book.reject_detail
    else:
        book = MatchingEngine(ref.book_specs(), ref.account_specs())
        ref.on_new_instrument = lambda index, spec: book.add_instrument(spec)
        ref.on_new_account = lambda index, spec: book.add_account(spec)
        detail = None
    start = time.perf_counter()
    flow = read_flow(path, ref)
    parse_seconds = time.perf_counter() - start
    if journal is None:
        result = replay(flow, book, ref, parse_seconds, detail)
    else:
        result = _replay_journaled(flow, book, ref, parse_seconds, detail, journal, durability,
                                   config, tick)
    for line, reason, message, _ in result.rejects:
        print(f"{path}:{line}: {reason.label}: {message}", file=err)
    if trades_out:
        write_csv(trades_out, TRADES_HEADER, result.trades)
    if book_out:
        write_csv(book_out, BOOK_HEADER, result.resting)
    if rejects_out:
        write_csv(rejects_out, REJECTS_HEADER,
                  [(line, order_id, reason.label, message)
                   for line, reason, message, order_id in result.rejects])
    return result


def _replay_journaled(flow, book, ref, parse_seconds, detail, directory, durability, config,
                      tick) -> ReplayResult:
    from reporting.journal import Journal
    from reporting.reader import HEAD_FILE
    from reporting.stream import StreamWriter
    if os.path.exists(os.path.join(directory, HEAD_FILE)):
        raise FlowError(f"the journal {directory} already exists; a replay writes a new one")
    with Journal(directory, durability) as journal:
        stream = StreamWriter(journal)
        if config is not None:
            stream.venue(config.text, config.source, None)
        else:
            stream.venue(None, "oms replay --tick", tick)
            stream.names(ref.symbols(), ref.account_names())
        return replay(flow, book, ref, parse_seconds, detail, stream)


def summary(result: ReplayResult) -> str:
    return (f"{result.commands} commands, {len(result.trades)} trades, "
            f"{len(result.rejects)} rejects, {len(result.resting)} resting orders, "
            f"{result.commands_per_second:,.0f} commands/s in the engine "
            f"({result.parse_seconds:.2f} s to read the file)")

