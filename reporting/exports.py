"""Compliance exports from the journal: trades, order lifecycles, a summary.

Every export is computed from the verified journal alone (its venue record
names the symbols, accounts and ticks) and states what it was made from: the
journal's record count and chain head, in a header comment (CSV) or a first
record (JSONL), and in a sidecar ``FILE.manifest.json`` with the export's own
SHA-256. `verify_export` regenerates the export from the journal's first
`records` records and proves the file is what the journal says, byte for byte.

Times are the events' timestamps (nanoseconds since the Unix epoch) as UTC
ISO-8601 with microseconds, the clock granularity RTS 25 and CAT ask for.
Prices are decimal strings on the instrument's tick; money is exact decimal.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Iterator

import msgspec

from engine import msgpack_kernels as mp
from engine.commands import AnyCommand
from engine.config import parse_config
from engine.enums import CancelCause, OrdType, Side, TimeInForce
from engine.events import (Accepted, Cancelled, Expired, Reduced, Rejected, Replaced,
                           StopTriggered, Trade)
from engine.prices import Tick
from engine.reasons import ReasonCode
from engine.refdata import ReferenceData

from .stream import Stream, read_stream

KINDS = ("trades", "orders", "summary")
FORMATS = ("csv", "jsonl")

TRADE_COLUMNS = ["trade_id", "execution_time", "symbol", "price", "qty", "buy_account",
                 "sell_account", "buy_order_id", "sell_order_id", "buy_clordid", "sell_clordid",
                 "aggressor", "buy_liquidity", "sell_liquidity"]
ORDER_COLUMNS = ["time", "order_id", "account", "symbol", "event", "side", "ord_type", "tif",
                 "price", "qty", "fill_price", "fill_qty", "leaves", "cum", "reason", "detail"]
SUMMARY_COLUMNS = ["account", "symbol", "orders", "fills", "volume", "notional", "vwap",
                   "rejects", "rejects_by_reason"]

_COMMANDS = msgspec.msgpack.Decoder(AnyCommand)


@dataclass(frozen=True)
class Filters:
    start: int | None = None          # ns, inclusive
    end: int | None = None            # ns, exclusive
    account: str | None = None
    symbol: str | None = None

    def as_dict(self) -> dict:
        return {"from": self.start, "to": self.end, "account": self.account,
                "symbol": self.symbol}


@dataclass
class Export:
    kind: str
    columns: list[str]
    rows: list[list] = field(default_factory=list)


def iso_time(ns: int) -> str:
    """UTC ISO-8601 with microseconds: 1_340_280_000_123_456_789 ->
    '2012-06-21T12:00:00.123456Z' (truncated, never rounded up into the future)."""
    seconds, rest = divmod(ns, 1_000_000_000)
    moment = datetime.fromtimestamp(seconds, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{rest // 1000:06d}Z"


def reference_of(stream: Stream) -> ReferenceData:
    """The names and ticks of the journal's venue."""
    v = stream.venue
    if v.config is not None:
        return ReferenceData.from_config(parse_config(v.config, v.source))
    ref = ReferenceData.any_symbol(Tick.parse(v.tick))
    if stream.names is not None:
        for s in stream.names.symbols:
            ref.instrument(s)
        for a in stream.names.accounts:
            ref.account(a)
    return ref


def _events(stream: Stream) -> Iterator[tuple[object | None, list]]:
    for _, command, events in stream.pairs:
        try:
            cmd = _COMMANDS.decode(command)
        except (msgspec.DecodeError, msgspec.ValidationError):
            cmd = None                     # a risk command
        yield cmd, mp.EVENT_DECODER.decode(events)


# ------------------------------------------------------------------ the reports

def build(kind: str, stream: Stream, filters: Filters = Filters()) -> Export:
    ref = reference_of(stream)
    return {"trades": _trades, "orders": _orders, "summary": _summary}[kind](stream, ref, filters)


def _keep(ts: int, accounts: tuple[int, ...], b: int, ref: ReferenceData, f: Filters) -> bool:
    if f.start is not None and ts < f.start:
        return False
    if f.end is not None and ts >= f.end:
        return False
    if f.symbol is not None and (b < 0 or ref.symbol(b) != f.symbol):
        return False
    if f.account is not None and f.account not in (ref.account_name(a) for a in accounts
                                                   if a >= 0):
        return False
    return True


def _side(side: int) -> str:
    return "buy" if side == Side.BUY else "sell"


def _trades(stream: Stream, ref: ReferenceData, f: Filters) -> Export:
    out = Export("trades", TRADE_COLUMNS)
    for _, events in _events(stream):
        for e in events:
            if type(e) is not Trade or not _keep(e.ts, (e.buy_account, e.sell_account),
                                                 e.instrument, ref, f):
                continue
            buy_aggr = e.aggressor == Side.BUY
            out.rows.append([
                e.trade_id, iso_time(e.ts), ref.symbol(e.instrument),
                ref.ticks_to_price(e.instrument, e.price), e.qty,
                ref.account_name(e.buy_account), ref.account_name(e.sell_account),
                e.buy_order_id, e.sell_order_id, "", "", _side(e.aggressor),
                "removed" if buy_aggr else "added", "added" if buy_aggr else "removed"])
    return out


def _orders(stream: Stream, ref: ReferenceData, f: Filters) -> Export:
    """One row per step of every order's life, in journal order."""
    out = Export("orders", ORDER_COLUMNS)
    known: dict[int, tuple[int, int, int, int, int]] = {}  # id -> account, b, side, type, tif

    def row(ts, oid, a, b, event, side="", otype="", tif="", price="", qty="", fprice="",
            fqty="", leaves="", cum="", reason="", detail=""):
        if _keep(ts, (a,), b, ref, f):
            out.rows.append([iso_time(ts), oid, ref.account_name(a) if a >= 0 else "",
                             ref.symbol(b) if b >= 0 else "", event, side, otype, tif, price,
                             qty, fprice, fqty, leaves, cum, reason, detail])

    def px(b, ticks):
        return ref.ticks_to_price(b, ticks) if ticks else ""

    for cmd, events in _events(stream):
        if cmd is not None and hasattr(cmd, "order_id"):
            a, b = getattr(cmd, "account", -1), getattr(cmd, "instrument", -1)
            if cmd.order_id in known:
                a, b = known[cmd.order_id][0], known[cmd.order_id][1]
            action = {1: "received", 2: "cancel requested", 3: "replace requested"}.get(
                _kind_of(cmd), "received")
            row(cmd.ts, cmd.order_id, a, b, action,
                _side(cmd.side) if getattr(cmd, "side", 0) in (1, -1) else "",
                OrdType(cmd.ord_type).name.lower() if hasattr(cmd, "ord_type") else "",
                TimeInForce(cmd.tif).name.lower() if getattr(cmd, "tif", 0) else "",
                px(b, getattr(cmd, "price", 0)) if b >= 0 else "",
                getattr(cmd, "qty", "") or "")
        for e in events:
            t = type(e)
            if t is Accepted:
                known[e.order_id] = (e.account, e.instrument, e.side, e.ord_type, e.tif)
                row(e.ts, e.order_id, e.account, e.instrument, "accepted", _side(e.side),
                    OrdType(e.ord_type).name.lower(), TimeInForce(e.tif).name.lower(),
                    px(e.instrument, e.price), e.qty, leaves=e.qty, cum=0)
            elif t is Rejected:
                reason = ReasonCode(e.reason)
                row(e.ts, e.order_id, e.account, e.instrument, "rejected", reason=reason.label,
                    detail=reason.text)
            elif t is Trade:
                for oid, a, leaves, cum, side in (
                        (e.buy_order_id, e.buy_account, e.buy_leaves, e.buy_cum, Side.BUY),
                        (e.sell_order_id, e.sell_account, e.sell_leaves, e.sell_cum,
                         Side.SELL)):
                    row(e.ts, oid, a, e.instrument, "fill" if leaves else "filled",
                        _side(side), fprice=px(e.instrument, e.price), fqty=e.qty,
                        leaves=leaves, cum=cum)
            elif t is Replaced:
                row(e.ts, e.order_id, e.account, e.instrument, "modified",
                    price=px(e.instrument, e.price), qty=e.qty, leaves=e.leaves, cum=e.cum,
                    detail="kept priority" if e.kept_priority else "lost priority")
            elif t is Cancelled:
                row(e.ts, e.order_id, e.account, e.instrument, "cancelled", qty=e.qty, leaves=0,
                    cum=e.cum, reason=CancelCause(e.cause).name.lower())
            elif t is Reduced:
                row(e.ts, e.order_id, e.account, e.instrument, "reduced", qty=e.qty,
                    leaves=e.leaves, cum=e.cum, reason=CancelCause(e.cause).name.lower())
            elif t is Expired:
                row(e.ts, e.order_id, e.account, e.instrument, "expired", qty=e.qty, leaves=0,
                    cum=e.cum, reason="expiry")
            elif t is StopTriggered:
                row(e.ts, e.order_id, e.account, e.instrument, "stop triggered",
                    fprice=px(e.instrument, e.last_price))
    return out


def _kind_of(cmd) -> int:
    return int(type(cmd).__struct_config__.tag)


def _summary(stream: Stream, ref: ReferenceData, f: Filters) -> Export:
    orders: Counter = Counter()
    fills: Counter = Counter()
    volume: Counter = Counter()
    notional: dict = defaultdict(Decimal)
    rejects: dict = defaultdict(Counter)
    for cmd, events in _events(stream):
        for e in events:
            t = type(e)
            if t is Accepted or t is Rejected:
                if t is Rejected and e.command != 1:
                    rejects[(e.account, e.instrument)][ReasonCode(e.reason).label] += 1
                    continue
                if _keep(e.ts, (e.account,), e.instrument, ref, f):
                    orders[(e.account, e.instrument)] += 1
                    if t is Rejected:
                        rejects[(e.account, e.instrument)][ReasonCode(e.reason).label] += 1
            elif t is Trade:
                price = Decimal(ref.ticks_to_price(e.instrument, e.price))
                for a in (e.buy_account, e.sell_account):
                    if _keep(e.ts, (a,), e.instrument, ref, f):
                        key = (a, e.instrument)
                        fills[key] += 1
                        volume[key] += e.qty
                        notional[key] += price * e.qty
    out = Export("summary", SUMMARY_COLUMNS)
    keys = set(orders) | set(fills) | {k for k, v in rejects.items() if v}
    for a, b in sorted(keys, key=lambda k: (ref.account_name(k[0]) if k[0] >= 0 else "",
                                           ref.symbol(k[1]) if k[1] >= 0 else "")):
        if a < 0 or b < 0 or not _keep(0 if f.start is None else f.start, (a,), b, ref, f):
            continue
        vol = volume[(a, b)]
        money = notional[(a, b)]
        vwap = ""
        if vol:
            places = ref.tick(b).scale + 4
            vwap = str((money / vol).quantize(Decimal(1).scaleb(-places)))
        by_reason = rejects[(a, b)]
        out.rows.append([ref.account_name(a), ref.symbol(b), orders[(a, b)], fills[(a, b)], vol,
                         str(money), vwap, sum(by_reason.values()),
                         ";".join(f"{k}:{v}" for k, v in sorted(by_reason.items()))])
    return out


# ------------------------------------------------------------------ files

def provenance(directory: str | os.PathLike, records: int, head: bytes) -> dict:
    return {"journal": str(Path(directory).resolve()), "records": records,
            "chain_head": head.hex()}


def render(export: Export, fmt: str, origin: dict, filters: Filters) -> bytes:
    """The export file's bytes: CSV with a header comment, or JSONL whose
    first line is the provenance."""
    meta = {"report": export.kind, **origin, "filters": filters.as_dict()}
    if fmt == "csv":
        buf = io.StringIO()
        buf.write(f"# oms report {export.kind}: journal {origin['journal']}, records 0.."
                  f"{origin['records'] - 1}, chain head {origin['chain_head']}\n")
        buf.write(f"# filters: {json.dumps(filters.as_dict())}\n")
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(export.columns)
        w.writerows(export.rows)
        return buf.getvalue().encode()
    lines = [json.dumps(meta)]
    lines += [json.dumps(dict(zip(export.columns, r))) for r in export.rows]
    return ("\n".join(lines) + "\n").encode()


def make_report(kind: str, directory: str | os.PathLike, fmt: str = "csv",
                filters: Filters = Filters(), upto: int | None = None,
                progress=None) -> tuple[bytes, dict]:
    """(file bytes, manifest) of a report on the journal's first `upto`
    records (all by default)."""
    if kind not in KINDS:
        raise ValueError(f"report must be one of {', '.join(KINDS)}, got {kind!r}")
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    stream, records, head = _stream_upto(directory, upto, progress)
    export = build(kind, stream, filters)
    origin = provenance(directory, records, head)
    data = render(export, fmt, origin, filters)
    manifest = {"report": kind, "format": fmt, **origin, "filters": filters.as_dict(),
                "rows": len(export.rows), "sha256": hashlib.sha256(data).hexdigest()}
    return data, manifest


def _stream_upto(directory, upto: int | None, progress=None) -> tuple[Stream, int, bytes]:
    stream = read_stream(directory, upto, progress)
    return stream, stream.records, stream.chain_head


def write_report(path: str | os.PathLike, data: bytes, manifest: dict) -> None:
    Path(path).write_bytes(data)
    Path(str(path) + ".manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


def verify_export(path: str | os.PathLike, directory: str | os.PathLike) -> list[str]:
    """Problems with the export at `path` against the journal (empty: it is
    exactly what the journal says)."""
    manifest_path = Path(str(path) + ".manifest.json")
    try:
        manifest = json.loads(manifest_path.read_text())
        data = Path(path).read_bytes()
    except (OSError, ValueError) as exc:
        return [f"cannot read the export or its manifest: {exc}"]
    problems = []
    if hashlib.sha256(data).hexdigest() != manifest.get("sha256"):
        problems.append(f"{path} differs from the SHA-256 in its manifest")
    fl = manifest.get("filters", {})
    filters = Filters(fl.get("from"), fl.get("to"), fl.get("account"), fl.get("symbol"))
    again, redo = make_report(manifest["report"], directory, manifest["format"], filters,
                              upto=manifest["records"])
    if redo["chain_head"] != manifest["chain_head"]:
        problems.append(f"the journal's chain head at record {manifest['records'] - 1} is "
                        f"{redo['chain_head']}, the export says {manifest['chain_head']}")
    if again != data:
        problems.append("the journal gives different content")
    return problems
