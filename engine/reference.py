"""The reference matching engine: slow, plain Python, obviously correct.

It implements `docs/MATCHING.md` with ordinary data structures so that the
numba engine (`engine.matching`) can be checked against it command by command:
a property test feeds both the same random commands and requires identical
events and identical book state after every step.

Data structures, per instrument (`_Book`):

* bids and asks: a `Ladder` each, a `SortedDict` of price -> deque of orders,
  front of the deque = first in time priority;
* buy stops and sell stops: the same, keyed by stop price;
* the last trade price (0 before the first trade).

Engine-wide: a dict of live orders by id, the set of every id ever accepted
(ids are never reused), the event sequence counter and the trade id counter.

Nothing here is tuned for speed; where a shortcut would make the code less
evidently right, the longer way is taken.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

from sortedcontainers import SortedDict

from .commands import Cancel, ExpireOrders, MassCancel, NewOrder, Replace
from .enums import CancelCause, CommandKind, OrderFlags, OrdType, Side, StpMode, TimeInForce
from .events import (Accepted, Cancelled, Event, Expired, MassCancelled, Reduced, Rejected,
                     Replaced, StopTriggered, Trade)
from .reasons import ReasonCode
from .layout import MAX_PARTS, MAX_QTY, MAX_SPAN
from .specs import AccountSpec, BookSpec
from .views import BookState, Depth, Level, RestingOrder, StopOrder, TopOfBook

NOT_GIVEN = -1          # instrument / account on cancel, replace, mass cancel
ANY_SIDE = 0            # side on replace and mass cancel

_SIDES = {int(s) for s in Side}
_ORD_TYPES = {int(t) for t in OrdType}
_TIFS = {int(t) for t in TimeInForce}
_KNOWN_FLAGS = int(OrderFlags.POST_ONLY | OrderFlags.SHORT_SALE | OrderFlags.SHORT_EXEMPT)
_RESTING_TIFS = {int(TimeInForce.DAY), int(TimeInForce.GTC)}


# ---------------------------------------------------------------- orders and books

@dataclass(eq=False)            # identity equality: deque.remove must find *this* order
class _Order:
    """A live order. `shown` + `hidden` is its open quantity (leaves).

    While an order aggresses, and while it waits as an untriggered stop, all
    of its open quantity is in `shown`; only a resting iceberg hides some.
    """
    order_id: int
    instrument: int
    account: int
    side: int
    ord_type: int
    tif: int
    flags: int
    price: int              # limit price; 0 for market and stop orders
    stop_price: int         # trigger price of an untriggered stop; 0 otherwise
    display: int            # iceberg refresh size; 0: not an iceberg
    shown: int
    hidden: int = 0
    cum: int = 0

    @property
    def leaves(self) -> int:
        return self.shown + self.hidden

    @property
    def is_stop(self) -> bool:
        return self.ord_type in (OrdType.STOP, OrdType.STOP_LIMIT)

    @property
    def has_limit_price(self) -> bool:
        return self.ord_type in (OrdType.LIMIT, OrdType.STOP_LIMIT)


class _Ladder:
    """Price levels of one side (or one stop list): price -> FIFO deque of orders.

    `best_high` says which end is the best: True for bids and sell stops (the
    highest price comes first), False for asks and buy stops.
    """

    def __init__(self, best_high: bool):
        self.best_high = best_high
        self.levels: SortedDict = SortedDict()

    def __bool__(self) -> bool:
        return bool(self.levels)

    def append(self, price: int, order: _Order) -> None:
        """Put `order` at the back of the level at `price`, creating the level."""
        self.levels.setdefault(price, deque()).append(order)

    def remove(self, price: int, order: _Order) -> None:
        """Take `order` out of its level; drop the level if it is now empty."""
        queue = self.levels[price]
        queue.remove(order)
        if not queue:
            del self.levels[price]

    def best(self) -> tuple[int, deque] | None:
        """(price, queue) of the best level, or None when the side is empty."""
        if not self.levels:
            return None
        return self.levels.peekitem(-1 if self.best_high else 0)

    def best_first(self) -> Iterator[tuple[int, deque]]:
        """Levels best first (a snapshot of the keys, so callers may modify)."""
        prices = list(reversed(self.levels)) if self.best_high else list(self.levels)
        for price in prices:
            yield price, self.levels[price]

    def orders(self) -> list[_Order]:
        """Every order, best level first and FIFO within a level."""
        return [o for _, queue in self.best_first() for o in queue]


class _Book:
    """One instrument: its rules, its two sides, its two stop lists, its last price."""

    def __init__(self, spec: BookSpec):
        self.lot = spec.lot
        self.band_lo = spec.band_lo          # None: no lower bound
        self.band_hi = spec.band_hi          # None: no upper bound
        self.bids = _Ladder(best_high=True)
        self.asks = _Ladder(best_high=False)
        self.buy_stops = _Ladder(best_high=False)    # lowest stop price first
        self.sell_stops = _Ladder(best_high=True)    # highest stop price first
        self.last_price = 0
        # every limit and stop price accepted so far lies in lo_price..hi_price
        self.lo_price: int | None = None
        self.hi_price: int | None = None

    def within_span(self, *prices: int) -> bool:
        """Would these prices (0: none) keep all accepted prices of the book
        fewer than MAX_SPAN ticks apart?"""
        seen = [p for p in (self.lo_price, self.hi_price, *prices) if p]
        return not seen or max(seen) - min(seen) < MAX_SPAN

    def note_prices(self, *prices: int) -> None:
        for p in prices:
            if p:
                self.lo_price = p if self.lo_price is None else min(self.lo_price, p)
                self.hi_price = p if self.hi_price is None else max(self.hi_price, p)

    def side(self, side: int) -> _Ladder:
        return self.bids if side == Side.BUY else self.asks

    def opposite(self, side: int) -> _Ladder:
        return self.asks if side == Side.BUY else self.bids

    def stops(self, side: int) -> _Ladder:
        return self.buy_stops if side == Side.BUY else self.sell_stops

    def sweep_order(self) -> list[_Order]:
        """Every live order in the mass cancel order: bids, asks, buy stops, sell
        stops, each best level first and FIFO within a level."""
        return (self.bids.orders() + self.asks.orders()
                + self.buy_stops.orders() + self.sell_stops.orders())


def _crosses(side: int, limit: int | None, price: int) -> bool:
    """Is `price` within an aggressor's `limit`? None is no limit at all."""
    if limit is None:
        return True
    return price <= limit if side == Side.BUY else price >= limit


# ---------------------------------------------------------------- the engine

class ReferenceEngine:
    """The rules of `docs/MATCHING.md`, one command at a time."""

    def __init__(self, books: list[BookSpec] = (), accounts: list[AccountSpec] = ()):
        self.books: list[_Book] = []
        self.accounts: list[AccountSpec] = []
        self.live: dict[int, _Order] = {}       # order id -> live order (resting or stop)
        self.used_ids: set[int] = set()         # every id ever accepted, live or done
        self.seq = 0                            # last event sequence number
        self.trade_id = 0                       # last trade id
        self._events: list[Event] = []          # events of the command being run
        self._ts = 0                            # its timestamp
        for spec in books:
            self.add_instrument(spec)
        for spec in accounts:
            self.add_account(spec)

    # ------------------------------------------------------------ reference data

    def add_instrument(self, spec: BookSpec) -> int:
        self.books.append(_Book(spec))
        return len(self.books) - 1

    def add_account(self, spec: AccountSpec) -> int:
        self.accounts.append(spec)
        return len(self.accounts) - 1

    # ------------------------------------------------------------ the door

    def submit(self, cmd) -> list[Event]:
        """Run one command; returns the events it produced, in order."""
        self._events = []
        self._ts = cmd.ts
        if isinstance(cmd, NewOrder):
            self._new_order(cmd)
        elif isinstance(cmd, Cancel):
            self._cancel(cmd)
        elif isinstance(cmd, Replace):
            self._replace(cmd)
        elif isinstance(cmd, MassCancel):
            self._mass_cancel(cmd)
        elif isinstance(cmd, ExpireOrders):
            self._expire(cmd)
        else:
            raise TypeError(f"not a command: {cmd!r}")
        events, self._events = self._events, []
        return events

    # ------------------------------------------------------------ views

    def book_state(self, instrument: int) -> BookState:
        """L3 of both sides and both stop lists in priority order, and the last price."""
        book = self.books[instrument]
        return BookState(
            bids=[self._resting_view(o) for o in book.bids.orders()],
            asks=[self._resting_view(o) for o in book.asks.orders()],
            buy_stops=[self._stop_view(o) for o in book.buy_stops.orders()],
            sell_stops=[self._stop_view(o) for o in book.sell_stops.orders()],
            last_price=book.last_price,
        )

    def depth(self, instrument: int, n: int | None = None) -> Depth:
        """L2: up to `n` levels per side (all if None), best first, shown quantities."""
        book = self.books[instrument]

        def levels(ladder: _Ladder) -> list[Level]:
            out = [Level(price, sum(o.shown for o in queue), len(queue))
                   for price, queue in ladder.best_first()]
            return out if n is None else out[:n]

        return Depth(bids=levels(book.bids), asks=levels(book.asks))

    def top(self, instrument: int) -> TopOfBook:
        """L1: the best level of each side, shown quantity (0 and None when empty)."""
        d = self.depth(instrument, 1)
        bid = d.bids[0] if d.bids else None
        ask = d.asks[0] if d.asks else None
        return TopOfBook(bid_price=bid.price if bid else None, bid_qty=bid.qty if bid else 0,
                         ask_price=ask.price if ask else None, ask_qty=ask.qty if ask else 0)

    @staticmethod
    def _resting_view(o: _Order) -> RestingOrder:
        return RestingOrder(order_id=o.order_id, account=o.account, side=Side(o.side),
                            price=o.price, qty=o.shown, hidden=o.hidden, cum=o.cum,
                            tif=TimeInForce(o.tif), display_qty=o.display)

    @staticmethod
    def _stop_view(o: _Order) -> StopOrder:
        return StopOrder(order_id=o.order_id, account=o.account, side=Side(o.side),
                         ord_type=OrdType(o.ord_type), stop_price=o.stop_price, price=o.price,
                         qty=o.leaves, cum=o.cum, tif=TimeInForce(o.tif))

    # ------------------------------------------------------------ events

    def _emit(self, cls: type[Event], **fields) -> None:
        """Append one event with the next engine sequence number and the command's ts."""
        self.seq += 1
        self._events.append(cls(seq=self.seq, ts=self._ts, **fields))

    def _reject(self, order_id: int, instrument: int, account: int, command: CommandKind,
                reason: ReasonCode) -> None:
        self._emit(Rejected, order_id=order_id, instrument=instrument, account=account,
                   command=command, reason=reason)

    def _emit_cancelled(self, o: _Order, cause: CancelCause, qty: int) -> None:
        self._emit(Cancelled, order_id=o.order_id, instrument=o.instrument, account=o.account,
                   cause=cause, qty=qty, cum=o.cum)

    def _emit_reduced(self, o: _Order, qty: int) -> None:
        """A self-trade prevention decrement; `o` already has its new leaves."""
        self._emit(Reduced, order_id=o.order_id, instrument=o.instrument, account=o.account,
                   cause=CancelCause.SELF_TRADE, qty=qty, leaves=o.leaves, cum=o.cum)

    # ------------------------------------------------------------ validation helpers

    def _instrument_exists(self, b: int) -> bool:
        return 0 <= b < len(self.books)

    def _account_exists(self, a: int) -> bool:
        return 0 <= a < len(self.accounts)

    @staticmethod
    def _check_price(book: _Book, price: int) -> ReasonCode | None:
        """A limit or stop price: positive and inside the band (bounds inclusive)."""
        if price <= 0:
            return ReasonCode.PRICE_NOT_POSITIVE
        if book.band_lo is not None and price < book.band_lo:
            return ReasonCode.OUTSIDE_PRICE_BAND
        if book.band_hi is not None and price > book.band_hi:
            return ReasonCode.OUTSIDE_PRICE_BAND
        return None

    @staticmethod
    def _post_only_would_cross(book: _Book, side: int, price: int) -> bool:
        """Does a limit price meet the opposite best price? Equal counts as meeting."""
        best = book.opposite(side).best()
        return best is not None and _crosses(side, price, best[0])

    def _check_new(self, cmd: NewOrder) -> ReasonCode | None:
        """The first validation failure of a new order (MATCHING.md, step 1), or None.

        The instrument was checked by the caller.
        """
        book = self.books[cmd.instrument]
        if not self._account_exists(cmd.account):
            return ReasonCode.INVALID_ACCOUNT
        if cmd.side not in _SIDES:
            return ReasonCode.INVALID_SIDE
        if cmd.ord_type not in _ORD_TYPES:
            return ReasonCode.INVALID_ORD_TYPE
        if cmd.tif not in _TIFS:
            return ReasonCode.INVALID_TIF
        if cmd.qty <= 0:
            return ReasonCode.QTY_NOT_POSITIVE
        if cmd.qty > MAX_QTY:
            return ReasonCode.QTY_TOO_LARGE
        if cmd.qty % book.lot != 0:
            return ReasonCode.OFF_LOT
        if cmd.ord_type in (OrdType.LIMIT, OrdType.STOP_LIMIT):
            reason = self._check_price(book, cmd.price)
            if reason is not None:
                return reason
        if cmd.ord_type in (OrdType.STOP, OrdType.STOP_LIMIT):
            reason = self._check_price(book, cmd.stop_price)
            if reason is not None:
                return reason
        if not book.within_span(
                cmd.price if cmd.ord_type in (OrdType.LIMIT, OrdType.STOP_LIMIT) else 0,
                cmd.stop_price if cmd.ord_type in (OrdType.STOP, OrdType.STOP_LIMIT) else 0):
            return ReasonCode.PRICE_OUT_OF_RANGE
        resting_limit = cmd.ord_type == OrdType.LIMIT and cmd.tif in _RESTING_TIFS
        if cmd.flags & ~_KNOWN_FLAGS:
            return ReasonCode.INVALID_COMBINATION
        if cmd.flags & OrderFlags.POST_ONLY and not resting_limit:
            return ReasonCode.INVALID_COMBINATION
        if cmd.display_qty != 0:            # 0: not an iceberg, nothing to check
            if (cmd.display_qty < 0 or cmd.display_qty % book.lot != 0
                    or cmd.display_qty * MAX_PARTS < cmd.qty):   # at most 1000 parts
                return ReasonCode.INVALID_DISPLAY_QTY
            if not resting_limit:
                return ReasonCode.INVALID_COMBINATION
        if cmd.order_id in self.used_ids:
            return ReasonCode.DUPLICATE_ORDER_ID
        if cmd.flags & OrderFlags.POST_ONLY and self._post_only_would_cross(
                book, cmd.side, cmd.price):
            return ReasonCode.POST_ONLY_WOULD_CROSS
        return None

    def _lookup(self, order_id: int, instrument: int, account: int,
                side: int) -> tuple[_Order | None, ReasonCode | None]:
        """The live order a cancel or replace addresses, or the reason it cannot.

        Only -1 (instrument, account) and 0 (side) mean "not given"; any other
        value is a check the order must pass.
        """
        order = self.live.get(order_id)
        if order is None:
            reason = (ReasonCode.TOO_LATE if order_id in self.used_ids
                      else ReasonCode.UNKNOWN_ORDER)
            return None, reason
        if instrument != NOT_GIVEN and instrument != order.instrument:
            return None, ReasonCode.INSTRUMENT_MISMATCH
        if account != NOT_GIVEN and account != order.account:
            return None, ReasonCode.ACCOUNT_MISMATCH
        if side != ANY_SIDE and side != order.side:
            return None, ReasonCode.SIDE_MISMATCH
        return order, None

    # ------------------------------------------------------------ new order

    def _new_order(self, cmd: NewOrder) -> None:
        if not self._instrument_exists(cmd.instrument):
            self._reject(cmd.order_id, cmd.instrument, cmd.account, CommandKind.NEW,
                         ReasonCode.UNKNOWN_INSTRUMENT)
            return
        reason = self._check_new(cmd)
        if reason is not None:
            self._reject(cmd.order_id, cmd.instrument, cmd.account, CommandKind.NEW, reason)
            return
        order = _Order(
            order_id=cmd.order_id, instrument=cmd.instrument, account=cmd.account,
            side=int(cmd.side), ord_type=int(cmd.ord_type), tif=int(cmd.tif),
            flags=cmd.flags,
            # A price means something only for limit and stop-limit orders, a stop
            # price only for stops; otherwise they are 0, in events and views alike.
            price=cmd.price if cmd.ord_type in (OrdType.LIMIT, OrdType.STOP_LIMIT) else 0,
            stop_price=cmd.stop_price if cmd.ord_type in (OrdType.STOP,
                                                          OrdType.STOP_LIMIT) else 0,
            display=cmd.display_qty, shown=cmd.qty)
        self.used_ids.add(order.order_id)      # taken for ever, even once the order is done
        self.live[order.order_id] = order
        self.books[order.instrument].note_prices(order.price, order.stop_price)
        self._emit(Accepted, order_id=order.order_id, instrument=order.instrument,
                   account=order.account, side=Side(order.side),
                   ord_type=OrdType(order.ord_type), tif=TimeInForce(order.tif),
                   flags=order.flags, price=order.price, stop_price=order.stop_price,
                   qty=cmd.qty, display_qty=cmd.display_qty)
        self._enter(order)

    def _enter(self, order: _Order) -> None:
        """A live order not in any list (new, or replaced to the back) goes in:
        a stop is filed (or triggers at once), anything else aggresses; then
        the stops its trades triggered run."""
        book = self.books[order.instrument]
        triggered: deque[_Order] = deque()
        if order.is_stop:
            self._file_stop(book, order, triggered)
            traded = None
        else:
            traded = self._aggress(order)
        self._run_stops(book, triggered, traded)

    # ------------------------------------------------------------ aggressing

    @staticmethod
    def _limit(book: _Book, order: _Order) -> int | None:
        """The aggressor's limit: its price, or the band edge for market orders
        (None, no limit, when that edge of the band is not set)."""
        if order.has_limit_price:
            return order.price
        return book.band_hi if order.side == Side.BUY else book.band_lo

    def _stp_applies(self, aggressor: _Order, resting: _Order) -> bool:
        """Self-trade prevention: the aggressor's account has a mode and the
        resting order's account is in its STP group."""
        if self.accounts[aggressor.account].stp_mode == StpMode.NONE:
            return False
        return self._stp_group(aggressor.account) == self._stp_group(resting.account)

    def _stp_group(self, account: int):
        """An account without an explicit group is a group of its own; the tuple
        cannot equal any explicit (integer) group."""
        group = self.accounts[account].stp_group
        return ("own", account) if group is None else group

    def _fok_fillable(self, book: _Book, order: _Order, limit: int | None) -> bool:
        """Could `order` fill completely right now? Walk the opposite levels from
        the best within the limit, counting shown and hidden quantity; a level
        holding an order of the aggressor's STP group (with STP on) says no."""
        stp_on = self.accounts[order.account].stp_mode != StpMode.NONE
        need = order.leaves
        for price, queue in book.opposite(order.side).best_first():
            if not _crosses(order.side, limit, price):
                return False
            if stp_on and any(self._stp_group(r.account) == self._stp_group(order.account)
                              for r in queue):
                return False
            need -= sum(r.leaves for r in queue)
            if need <= 0:
                return True
        return False

    def _aggress(self, order: _Order) -> tuple[int, int] | None:
        """Run `order` (live, in no list) against the book, then finish, cancel
        or rest it. Returns (lowest, highest) trade price, None if no trade."""
        book = self.books[order.instrument]
        limit = self._limit(book, order)
        if order.tif == TimeInForce.FOK and not self._fok_fillable(book, order, limit):
            self._emit_cancelled(order, CancelCause.FOK_KILL, order.leaves)
            self._finish(order)
            return None
        prices: list[int] = []
        stopped_by_stp = self._match(book, order, limit, prices)
        traded = (min(prices), max(prices)) if prices else None
        if stopped_by_stp:
            return traded                        # already cancelled and finished
        if order.leaves == 0:
            self._finish(order)
        elif (order.tif in (TimeInForce.IOC, TimeInForce.FOK)
              or order.ord_type in (OrdType.MARKET, OrdType.STOP)):
            self._emit_cancelled(order, CancelCause.IOC_REMAINDER, order.leaves)
            self._finish(order)
        else:
            self._rest(book, order)
        return traded

    def _match(self, book: _Book, order: _Order, limit: int | None,
               prices: list[int]) -> bool:
        """Trade `order` against the opposite side, best level first, FIFO within.

        The aggressor always meets the front of the best level's queue: every
        step either ends the aggressor or takes that front order out of the way
        (filled, cancelled by STP, or sent to the back as a refreshed iceberg).
        Appends each trade price to `prices`. Returns True when self-trade
        prevention ended the aggressor.
        """
        opposite = book.opposite(order.side)
        while order.shown > 0:
            best = opposite.best()
            if best is None:
                break
            price, queue = best
            if not _crosses(order.side, limit, price):
                break
            resting = queue[0]
            if self._stp_applies(order, resting):
                if self._prevent_self_trade(book, order, resting):
                    return True
                continue
            self._trade(book, order, resting, price)
            prices.append(price)
            if resting.shown == 0:
                if resting.hidden > 0:
                    self._refresh_iceberg(queue, resting)
                else:
                    opposite.remove(price, resting)
                    self._finish(resting)
        return False

    def _trade(self, book: _Book, aggressor: _Order, resting: _Order, price: int) -> None:
        """Fill min(aggressor open, resting shown) at the resting order's price."""
        qty = min(aggressor.shown, resting.shown)
        aggressor.shown -= qty
        aggressor.cum += qty
        resting.shown -= qty
        resting.cum += qty
        buy, sell = (aggressor, resting) if aggressor.side == Side.BUY else (resting, aggressor)
        self.trade_id += 1
        self._emit(Trade, trade_id=self.trade_id, instrument=aggressor.instrument,
                   price=price, qty=qty, aggressor=Side(aggressor.side),
                   buy_order_id=buy.order_id, sell_order_id=sell.order_id,
                   buy_account=buy.account, sell_account=sell.account,
                   buy_leaves=buy.leaves, buy_cum=buy.cum,
                   sell_leaves=sell.leaves, sell_cum=sell.cum)
        book.last_price = price

    @staticmethod
    def _refresh_iceberg(queue: deque, resting: _Order) -> None:
        """Show the next part of an iceberg and send it to the back of its level
        (it is at the front: it just traded there)."""
        part = min(resting.display, resting.hidden)
        resting.hidden -= part
        resting.shown = part
        assert queue[0] is resting
        queue.popleft()
        queue.append(resting)

    def _prevent_self_trade(self, book: _Book, aggressor: _Order, resting: _Order) -> bool:
        """Apply the aggressor's STP mode (events for the resting order first).
        Returns True when the aggressor is ended (cancelled and finished)."""
        mode = self.accounts[aggressor.account].stp_mode
        a = aggressor.leaves
        r = resting.leaves
        if mode == StpMode.CANCEL_AGGRESSOR:
            self._cancel_aggressor_stp(aggressor, a)
            return True
        if mode == StpMode.CANCEL_RESTING:
            self._cancel_resting_stp(book, resting, r)
            return False
        if mode == StpMode.CANCEL_BOTH:
            self._cancel_resting_stp(book, resting, r)
            self._cancel_aggressor_stp(aggressor, a)
            return True
        if mode == StpMode.DECREMENT:
            if a < r:
                self._take_from_resting(resting, a)      # keeps its place
                self._emit_reduced(resting, a)
                self._cancel_aggressor_stp(aggressor, a)
                return True
            if a > r:
                self._cancel_resting_stp(book, resting, r)
                aggressor.shown -= r                     # an aggressor hides nothing
                self._emit_reduced(aggressor, r)
                return False
            self._cancel_resting_stp(book, resting, r)
            self._cancel_aggressor_stp(aggressor, a)
            return True
        raise ValueError(f"unknown STP mode {mode!r}")

    def _cancel_resting_stp(self, book: _Book, resting: _Order, qty: int) -> None:
        self._emit_cancelled(resting, CancelCause.SELF_TRADE, qty)
        book.side(resting.side).remove(resting.price, resting)
        self._finish(resting)

    def _cancel_aggressor_stp(self, aggressor: _Order, qty: int) -> None:
        self._emit_cancelled(aggressor, CancelCause.SELF_TRADE, qty)
        self._finish(aggressor)

    @staticmethod
    def _take_from_resting(order: _Order, amount: int) -> None:
        """Reduce a resting order's open quantity by `amount` (< leaves) in place:
        the hidden part of an iceberg goes first, then the shown part."""
        from_hidden = min(amount, order.hidden)
        order.hidden -= from_hidden
        order.shown -= amount - from_hidden

    def _rest(self, book: _Book, order: _Order) -> None:
        """Put the open quantity at the back of its price level; an iceberg shows
        min(display, open) and hides the rest."""
        leaves = order.leaves
        order.shown = min(order.display, leaves) if order.display > 0 else leaves
        order.hidden = leaves - order.shown
        book.side(order.side).append(order.price, order)

    def _finish(self, order: _Order) -> None:
        """The order is done; its id stays in `used_ids` for ever."""
        del self.live[order.order_id]

    # ------------------------------------------------------------ stops

    @staticmethod
    def _reached(side: int, stop_price: int, last_price: int) -> bool:
        """Has a trade at `last_price` reached the stop? No trade yet (0): no."""
        if last_price <= 0:
            return False
        return last_price >= stop_price if side == Side.BUY else last_price <= stop_price

    def _file_stop(self, book: _Book, order: _Order, triggered: deque) -> None:
        """An untriggered stop goes to the back of its stop price in its list,
        or straight into the trigger queue if the last trade already reached it."""
        if self._reached(order.side, order.stop_price, book.last_price):
            triggered.append(order)
        else:
            book.stops(order.side).append(order.stop_price, order)

    @staticmethod
    def _collect_triggered(book: _Book, triggered: deque, traded: tuple[int, int] | None):
        """Move the stops reached by one aggression's trades (prices lo..hi) to
        the back of the trigger queue: buy stops with stop <= hi lowest first,
        then sell stops with stop >= lo highest first, FIFO within a price."""
        if traded is None:
            return
        lo, hi = traded
        for ladder, reached in ((book.buy_stops, lambda sp: sp <= hi),
                                (book.sell_stops, lambda sp: sp >= lo)):
            for stop_price, queue in ladder.best_first():
                if not reached(stop_price):
                    break               # best first: no later level is reached either
                for order in list(queue):
                    ladder.remove(stop_price, order)
                    triggered.append(order)

    def _run_stops(self, book: _Book, triggered: deque, traded: tuple[int, int] | None):
        """Run the trigger queue to the end: each stop's own trades queue further
        stops behind those already waiting (cascades)."""
        self._collect_triggered(book, triggered, traded)
        while triggered:
            order = triggered.popleft()
            self._emit(StopTriggered, order_id=order.order_id, instrument=order.instrument,
                       account=order.account, last_price=book.last_price)
            # A stop becomes a market order, a stop-limit a limit order; neither
            # is a stop any more.
            order.ord_type = (OrdType.MARKET if order.ord_type == OrdType.STOP
                              else OrdType.LIMIT)
            order.stop_price = 0
            traded = self._aggress(order)
            self._collect_triggered(book, triggered, traded)

    # ------------------------------------------------------------ cancel

    def _cancel(self, cmd: Cancel) -> None:
        if cmd.instrument != NOT_GIVEN and not self._instrument_exists(cmd.instrument):
            self._reject(cmd.order_id, cmd.instrument, cmd.account, CommandKind.CANCEL,
                         ReasonCode.UNKNOWN_INSTRUMENT)
            return
        order, reason = self._lookup(cmd.order_id, cmd.instrument, cmd.account, ANY_SIDE)
        if reason is not None:
            self._reject(cmd.order_id, cmd.instrument, cmd.account, CommandKind.CANCEL, reason)
            return
        self._emit_cancelled(order, CancelCause.REQUEST, order.leaves)
        self._unlist(order)
        self._finish(order)

    def _unlist(self, order: _Order) -> None:
        """Take a live order out of its level or its stop list."""
        book = self.books[order.instrument]
        if order.is_stop:
            book.stops(order.side).remove(order.stop_price, order)
        else:
            book.side(order.side).remove(order.price, order)

    # ------------------------------------------------------------ replace

    def _check_replace(self, order: _Order, cmd: Replace) -> ReasonCode | None:
        """Validation of a replace past the lookup, or None."""
        book = self.books[order.instrument]
        if order.has_limit_price:
            reason = self._check_price(book, cmd.price)
            if reason is not None:
                return reason
        if order.is_stop and cmd.stop_price != 0:
            reason = self._check_price(book, cmd.stop_price)
            if reason is not None:
                return reason
        if not book.within_span(cmd.price if order.has_limit_price else 0,
                                cmd.stop_price if order.is_stop else 0):
            return ReasonCode.PRICE_OUT_OF_RANGE
        if cmd.qty <= 0:
            return ReasonCode.QTY_NOT_POSITIVE
        if cmd.qty > MAX_QTY:
            return ReasonCode.QTY_TOO_LARGE
        if cmd.qty % book.lot != 0:
            return ReasonCode.OFF_LOT
        if order.display > 0 and order.display * MAX_PARTS < cmd.qty:
            return ReasonCode.INVALID_DISPLAY_QTY
        if order.flags & OrderFlags.POST_ONLY and self._post_only_would_cross(
                book, order.side, cmd.price):
            return ReasonCode.POST_ONLY_WOULD_CROSS
        return None

    def _replace(self, cmd: Replace) -> None:
        if cmd.instrument != NOT_GIVEN and not self._instrument_exists(cmd.instrument):
            self._reject(cmd.order_id, cmd.instrument, cmd.account, CommandKind.REPLACE,
                         ReasonCode.UNKNOWN_INSTRUMENT)
            return
        order, reason = self._lookup(cmd.order_id, cmd.instrument, cmd.account, cmd.side)
        if reason is not None:
            self._reject(cmd.order_id, cmd.instrument, cmd.account, CommandKind.REPLACE,
                         reason)
            return
        reason = self._check_replace(order, cmd)
        if reason is not None:
            # Past the lookup the order is known: the reject names its instrument
            # and account (as the numba engine does), not the command's.
            self._reject(cmd.order_id, order.instrument, order.account, CommandKind.REPLACE,
                         reason)
            return

        new_price = cmd.price if order.has_limit_price else 0   # a stop's price is ignored
        if order.is_stop:
            new_stop = cmd.stop_price if cmd.stop_price != 0 else order.stop_price
        else:
            new_stop = 0
        old_leaves = order.leaves
        new_leaves = cmd.qty - order.cum
        keep = (new_price == order.price and new_stop == order.stop_price
                and new_leaves <= old_leaves)
        self.books[order.instrument].note_prices(new_price, new_stop)
        self._emit(Replaced, order_id=order.order_id, instrument=order.instrument,
                   account=order.account, price=new_price, stop_price=new_stop, qty=cmd.qty,
                   leaves=max(new_leaves, 0), cum=order.cum,
                   kept_priority=keep and new_leaves > 0)

        if new_leaves <= 0:                 # already filled up to the new total: done
            self._unlist(order)
            self._finish(order)
        elif keep:                          # smaller (or same) in place, hidden part first
            self._take_from_resting(order, old_leaves - new_leaves)
        else:                               # to the back, as if new with its new values
            self._unlist(order)
            order.price = new_price
            order.stop_price = new_stop
            order.shown = new_leaves
            order.hidden = 0
            self._enter(order)

    # ------------------------------------------------------------ mass cancel, expiry

    def _instrument_range(self, instrument: int) -> range:
        return range(len(self.books)) if instrument == NOT_GIVEN else range(instrument,
                                                                            instrument + 1)

    def _mass_cancel(self, cmd: MassCancel) -> None:
        if not (cmd.instrument == NOT_GIVEN or self._instrument_exists(cmd.instrument)):
            self._reject(cmd.request_id, cmd.instrument, cmd.account,
                         CommandKind.MASS_CANCEL, ReasonCode.UNKNOWN_INSTRUMENT)
            return
        count = 0
        for b in self._instrument_range(cmd.instrument):
            for order in self.books[b].sweep_order():
                if cmd.account != NOT_GIVEN and order.account != cmd.account:
                    continue
                if cmd.side != ANY_SIDE and order.side != cmd.side:
                    continue
                self._emit_cancelled(order, CancelCause.MASS_CANCEL, order.leaves)
                self._unlist(order)
                self._finish(order)
                count += 1
        self._emit(MassCancelled, request_id=cmd.request_id, instrument=cmd.instrument,
                   account=cmd.account, side=cmd.side, count=count)

    def _expire(self, cmd: ExpireOrders) -> None:
        if not (cmd.instrument == NOT_GIVEN or self._instrument_exists(cmd.instrument)):
            self._reject(0, cmd.instrument, NOT_GIVEN, CommandKind.EXPIRE,
                         ReasonCode.UNKNOWN_INSTRUMENT)
            return
        for b in self._instrument_range(cmd.instrument):
            for order in self.books[b].sweep_order():
                if order.tif != TimeInForce.DAY:
                    continue
                self._emit(Expired, order_id=order.order_id, instrument=order.instrument,
                           account=order.account, qty=order.leaves, cum=order.cum)
                self._unlist(order)
                self._finish(order)
