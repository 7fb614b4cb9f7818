"""Read-only pictures of a book, the same from the numba book and the reference book.

L1 is the best price and shown quantity of each side, L2 the aggregated levels,
L3 every order in queue order. Quantities in L1/L2 are shown quantities: the
hidden part of an iceberg is not in the public book.
"""
from msgspec import Struct

from .enums import OrdType, Side, TimeInForce


class TopOfBook(Struct, frozen=True):
    bid_price: int | None
    bid_qty: int
    ask_price: int | None
    ask_qty: int


class Level(Struct, frozen=True):
    price: int
    qty: int        # shown quantity
    orders: int


class Depth(Struct, frozen=True):
    bids: list[Level]   # best first
    asks: list[Level]


class RestingOrder(Struct, frozen=True):
    order_id: int
    account: int
    side: Side
    price: int
    qty: int        # shown
    hidden: int
    cum: int
    tif: TimeInForce
    display_qty: int


class StopOrder(Struct, frozen=True):
    order_id: int
    account: int
    side: Side
    ord_type: OrdType
    stop_price: int
    price: int
    qty: int
    cum: int
    tif: TimeInForce


class BookState(Struct, frozen=True):
    """Everything live in one instrument, in priority order: bids and asks best
    level first and FIFO within a level; buy stops lowest stop price first,
    sell stops highest first, FIFO within a price."""
    bids: list[RestingOrder]
    asks: list[RestingOrder]
    buy_stops: list[StopOrder]
    sell_stops: list[StopOrder]
    last_price: int


def depth_from_state(state: BookState, n: int | None = None) -> Depth:
    """Aggregate L3 into L2 (n levels per side, all if None)."""
    def agg(orders):
        levels: list[Level] = []
        for o in orders:
            if levels and levels[-1].price == o.price:
                last = levels[-1]
                levels[-1] = Level(o.price, last.qty + o.qty, last.orders + 1)
            else:
                if n is not None and len(levels) == n:
                    break
                levels.append(Level(o.price, o.qty, 1))
        return levels
    return Depth(agg(state.bids), agg(state.asks))


def top_from_depth(depth: Depth) -> TopOfBook:
    b = depth.bids[0] if depth.bids else None
    a = depth.asks[0] if depth.asks else None
    return TopOfBook(b.price if b else None, b.qty if b else 0,
                     a.price if a else None, a.qty if a else 0)
