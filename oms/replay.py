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

A bad line is reported on stderr with its line number and reason and changes
nothing; the rest of the file runs. A file that cannot be read or has the wrong
header is an error (`FlowError`) before anything runs.
"""
from __future__ import annotations

import csv
import sys
import time
from dataclasses import dataclass, field
from typing import TextIO

import numpy as np

from engine.enums import CommandKind, OrdType, Side, TimeInForce
from engine.layout import (COMMAND_DTYPE, EV_KIND, EV_REJECTED, EV_TRADE, RJ_COMMAND,
                           RJ_ORDER_ID, RJ_REASON, TR_AGGRESSOR, TR_BUY_ID, TR_INSTRUMENT,
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

ACTIONS = {"new": CommandKind.NEW, "cancel": CommandKind.CANCEL, "replace": CommandKind.REPLACE}
SIDES = {"buy": Side.BUY, "sell": Side.SELL}
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


@dataclass
class Flow:
    """A parsed flow: commands, the file line of each, and the lines refused."""
    commands: np.ndarray
    lines: np.ndarray
    bad: list[tuple[int, ReasonCode, str]] = field(default_factory=list)


@dataclass
class ReplayResult:
    commands: int                       # commands the engine ran (bad lines excluded)
    trades: list[tuple]                 # TRADES rows, in order
    rejects: list[tuple[int, ReasonCode, str]]   # (line, reason, message), by line
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
    if [h.strip() for h in header] != FLOW_HEADER:
        raise FlowError(f"line 1: expected the header {','.join(FLOW_HEADER)}, "
                        f"got {','.join(header)}")
    records, lines, bad = [], [], []
    for row in reader:
        line = reader.line_num
        if not row or row == [""]:
            continue
        try:
            records.append(_command(row, ref, len(records)))
            lines.append(line)
        except BadLine as exc:
            bad.append((line, exc.reason, str(exc)))
    cmds = np.zeros(len(records), COMMAND_DTYPE)
    if records:
        cmds[:] = records
    return Flow(cmds, np.array(lines, np.int64), bad)


def _command(row: list[str], ref: ReferenceData, index: int) -> tuple:
    """One CSV row as a COMMAND_DTYPE record tuple, or BadLine."""
    if len(row) != len(FLOW_HEADER):
        raise BadLine(ReasonCode.MISSING_FIELD,
                      f"expected {len(FLOW_HEADER)} fields, got {len(row)}")
    action, order_id, account, symbol, side, ord_type, tif, price, qty = (v.strip() for v in row)
    kind = ACTIONS.get(action.lower())
    if kind is None:
        raise BadLine(ReasonCode.UNKNOWN_ACTION,
                      f"unknown action {action!r} (expected new, cancel or replace)")
    oid = _integer(order_id, "order_id")
    new = kind == CommandKind.NEW
    b = _name(ref.instrument, symbol, "symbol", required=new)
    a = _name(ref.account, account, "account", required=new)
    s = _choice(SIDES, side, "side", required=new)
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
    ts = (index + 1) * NANOS_PER_LINE
    # field order of COMMAND_DTYPE
    return (oid, ticks, 0, q, 0, ts, b, a, int(kind), int(s), int(t or 0), int(tf), 0)


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


def replay(flow: Flow, engine: MatchingEngine, ref: ReferenceData,
           parse_seconds: float = 0.0) -> ReplayResult:
    """Run a parsed flow through the batch door and collect the outputs."""
    trade_rows: list[np.ndarray] = []
    rejects = [(line, reason, msg) for line, reason, msg in flow.bad]

    def on_events(first: int, end: int, rows: np.ndarray, first_row: np.ndarray) -> None:
        kinds = rows[:, EV_KIND]
        trades = rows[kinds == EV_TRADE]
        if len(trades):
            trade_rows.append(trades.copy())
        for r in np.flatnonzero(kinds == EV_REJECTED):
            k = first + int(np.searchsorted(first_row, r, side="right")) - 1
            row = rows[r]
            rejects.append((int(flow.lines[k]), ReasonCode(int(row[RJ_REASON])),
                            _reject_message(row)))

    start = time.perf_counter()
    engine.run(flow.commands, on_events)
    seconds = time.perf_counter() - start
    rejects.sort(key=lambda r: r[0])
    trades = _trades_table(np.concatenate(trade_rows) if trade_rows else
                           np.zeros((0, 16), np.int64), ref)
    return ReplayResult(len(flow.commands), trades, rejects, resting_table(engine, ref),
                        seconds, parse_seconds)


def _reject_message(row: np.ndarray) -> str:
    reason = ReasonCode(int(row[RJ_REASON]))
    command = CommandKind(int(row[RJ_COMMAND])).name.lower().replace("_", " ")
    return f"{reason.text} ({command} of order {int(row[RJ_ORDER_ID])})"


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
             err: TextIO = sys.stderr) -> ReplayResult:
    """The whole `oms replay` job: parse, run, write, report bad lines."""
    engine = MatchingEngine(ref.book_specs(), ref.account_specs())
    ref.on_new_instrument = lambda index, spec: engine.add_instrument(spec)
    ref.on_new_account = lambda index, spec: engine.add_account(spec)
    start = time.perf_counter()
    flow = read_flow(path, ref)
    result = replay(flow, engine, ref, time.perf_counter() - start)
    for line, reason, message in result.rejects:
        print(f"{path}:{line}: {reason.label}: {message}", file=err)
    if trades_out:
        write_csv(trades_out, TRADES_HEADER, result.trades)
    if book_out:
        write_csv(book_out, BOOK_HEADER, result.resting)
    return result


def summary(result: ReplayResult) -> str:
    return (f"{result.commands} commands, {len(result.trades)} trades, "
            f"{len(result.rejects)} rejects, {len(result.resting)} resting orders, "
            f"{result.commands_per_second:,.0f} commands/s in the engine "
            f"({result.parse_seconds:.2f} s to read the file)")

