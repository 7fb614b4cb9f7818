"""LOBSTER files into integer arrays: one numba pass over the raw bytes.

LOBSTER writes comma-separated integers without a header, one line per event
(message file) or per book (orderbook file); the message file's first column
is time in decimal seconds after midnight with up to nine decimals, read here
exactly as integer nanoseconds. Gzip is recognised by its magic bytes, not by
the file name. The parser reads about 10 M message rows/s of plain text
(`np.loadtxt` about 2 M, integers only); from gzip, decompression takes most
of the time (figures in `benchmarks/bench_lobster.py`).

Bad input raises `LobsterError` naming the file and the line (1-based), never
a traceback from deep inside: a wrong field count, a field that is not an
integer, a time with more than nine decimals or going backwards, an unknown
event type or direction.
"""
from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from engine.jit import kernel

MESSAGE_DTYPE = np.dtype([
    ("ts", np.int64),           # nanoseconds after midnight (LOBSTER: New York time)
    ("order_id", np.int64),     # NASDAQ order reference; 0 for hidden executions
    ("size", np.int64),         # shares
    ("price", np.int64),        # dollars x 10000
    ("type", np.int8),          # 1 new, 2 partial cancel, 3 delete, 4 visible execution,
                                # 5 hidden execution, 6 cross, 7 halt
    ("direction", np.int8),     # +1 buy limit order, -1 sell limit order
], align=True)
MESSAGE_FIELDS = 6
PAD = 9_999_999_999             # price of an empty orderbook level (asks +, bids -)
MAX_ORDER_ID = 1 << 62          # ids at and above are the replay's own (anonymous volume)

# parse_csv status codes (0: ok)
E_FIELDS, E_NOT_INTEGER, E_DECIMALS, E_TOO_LARGE, E_EMPTY = 1, 2, 3, 4, 5
_REASONS = {E_NOT_INTEGER: "not an integer", E_DECIMALS: "more than 9 decimals",
            E_TOO_LARGE: "number too large"}


class LobsterError(ValueError):
    """A LOBSTER file that cannot be replayed; `str()` is one line naming the
    file and, when there is one, the line."""

    def __init__(self, path: str, reason: str, line: int | None = None):
        self.path, self.reason, self.line = str(path), reason, line
        where = self.path if line is None else f"{self.path}:{line}"
        super().__init__(f"{where}: {reason}")


@kernel
def parse_csv(buf, ncols, time_col, out, err):
    """Parse comma-separated integers into `out` (rows x ncols); column
    `time_col` (-1: none) may be decimal and becomes integer nanoseconds.

    O(bytes). Accepts LF or CRLF line ends and a last line without one.
    Returns the number of rows read; on bad input stops and sets err =
    (code, row, column or fields found, offset of the line). Does not check
    that `out` has room: the caller sized it by counting newlines.
    """
    n = buf.shape[0]
    pos = 0
    row = 0
    while pos < n:
        start = pos
        col = 0
        while True:
            neg = False
            if pos < n and buf[pos] == 45:           # '-'
                neg = True
                pos += 1
            value = 0
            digits = 0
            while pos < n and 48 <= buf[pos] <= 57:
                value = value * 10 + (int(buf[pos]) - 48)
                digits += 1
                pos += 1
            if col == time_col and digits > 0:
                decimals = 0
                if pos < n and buf[pos] == 46:       # '.'
                    pos += 1
                    while pos < n and 48 <= buf[pos] <= 57:
                        if decimals < 9:
                            value = value * 10 + (int(buf[pos]) - 48)
                        decimals += 1
                        pos += 1
                    if decimals > 9:
                        err[0], err[1], err[2], err[3] = E_DECIMALS, row, col, start
                        return row
                for _ in range(9 - decimals):
                    value *= 10
                digits += 9
            if digits == 0 and col == 0 and (pos >= n or buf[pos] == 10 or buf[pos] == 13):
                err[0], err[1], err[2], err[3] = E_EMPTY, row, col, start
                return row
            if digits == 0 or (pos < n and buf[pos] != 44 and buf[pos] != 10
                               and buf[pos] != 13):
                err[0], err[1], err[2], err[3] = E_NOT_INTEGER, row, col, start
                return row
            if digits > 18:
                err[0], err[1], err[2], err[3] = E_TOO_LARGE, row, col, start
                return row
            if col < ncols:
                out[row, col] = -value if neg else value
            col += 1
            if pos < n and buf[pos] == 44:           # ','
                pos += 1
                continue
            if pos < n and buf[pos] == 13:           # '\r' only before '\n'
                pos += 1
                if pos < n and buf[pos] != 10:
                    err[0], err[1], err[2], err[3] = E_NOT_INTEGER, row, col - 1, start
                    return row
            pos += 1                                 # '\n' or the end
            break
        if col != ncols:
            err[0], err[1], err[2], err[3] = E_FIELDS, row, col, start
            return row
        row += 1
    return row


def read_bytes(path: str | Path) -> bytes:
    """The file's bytes, gunzipped when it starts with gzip's magic."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise LobsterError(path, exc.strerror or str(exc)) from None
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise LobsterError(path, f"not a readable gzip file ({exc})") from None
    return data


def parse(path, data: bytes, ncols: int, time_col: int = -1) -> np.ndarray:
    """`data` (the bytes of `path`) as an int64 array of `ncols` columns."""
    buf = np.frombuffer(data, np.uint8)
    rows = int(np.count_nonzero(buf == 10)) + 1
    out = np.empty((rows, ncols), np.int64)
    err = np.zeros(4, np.int64)
    got = parse_csv(buf, ncols, time_col, out, err)
    if err[0]:
        code, row, col, start = (int(x) for x in err)
        end = data.find(b"\n", start)
        text = data[start:end if end >= 0 else len(data)].decode("latin-1").rstrip("\r")
        text = text if len(text) <= 60 else text[:57] + "..."
        if code == E_FIELDS:
            reason = f"{col} fields, expected {ncols}: {text!r}"
        elif code == E_EMPTY:
            reason = "empty line"
        else:
            reason = f"field {col + 1}: {_REASONS[code]}: {text!r}"
        raise LobsterError(path, reason, row + 1)
    if got == 0:
        raise LobsterError(path, "no rows")
    return out[:got]


def warm_up() -> None:
    """Load (or compile) the parser now, not in the first timed read."""
    parse_csv(np.frombuffer(b"", np.uint8), 1, -1, np.zeros((1, 1), np.int64),
              np.zeros(4, np.int64))


def read_messages(path: str | Path) -> np.ndarray:
    """A message file as MESSAGE_DTYPE records, checked: event type 1-7,
    direction +-1, time never going backwards, positive size and price for
    types 1-4 (those that change the visible book), order ids below 2**62."""
    raw = parse(path, read_bytes(path), MESSAGE_FIELDS, time_col=0)
    msgs = np.empty(len(raw), MESSAGE_DTYPE)
    for name, column in (("ts", 0), ("type", 1), ("order_id", 2), ("size", 3), ("price", 4),
                         ("direction", 5)):
        msgs[name] = raw[:, column]
    typ = raw[:, 1]
    changes_book = (typ >= 1) & (typ <= 4)
    for bad, column, reason in (
            ((typ < 1) | (typ > 7), 1, "event type {} is not 1-7"),
            (np.abs(raw[:, 5]) != 1, 5, "direction {} is not 1 or -1"),
            (changes_book & (raw[:, 3] <= 0), 3, "size {} is not positive"),
            (changes_book & (raw[:, 4] <= 0), 4, "price {} is not positive"),
            ((raw[:, 2] < 0) | (raw[:, 2] >= MAX_ORDER_ID), 2, "order id {} out of range")):
        _first_bad(path, bad, raw[:, column], reason)
    back = np.flatnonzero(raw[1:, 0] < raw[:-1, 0])
    if len(back):
        k = int(back[0]) + 1
        raise LobsterError(path, f"time goes backwards ({_seconds(raw[k, 0])} after "
                                 f"{_seconds(raw[k - 1, 0])})", k + 1)
    return msgs


def read_orderbook(path: str | Path, first_row_only: bool = False) -> np.ndarray:
    """An orderbook file as int64 rows of 4 x depth columns (ask price, ask
    size, bid price, bid size per level). `first_row_only` reads just row 0
    (the seed, when the rows are not checked)."""
    data = read_bytes(path)
    end = data.find(b"\n")
    first = data if end < 0 else data[:end + 1]
    ncols = first.count(b",") + 1
    if ncols % 4:
        raise LobsterError(path, f"{ncols} fields, expected a multiple of 4 "
                                 "(ask price, ask size, bid price, bid size per level)", 1)
    rows = parse(path, first if first_row_only else data, ncols)
    prices, sizes = rows[:, 0::2], rows[:, 1::2]
    padded = np.abs(prices) == PAD
    _first_bad(path, sizes < 0, sizes, "size {} is negative")
    _first_bad(path, ~padded & (prices <= 0), prices, "price {} is not positive")
    return rows


def _first_bad(path, bad: np.ndarray, values: np.ndarray, reason: str) -> None:
    """Raise for the first row where `bad` holds (rows, or rows x columns,
    like `values`), quoting its first bad value."""
    if not bad.any():
        return
    if bad.ndim == 1:
        k = int(np.argmax(bad))
        value = values[k]
    else:
        k = int(np.argmax(bad.any(axis=1)))
        value = values[k][bad[k]][0]
    raise LobsterError(path, reason.format(int(value)), k + 1)


def _seconds(ns: int) -> str:
    return f"{ns // 10**9}.{ns % 10**9:09d}"
