"""`oms replay --format lobster`: LOBSTER order flow through the engine's own
book, checked row by row against LOBSTER's reconstructed book.

LOBSTER (lobsterdata.com) ships NASDAQ order flow as a message file (one
event per line) and an orderbook file (the best N levels after each event).
`LobsterReplay` owns a `MatchingEngine` and runs the messages through it with
the kernels of `oms.lobster_kernels`: `oms.lobster_book` says how a message
becomes engine commands, `oms.lobster_check` how a row is judged exact,
revealed or a mismatch. `replay_pair` loads and replays one pair of files
into a plain dict, the unit of work for running many pairs; `run` is the
command line's door; `oms.lobster_report` prints.

The book starts as LOBSTER's row 0 with message 0 undone, held as anonymous
orders: volume entered before the file starts is never submitted in it.
Without the check (`check=False`) only row 0 is read, and the book is what the
messages alone make of it: events outside the file's depth are missing, so
it drifts from the market's; the mode measures the engine, not the data.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field

import numpy as np

from engine.commands import NewOrder
from engine.enums import Side
from engine.layout import OK
from engine.matching import MatchingEngine
from engine.specs import AccountSpec, BookSpec

from . import lobster_book as lb
from .lobster_kernels import replay
from .lobster_parse import (MAX_ORDER_ID, PAD, LobsterError, read_messages, read_orderbook,
                            warm_up)
from .lobster_report import render, totals

SNAPSHOTS = 5        # mismatch rows whose two books are kept for the report
DIFF_RUNS = 5        # differing --match runs kept for the report
DIFF_FILLS = 16      # fills shown per differing run


@dataclass
class ReplayResult:
    """What one replay found; `status[i]` is row i's EXACT / REVEALED /
    MISMATCH / UNCHECKED (`oms.lobster_book`); empty when rows were not
    checked."""
    rows: int
    depth: int
    checked: bool
    status: np.ndarray
    seconds: float
    rejects: int = 0              # type-1 orders the engine refused
    short: int = 0                # reductions the level could not give in full
    runs_agree: int = 0
    runs_differ: int = 0
    mismatches: list = field(default_factory=list)   # (row, engine levels, file levels)
    differing_runs: list = field(default_factory=list)  # (first, last, lobster, engine)

    def count(self, status: int) -> int:
        return int(np.count_nonzero(self.status == status)) if self.checked else 0

    @property
    def messages_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else float("inf")


class LobsterReplay:
    """One instrument's LOBSTER messages through a `MatchingEngine`.

    `depth` is the number of levels per side compared (at most the
    orderbook file's). `match` sends runs of visible executions as IOC orders
    and compares the fills (see `oms.lobster_kernels`). `engine_options` go
    to `MatchingEngine` (initial capacities; they grow on demand).
    """

    def __init__(self, depth: int, *, check: bool = True, match: bool = False,
                 engine_options: dict | None = None):
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        self.depth, self.check, self.match = depth, check, match
        self.engine: MatchingEngine | None = None
        self.engine_options = {"ladder_ticks": None, **(engine_options or {})}
        self.st = np.zeros(lb.N_STATE, np.int64)
        self.st[lb.S_NEXT_ID] = MAX_ORDER_ID
        self.st[lb.S_DIRTY] = 3
        self.st[lb.S_RUN_STOP] = -1

    def run(self, msgs: np.ndarray, rows: np.ndarray) -> ReplayResult:
        """Seed from rows[0] and msgs[0], replay every message; `rows` holds
        one orderbook row per message (only row 0 without the check), at
        least 4 x depth columns."""
        rows = np.ascontiguousarray(rows[:, :4 * self.depth])
        options = dict(self.engine_options)
        options["ladder_ticks"] = options["ladder_ticks"] or ladder_ticks(msgs, rows)
        self.engine = MatchingEngine([BookSpec()], [AccountSpec()] * 3, **options)
        self._seed(rows[0], msgs[0])
        n = len(msgs)
        status = np.zeros(n if self.check else 0, np.int8)
        snaps = np.zeros((SNAPSHOTS, 2, self.depth, 2), np.int64)
        snap_rows = np.zeros(SNAPSHOTS, np.int64)
        run_end = run_ends(msgs) if self.match else np.zeros(n, np.int64)
        longest = int((run_end - np.arange(n)).max()) + 1 if self.match and n else 1
        lob = np.zeros((longest, 3), np.int64)
        eng = np.zeros((longest + 1, 3), np.int64)
        diffs = np.zeros((DIFF_RUNS, 2, DIFF_FILLS, 3), np.int64)
        diff_runs = np.zeros((DIFF_RUNS, 4), np.int64)
        args = (status, snaps, snap_rows, lob, eng, diffs, diff_runs)
        # an empty call loads (or compiles) the kernel outside the timed part
        replay(self.engine.table, self.st, msgs, rows, run_end, self.depth, self.check,
                  self.match, 0, 0, *args)
        t0 = time.perf_counter()
        i = 0
        while i < n:
            i, code = replay(self.engine.table, self.st, msgs, rows, run_end, self.depth,
                                self.check, self.match, i, n, *args)
            if code == lb.FAULT:
                raise RuntimeError(f"engine command failed at message {i + 1} "
                                   f"(kind {self.st[lb.S_FAULT]})")
            if code != OK:
                self.engine.grow(code)
        seconds = time.perf_counter() - t0
        st = self.st
        return ReplayResult(
            rows=n, depth=self.depth, checked=self.check, status=status, seconds=seconds,
            rejects=int(st[lb.S_REJECTS]), short=int(st[lb.S_SHORT]),
            runs_agree=int(st[lb.S_AGREE]), runs_differ=int(st[lb.S_DIFFER]),
            mismatches=[(int(snap_rows[j]), _levels(snaps[j]), _row_levels(rows[snap_rows[j]]))
                        for j in range(int(st[lb.S_SNAPS]))],
            differing_runs=[(int(d[0]), int(d[1]), _fills(diffs[j, 0], d[2]),
                             _fills(diffs[j, 1], d[3]))
                            for j, d in enumerate(diff_runs[:int(st[lb.S_DIFFS])])])

    def _seed(self, row: np.ndarray, msg) -> None:
        """Anonymous orders for row 0 with message 0 undone, best levels first."""
        book = [dict(side) for side in _row_levels(row)]
        k = lb.BID if msg["direction"] == 1 else lb.ASK
        undo = {1: -1, 2: 1, 3: 1, 4: 1}.get(int(msg["type"]), 0) * int(msg["size"])
        price = int(msg["price"])
        book[k][price] = book[k].get(price, 0) + undo
        for k, levels in enumerate(book):
            for price, qty in levels.items():
                if qty > 0:
                    self.engine.submit(NewOrder(int(self.st[lb.S_NEXT_ID]), 0, lb.ANON,
                                                Side.BUY if k == lb.BID else Side.SELL, qty,
                                                price, ts=int(msg["ts"])))
                    self.st[lb.S_NEXT_ID] += 1


def ladder_ticks(msgs: np.ndarray, rows: np.ndarray) -> int:
    """A price ladder wide enough for every price of the file from the start
    (the engine places it at the first price and widens it on demand, which
    costs a return to Python each time): the span of the prices, rounded up
    to a power of two, at most 2**20 ticks."""
    prices = msgs["price"][(msgs["type"] >= 1) & (msgs["type"] <= 4)]
    book = rows[:, 0::2]
    book = book[np.abs(book) != PAD]
    lo = min(prices.min(initial=PAD), book.min(initial=PAD))
    hi = max(prices.max(initial=0), book.max(initial=0))
    span = max(int(hi) - int(lo) + 1, 1)
    return 1 << min(max(span - 1, 1).bit_length(), 20)


def run_ends(msgs: np.ndarray) -> np.ndarray:
    """For each message that starts a run of visible executions (type 4, same
    time and direction, consecutive in the file) the index of its last
    message; -1 elsewhere. Vectorised."""
    n = len(msgs)
    out = np.full(n, -1, np.int64)
    exe = msgs["type"] == 4
    if not exe.any():
        return out
    joins = np.zeros(n, bool)
    joins[1:] = (exe[1:] & exe[:-1] & (msgs["ts"][1:] == msgs["ts"][:-1])
                 & (msgs["direction"][1:] == msgs["direction"][:-1]))
    starts = np.flatnonzero(exe & ~joins)
    ends = np.flatnonzero(exe & ~np.append(joins[1:], False))
    out[starts] = ends
    return out


def _row_levels(row: np.ndarray) -> list[list[list[int]]]:
    """[asks, bids] of an orderbook row: [price, size] best first, padding dropped."""
    out = []
    for k in (lb.ASK, lb.BID):
        prices, sizes = row[2 * k::4].tolist(), row[2 * k + 1::4].tolist()
        out.append([[p, q] for p, q in zip(prices, sizes) if q > 0 and abs(p) != PAD])
    return out


def _levels(snap: np.ndarray) -> list[list[list[int]]]:
    return [[[p, q] for p, q in snap[k].tolist() if q > 0] for k in (lb.ASK, lb.BID)]


def _fills(fills: np.ndarray, n: int) -> list[list[int]]:
    return fills[:min(int(n), len(fills))].tolist()


def replay_pair(message_path: str, orderbook_path: str, levels: int | None = None, *,
                match: bool = False, check: bool = True) -> dict:
    """Load and replay one LOBSTER pair; a plain dict of the results (the
    unit of work for replaying many pairs). Raises LobsterError for bad input.
    Times exclude loading the compiled kernels (once per process)."""
    warm_up()
    t0 = time.perf_counter()
    msgs = read_messages(message_path)
    rows = read_orderbook(orderbook_path, first_row_only=not check)
    load = time.perf_counter() - t0
    depth = rows.shape[1] // 4
    if levels is not None and not 1 <= levels <= depth:
        raise LobsterError(orderbook_path, f"--levels {levels}: the file has {depth} "
                                           f"level{'s' if depth > 1 else ''}")
    if check and len(rows) != len(msgs):
        raise LobsterError(orderbook_path, f"{len(rows)} rows, but {message_path} has "
                                           f"{len(msgs)} messages")
    result = LobsterReplay(levels or depth, check=check, match=match).run(msgs, rows)
    return summary(result, msgs, message_path, orderbook_path, load, match)


def summary(r: ReplayResult, msgs: np.ndarray, message_path: str, orderbook_path: str,
            load_seconds: float, match: bool) -> dict:
    """The JSON-ready summary of one replay; line numbers are 1-based."""
    out = {"message_file": str(message_path), "orderbook_file": str(orderbook_path),
           "rows": r.rows, "depth": r.depth, "checked": r.checked,
           "exact": r.count(lb.EXACT), "revealed": r.count(lb.REVEALED),
           "mismatch": r.count(lb.MISMATCH), "unchecked": r.count(lb.UNCHECKED),
           "messages_per_second": round(r.messages_per_second),
           "replay_seconds": round(r.seconds, 6), "load_seconds": round(load_seconds, 6),
           "load_rows_per_second": round(r.rows / load_seconds) if load_seconds > 0 else None,
           "rejects": r.rejects, "short": r.short,
           "first_mismatches": [
               {"line": row + 1, "message": message_text(msgs[row]),
                "engine": {"asks": engine[0], "bids": engine[1]},
                "file": {"asks": wanted[0], "bids": wanted[1]}}
               for row, engine, wanted in r.mismatches]}
    if match:
        out["runs_agree"], out["runs_differ"] = r.runs_agree, r.runs_differ
        out["first_differing_runs"] = [
            {"lines": [first + 1, last + 1], "lobster": lob, "engine": eng}
            for first, last, lob, eng in r.differing_runs]
    return out


def message_text(msg) -> str:
    """A message as its CSV line (time with nine decimals)."""
    ts = int(msg["ts"])
    return (f"{ts // 10**9}.{ts % 10**9:09d},{int(msg['type'])},{int(msg['order_id'])},"
            f"{int(msg['size'])},{int(msg['price'])},{int(msg['direction'])}")


def _replay_task(task: tuple) -> tuple[str, object]:
    """One pair in a worker process; a bad file comes back as its message
    (LobsterError's arguments do not survive pickling)."""
    message_path, orderbook_path, levels, match, check = task
    try:
        return "ok", replay_pair(message_path, orderbook_path, levels, match=match,
                                 check=check)
    except LobsterError as exc:
        return "error", str(exc)


def _replay_all(tasks: list[tuple], workers: int, dask: str | None = None) -> list:
    """The pairs' results in order: here, each pair in its own process, or
    each pair a task on the Dask cluster at `dask` (its workers need this
    package installed)."""
    if dask is not None:
        from distributed import Client
        with Client(dask) as client:
            answers = client.gather(client.map(_replay_task, tasks, pure=False))
        return _unpack(answers)
    if workers <= 1 or len(tasks) <= 1:
        return [replay_pair(m, o, lv, match=ma, check=c) for m, o, lv, ma, c in tasks]
    from concurrent.futures import ProcessPoolExecutor
    with ProcessPoolExecutor(max_workers=min(workers, len(tasks))) as pool:
        answers = list(pool.map(_replay_task, tasks))
    return _unpack(answers)


def _unpack(answers: list) -> list:
    for kind, value in answers:
        if kind == "error":
            raise LobsterError(value.split(":", 1)[0], value.split(": ", 1)[-1])
    return [value for _, value in answers]


def run(messages: list[str], orderbooks: list[str], levels: int | None, as_json: bool,
        match: bool, check: bool, out=sys.stdout, workers: int = 1,
        dask: str | None = None) -> int:
    """`oms replay --format lobster`: replay each pair, print the report (with
    `as_json`, the last line is one JSON object). Exit status 0, 1 if any row
    is a mismatch (runs that differ under `match` are a finding, not a
    failure: level-1 files do not support queue checks), 2 for bad input,
    with a one-line message on stderr naming the file and line. `workers`
    > 1 replays each pair in its own process (one table at the end); `dask`
    (a scheduler address) sends each pair to a Dask cluster instead."""
    if len(messages) != len(orderbooks):
        print(f"oms replay: error: {len(messages)} message files but {len(orderbooks)} "
              "orderbook files (give one --orderbook per message file)", file=sys.stderr)
        return 2
    tasks = [(m, o, levels, match, check) for m, o in zip(messages, orderbooks)]
    try:
        results = _replay_all(tasks, workers, dask)
    except LobsterError as exc:
        print(f"oms replay: error: {exc}", file=sys.stderr)
        return 2
    everything = totals(results)
    render(results, everything, as_json, out)
    return 1 if everything["mismatch"] else 0
