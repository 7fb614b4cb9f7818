"""The matching engine: one order book per instrument, many instruments, behind
a thin class that owns the arrays and calls the numba kernels.

Two doors with identical results:

* `submit(command) -> list[Event]`, one command at a time (the gateway's door);
  `submit_encoded(bytes)` takes the command already msgpack-encoded, as the
  journal holds it;
* `run(commands, on_events)`, an array of `COMMAND_DTYPE` records (the replay
  door), the events handed over as int64 rows, chunk by chunk.

All instruments share one order pool, one free list and one order-id index, so
an order id is unique engine-wide and never reused; each instrument has its own
levels, FIFO queues and stop lists.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numba import typeof

from . import array_table as at
from . import match_kernels as mk
from . import msgpack_kernels as mp
from .book_kernels import id_probe, next_price
from .enums import OrdType, Side, TimeInForce
from .events import Event
from .jit import kernel
from .layout import (ACCOUNT_DTYPE, BOOK_DTYPE, C_FREE_LEVEL, C_FREE_ORDER, C_IDS, C_NEED,
                     C_NEED_PRICE, C_NEV, C_NFREE_LEVEL, C_NFREE_ORDER, C_TQ_HEAD, C_TQ_TAIL,
                     COMMAND_DTYPE, EV_WIDTH, ID_DTYPE, ID_EMPTY, INT64_MAX, LADDER_DTYPE,
                     LADDERS_PER_BOOK, LEVEL_DTYPE, MAX_SPAN, N_COUNTERS, NEED_EVENTS,
                     NEED_IDS, NEED_LADDER, NEED_LEVELS, NEED_ORDERS, NO_LEVEL, OK,
                     ORDER_DTYPE)
from .specs import AccountSpec, BookSpec
from .views import BookState, Depth, Level, RestingOrder, StopOrder, TopOfBook, top_from_depth

EventSink = Callable[[int, int, np.ndarray, np.ndarray], None]
"""on_events(first_command, end_command, rows, first_row): the event rows of
commands [first_command, end_command); first_row[k] is the row where command
first_command + k begins."""


class MatchingEngine:
    """Price-time priority matching for many instruments.

    `books` and `accounts` fix the instrument and account indexes that commands
    use; more can be added later. Capacities grow on demand by doubling; the
    initial values only save early growth.
    """

    def __init__(self, books: list[BookSpec] = (), accounts: list[AccountSpec] = (), *,
                 order_capacity: int = 1 << 14, level_capacity: int = 1 << 12,
                 ladder_ticks: int = 1 << 10, event_capacity: int = 1 << 12):
        self.orders = np.zeros(order_capacity, ORDER_DTYPE)
        self.levels = np.zeros(level_capacity, LEVEL_DTYPE)
        self.books = np.zeros(0, BOOK_DTYPE)
        self.accounts = np.zeros(0, ACCOUNT_DTYPE)
        self.ids = new_id_table(2 * order_capacity)
        self.ladders = np.zeros(0, LADDER_DTYPE)
        self.rungs = np.zeros(0, np.int32)
        self._ladder_ticks = ladder_ticks
        self.ctr = np.zeros(N_COUNTERS, np.int64)
        self.ctr[C_TQ_HEAD] = self.ctr[C_TQ_TAIL] = -1
        self.table = at.new_table()
        _link_free(self.orders, "next", 0, order_capacity, self.ctr, C_FREE_ORDER,
                   C_NFREE_ORDER)
        _link_free(self.levels, "head", 0, level_capacity, self.ctr, C_FREE_LEVEL,
                   C_NFREE_LEVEL)
        self._set_event_capacity(event_capacity)
        self._first = np.zeros(0, np.int64)
        for spec in books:
            self.add_instrument(spec)
        for spec in accounts:
            self.add_account(spec)
        self._bind_kernels()

    # ------------------------------------------------------------ reference data

    def add_instrument(self, spec: BookSpec) -> int:
        """Open a book for a new instrument; returns its index. O(engine size)."""
        b = len(self.books)
        row = np.zeros(1, BOOK_DTYPE)
        row["lot"] = spec.lot
        row["band_lo"] = 0 if spec.band_lo is None else spec.band_lo
        row["band_hi"] = INT64_MAX if spec.band_hi is None else spec.band_hi
        self.books = np.concatenate([self.books, row])
        ladders = np.zeros(LADDERS_PER_BOOK, LADDER_DTYPE)
        ladders["width"] = self._ladder_ticks         # placed at the first price seen
        ladders["offset"] = len(self.rungs) + self._ladder_ticks * np.arange(LADDERS_PER_BOOK)
        self.ladders = np.concatenate([self.ladders, ladders])
        self.rungs = np.concatenate([
            self.rungs, np.full(LADDERS_PER_BOOK * self._ladder_ticks, NO_LEVEL, np.int32)])
        self._publish()
        return b

    def add_account(self, spec: AccountSpec) -> int:
        """Register an account; returns its index. An account without an STP
        group is a group of its own."""
        a = len(self.accounts)
        if spec.stp_group is not None and spec.stp_group < 0:
            raise ValueError(f"stp_group must be >= 0, got {spec.stp_group}")
        row = np.zeros(1, ACCOUNT_DTYPE)
        row["stp_mode"] = int(spec.stp_mode)
        # explicit groups are >= 0; an account's own group is -(index + 1)
        row["stp_group"] = -(a + 1) if spec.stp_group is None else spec.stp_group
        self.accounts = np.concatenate([self.accounts, row])
        self._publish()
        return a

    @property
    def instrument_count(self) -> int:
        return len(self.books)

    @property
    def account_count(self) -> int:
        return len(self.accounts)

    # ------------------------------------------------------------ the doors

    def submit(self, cmd) -> list[Event]:
        """Run one command; returns its events in order.

        The hot path of the gateway: the command goes to the kernels as its
        msgpack encoding and the events come back as msgpack, one decode call
        for all of them (`engine.msgpack_kernels`)."""
        encoded = self._encode(cmd)
        n = self._submit_one(self.table, encoded)
        if n >= 0:
            return self._decode(self.out_view[:n])
        return self.submit_encoded(encoded)

    def submit_encoded(self, cmd: bytes) -> list[Event]:
        """`submit` for a command already encoded with msgspec's msgpack encoder
        (as the journal holds it)."""
        return self._decode(self.submit_raw(cmd))

    def submit_raw(self, cmd: bytes) -> bytes:
        """`submit_encoded`, returning the events as the msgpack array the
        kernels wrote (as the journal holds them)."""
        return self.submit_raw_with(lambda c: self._submit_one(self.table, c), cmd)

    def submit_raw_with(self, one, cmd: bytes) -> bytes:
        """`submit_raw` through the per-command kernel call `one(cmd)` (the
        risk gate's, with its own arrays): growing the arrays when it asks."""
        while True:
            n = one(cmd)
            if n >= 0:
                return bytes(self.out_view[:n])
            if n == mp.BAD_COMMAND:
                raise ValueError(f"not an encoded command: {cmd!r}")
            self.grow(n)

    def run(self, cmds: np.ndarray, on_events: EventSink | None = None,
            chunk: int = 4096) -> int:
        """Run an array of COMMAND_DTYPE records in order; returns the number
        of events. `on_events` gets the event rows chunk by chunk; the rows are
        a view into a buffer that is reused once it returns."""
        return self.run_with(lambda c, i, j, first: self._run_batch(self.table, c, i, j, first),
                             cmds, on_events, chunk)

    def run_with(self, batch, cmds: np.ndarray, on_events: EventSink | None = None,
                 chunk: int = 4096) -> int:
        """`run` through the batch kernel call `batch(cmds, start, end,
        first_event) -> (next, status)` (the risk gate's, with its own arrays)."""
        if cmds.dtype != COMMAND_DTYPE:
            raise TypeError("commands must be a COMMAND_DTYPE array")
        if len(self._first) < chunk:
            self._first = np.zeros(chunk, np.int64)
        total = 0
        i, n = 0, len(cmds)
        while i < n:
            self.ctr[C_NEV] = 0
            nxt, status = batch(cmds, i, min(n, i + chunk), self._first)
            rows = int(self.ctr[C_NEV])
            total += rows
            if nxt > i and on_events is not None:
                on_events(i, nxt, self.ev[:rows], self._first[:nxt - i])
            if status != OK and not (status == NEED_EVENTS and nxt > i):
                self.grow(status)
            i = nxt
        self.ctr[C_NEV] = 0
        return total

    # ------------------------------------------------------------ views

    def top(self, instrument: int) -> TopOfBook:
        """L1: best bid and ask with their shown quantities. O(1)."""
        return top_from_depth(self.depth(instrument, 1))

    def depth(self, instrument: int, n: int | None = None) -> Depth:
        """L2: up to `n` levels per side (all if None), best first, shown
        quantities. O(levels shown + empty ticks between them)."""
        sides = []
        for k in (0, 1):
            levels = []
            for lvl in self._levels_of(instrument * LADDERS_PER_BOOK + k):
                if n is not None and len(levels) == n:
                    break
                lv = self.levels[lvl]
                levels.append(Level(int(lv["price"]), int(lv["qty"]), int(lv["count"])))
            sides.append(levels)
        return Depth(*sides)

    def book_state(self, instrument: int) -> BookState:
        """L3 and the stop lists, in priority order. O(orders in the book)."""
        lists = [[], [], [], []]
        for k in range(LADDERS_PER_BOOK):
            for lvl in self._levels_of(instrument * LADDERS_PER_BOOK + k):
                o = int(self.levels[lvl]["head"])
                while o != -1:
                    lists[k].append(self._view_order(o, k >= 2))
                    o = int(self.orders[o]["next"])
        return BookState(*lists, last_price=int(self.books[instrument]["last_price"]))

    def is_live(self, order_id: int) -> bool:
        return int(self.ids[id_probe(self.ids, order_id)]["slot"]) >= 0

    def check(self) -> None:
        """Verify every structural invariant; raises AssertionError naming the
        first that is broken. O(capacity): for tests."""
        from .invariants import check_engine
        check_engine(self)

    def memory_bytes(self) -> int:
        """Bytes held by the book's arrays (not the event buffers)."""
        return sum(int(a.nbytes) for a in (self.orders, self.levels, self.books,
                                           self.accounts, self.ids, self.ladders, self.rungs,
                                           self.ctr))

    def live_orders(self) -> int:
        """Resting orders and untriggered stops."""
        return int(len(self.orders) - self.ctr[C_NFREE_ORDER])

    def order_ids_taken(self) -> int:
        """Order ids used so far, live or done; none can be used again."""
        return int(self.ctr[C_IDS])

    # ------------------------------------------------------------ internals

    def _levels_of(self, lad: int):
        """Level slots of ladder `lad`, best first."""
        if self.ladders[lad]["count"] == 0:
            return
        price = int(self.ladders[lad]["best"])
        while price:
            yield int(self.rungs[self.ladders[lad]["offset"] + price - self.ladders[lad]["base"]])
            price = int(next_price(self.ladders, self.rungs, lad, price))

    def _view_order(self, o: int, stop: bool):
        r = self.orders[o]
        if stop:
            return StopOrder(int(r["order_id"]), int(r["account"]), Side(int(r["side"])),
                             OrdType(int(r["ord_type"])), int(r["stop_price"]),
                             int(r["price"]), int(r["qty"]), int(r["cum"]),
                             TimeInForce(int(r["tif"])))
        return RestingOrder(int(r["order_id"]), int(r["account"]), Side(int(r["side"])),
                            int(r["price"]), int(r["qty"]), int(r["hidden"]), int(r["cum"]),
                            TimeInForce(int(r["tif"])), int(r["display"]))

    def _publish(self) -> None:
        """Point the kernels' table at the current arrays (after any replacement)."""
        at.publish(self.table, {name: getattr(self, name) for name in at.ARRAYS})

    def _set_event_capacity(self, rows: int) -> None:
        self.ev = np.zeros((rows, EV_WIDTH), np.int64)   # pages are touched only when used
        self.out = np.zeros(mp.bytes_needed(rows), np.uint8)
        self.out_view = memoryview(self.out)
        self._publish()

    def _bind_kernels(self) -> None:
        """Compile (or load from the cache) now, not on the first order, and keep
        the compiled entry points: calling them skips numba's type dispatch."""
        self._encode = mp.COMMAND_ENCODER.encode
        self._decode = mp.EVENT_DECODER.decode
        self._submit_one = entry_point(submit_one, self.table, mp.COMMAND_ENCODER.encode(None))
        self._run_batch = entry_point(run_batch, self.table, np.zeros(0, COMMAND_DTYPE), 0, 0,
                                       np.zeros(1, np.int64))

    def grow(self, status: int) -> None:
        if status == NEED_EVENTS:
            # Twice the worst case, so that many commands run between drains:
            # the worst case grows with the book, the rows actually written do
            # not, and only written pages take memory.
            self._set_event_capacity(max(2 * len(self.ev), 2 * int(self.ctr[C_NEED])))
        elif status == NEED_ORDERS:
            old = len(self.orders)
            self.orders = np.concatenate([self.orders, np.zeros(old, ORDER_DTYPE)])
            _link_free(self.orders, "next", old, 2 * old, self.ctr, C_FREE_ORDER,
                       C_NFREE_ORDER)
        elif status == NEED_IDS:
            table = new_id_table(2 * len(self.ids))
            _rehash(table, self.ids)
            self.ids = table
        elif status == NEED_LEVELS:
            old = len(self.levels)
            self.levels = np.concatenate([self.levels, np.zeros(old, LEVEL_DTYPE)])
            _link_free(self.levels, "head", old, 2 * old, self.ctr, C_FREE_LEVEL,
                       C_NFREE_LEVEL)
        elif status == NEED_LADDER:
            self._widen(int(self.ctr[C_NEED]), int(self.ctr[C_NEED_PRICE]))
        else:
            raise RuntimeError(f"unexpected kernel status {status}")
        self._publish()


    def _widen(self, lad: int, price: int) -> None:
        """Give ladder `lad` a window holding `price` and every price the book
        has accepted (so every level it holds), with room to spare both ways.
        The kernels checked that the span stays under MAX_SPAN."""
        book = self.books[lad // LADDERS_PER_BOOK]
        lo = min(price, int(book["lo_price"]) or price)
        hi = max(price, int(book["hi_price"]))
        span = hi - lo + 1
        old = self.ladders[lad].copy()
        width = min(MAX_SPAN, max(2 * int(old["width"]), 1 << (2 * span - 1).bit_length()))
        base = lo - (width - span) // 2
        widths = self.ladders["width"].copy()
        widths[lad] = width
        offsets = np.concatenate([[0], np.cumsum(widths)[:-1]])
        rungs = np.full(int(widths.sum()), NO_LEVEL, np.int32)
        for i in range(len(self.ladders)):
            src = self.ladders[i]
            start, n = int(src["offset"]), int(src["width"])
            if i != lad:
                rungs[offsets[i]:offsets[i] + n] = self.rungs[start:start + n]
                continue
            # the overlap of the old window and the new one holds every level
            lo_p = max(int(old["base"]), base)
            hi_p = min(int(old["base"]) + n, base + width)
            if hi_p > lo_p:
                rungs[offsets[i] + lo_p - base:offsets[i] + hi_p - base] = \
                    self.rungs[start + lo_p - int(old["base"]):start + hi_p - int(old["base"])]
        self.ladders["offset"] = offsets
        self.ladders[lad]["width"] = width
        self.ladders[lad]["base"] = base
        self.rungs = rungs


def new_id_table(n: int) -> np.ndarray:
    """An empty order-id table of at least n entries (a power of two)."""
    table = np.zeros(1 << max(4, (n - 1).bit_length()), ID_DTYPE)
    table["slot"] = ID_EMPTY
    return table


def _link_free(pool, field, start, end, ctr, head_at, count_at) -> None:
    """Put slots start..end-1 in front of the free list, lowest first."""
    if end <= start:
        return
    pool[field][start:end - 1] = np.arange(start + 1, end)
    pool[field][end - 1] = ctr[head_at] if ctr[count_at] > 0 else -1
    ctr[head_at] = start
    ctr[count_at] += end - start


@kernel
def _rehash(new, old):
    """Insert every entry of id table `old` into the larger empty table `new`."""
    for i in range(old.shape[0]):
        if old[i]["slot"] != ID_EMPTY:
            j = id_probe(new, old[i]["key"])
            new[j]["key"] = old[i]["key"]
            new[j]["slot"] = old[i]["slot"]


@kernel
def submit_one(table, cmd):
    """The per-command door: run one encoded command, write its events into
    `out` as msgpack. Returns the byte count, or a negative status having
    changed nothing (NEED_*: grow and call again; BAD_COMMAND)."""
    (status, kind, order_id, b, a, side, ord_type, tif, flags, price, stop_price, qty,
     display, ts) = mp.read_command(cmd)
    if status != 0:
        return status
    orders, levels, books, accounts, ids, ladders, rungs, ctr, ev, out = at.unpack(table)
    ctr[C_NEV] = 0
    status = mk.execute(table, kind, order_id, b, a, side, ord_type, tif, flags, price,
                        stop_price, qty, display, ts)
    if status != OK:
        return status
    return mp.encode_rows(ev, 0, ctr[C_NEV], out)


run_batch = mk.run_batch


def entry_point(dispatcher, *example_args):
    """Compile `dispatcher` for the types of `example_args` (calling it once with
    them, which must change nothing) and return the compiled function itself."""
    dispatcher(*example_args)
    overloads = getattr(dispatcher, "overloads", None)
    if overloads is None:            # NUMBA_DISABLE_JIT: a plain Python function
        return dispatcher
    return overloads[tuple(typeof(a) for a in example_args)].entry_point
