"""Array layouts of the book and the integer constants the kernels compile in.

All prices are int64 ticks and all quantities int64 units; indexes into the
pools are int32. The constants are plain module-level ints so that numba
treats them as compile-time constants.
"""
import numpy as np

from .enums import CancelCause, CommandKind, OrderFlags, OrdType, StpMode, TimeInForce
from .events import (ROW_WIDTH, Accepted, Cancelled, EventKind, Expired, MassCancelled,
                     Reduced, Rejected, Replaced, StopTriggered, Trade, col)
from .reasons import ReasonCode

# --- the order pool: one record per live order, linked into its level's FIFO ---
ORDER_DTYPE = np.dtype([
    ("order_id", np.int64),
    ("price", np.int64),        # limit price (ticks); 0 for market and stop orders
    ("stop_price", np.int64),   # trigger price of a stop until it triggers
    ("qty", np.int64),          # displayed open quantity (all of it unless iceberg)
    ("hidden", np.int64),       # iceberg reserve, not shown
    ("display", np.int64),      # iceberg refresh size; 0: not an iceberg
    ("cum", np.int64),          # filled so far
    ("next", np.int32),         # FIFO links within the level; free list uses `next`
    ("prev", np.int32),
    ("level", np.int32),        # level slot holding the order, -1 if none
    ("account", np.int32),
    ("instrument", np.int32),
    ("side", np.int8),          # +1 buy, -1 sell
    ("ord_type", np.int8),
    ("tif", np.int8),
    ("flags", np.int8),
], align=True)

# --- price levels: a FIFO of orders at one price, on one side of one book ---
LEVEL_DTYPE = np.dtype([
    ("price", np.int64),
    ("qty", np.int64),          # sum of displayed qty in the queue
    ("hidden", np.int64),       # sum of hidden qty in the queue
    ("head", np.int32),         # first order in time priority; free list link
    ("tail", np.int32),
    ("count", np.int32),
    ("ladder", np.int32),       # the ladder (book side) it stands on
], align=True)

# --- per book (instrument) ---
BOOK_DTYPE = np.dtype([
    ("lot", np.int64),          # quantities must be multiples of this
    ("band_lo", np.int64),      # price band in ticks; 0 / INT64_MAX when none
    ("band_hi", np.int64),
    ("last_price", np.int64),   # last trade price, 0 before the first trade
    ("n_resting", np.int64),    # orders in bid/ask levels
    ("n_stops", np.int64),      # untriggered stop orders
    ("ice", np.int64),          # sum over resting icebergs of hidden // display
    ("lo_price", np.int64),     # lowest / highest limit or stop price accepted so
    ("hi_price", np.int64),     # far (0: none); bounds the book's price range
], align=True)

# --- price ladders: per book side, one rung per tick holding a level slot ---
LADDER_DTYPE = np.dtype([
    ("offset", np.int64),       # where its rungs start in the rungs array
    ("width", np.int64),        # number of rungs (ticks covered)
    ("base", np.int64),         # price of rung 0
    ("best", np.int64),         # best price with a level; 0 when empty
    ("count", np.int64),        # levels on the ladder
], align=True)
NO_LEVEL = -1                   # an empty rung
MAX_SPAN = 1 << 22              # ticks between a book's lowest and highest price
MAX_QTY = 10 ** 12              # per order; keeps every sum of quantities in int64
MAX_PARTS = 1000                # an iceberg shows at least 1/MAX_PARTS of its quantity

ACCOUNT_DTYPE = np.dtype([
    ("stp_mode", np.int64),
    ("stp_group", np.int64),
], align=True)

# --- order-id index: open addressing, linear probing; ids are never removed ---
ID_DTYPE = np.dtype([("key", np.int64), ("slot", np.int32)], align=False)
ID_EMPTY = -1    # slot value of a free table entry
ID_DONE = -2     # slot values <= ID_DONE: the id's order is finished (the id is never
                 # reusable); ID_DONE - value is the slot it had. The slot's record
                 # stays readable until a later command reuses it, so the layers
                 # following a command's events can still read a finished order.

# --- the batch door's command records ---
COMMAND_DTYPE = np.dtype([
    ("order_id", np.int64),     # request id for a mass cancel
    ("price", np.int64),
    ("stop_price", np.int64),
    ("qty", np.int64),
    ("display_qty", np.int64),
    ("ts", np.int64),
    ("instrument", np.int32),
    ("account", np.int32),
    ("kind", np.int8),
    ("side", np.int8),
    ("ord_type", np.int8),
    ("tif", np.int8),
    ("flags", np.int8),
], align=True)

# Four ladders per book. Better is higher for bids and sell stops (the highest
# sell stop triggers first as prices fall), lower for asks and buy stops.
LAD_BIDS, LAD_ASKS, LAD_BUY_STOPS, LAD_SELL_STOPS = 0, 1, 2, 3
LADDERS_PER_BOOK = 4

# --- counters (an int64 array) ---
C_SEQ = 0           # last event sequence number
C_TRADE = 1         # last trade id
C_FREE_ORDER = 2    # head of the order free list
C_NFREE_ORDER = 3
C_FREE_LEVEL = 4
C_NFREE_LEVEL = 5
C_IDS = 6           # entries used in the id table
C_NEV = 7           # rows used in the event buffer
C_LIVE = 8          # resting + untriggered stop orders, all books
C_TQ_HEAD = 9       # stop orders triggered, waiting to run (linked by `next`)
C_TQ_TAIL = 10
C_TMIN = 11         # lowest / highest trade price of the current step
C_TMAX = 12
C_NEED = 13         # NEED_EVENTS: rows needed; NEED_LADDER: the ladder to widen
C_NEED_PRICE = 14   # NEED_LADDER: the price it must cover
N_COUNTERS = 16

# --- kernel status codes (negative: nothing was changed, grow and retry) ---
OK = 0
NEED_EVENTS = -1
NEED_ORDERS = -2
NEED_LEVELS = -3
NEED_LADDER = -4
NEED_IDS = -5

INT64_MAX = np.iinfo(np.int64).max

# enum values as plain ints for the kernels
BUY, SELL = 1, -1
LIMIT, MARKET, STOP, STOP_LIMIT = (int(OrdType.LIMIT), int(OrdType.MARKET),
                                   int(OrdType.STOP), int(OrdType.STOP_LIMIT))
DAY, GTC, IOC, FOK = (int(TimeInForce.DAY), int(TimeInForce.GTC),
                      int(TimeInForce.IOC), int(TimeInForce.FOK))
POST_ONLY = int(OrderFlags.POST_ONLY)
KNOWN_FLAGS = int(OrderFlags.POST_ONLY | OrderFlags.SHORT_SALE | OrderFlags.SHORT_EXEMPT)
STP_NONE, STP_CANCEL_AGGRESSOR, STP_CANCEL_RESTING, STP_CANCEL_BOTH, STP_DECREMENT = (
    int(StpMode.NONE), int(StpMode.CANCEL_AGGRESSOR), int(StpMode.CANCEL_RESTING),
    int(StpMode.CANCEL_BOTH), int(StpMode.DECREMENT))
CMD_NEW, CMD_CANCEL, CMD_REPLACE, CMD_MASS_CANCEL, CMD_EXPIRE = (
    int(CommandKind.NEW), int(CommandKind.CANCEL), int(CommandKind.REPLACE),
    int(CommandKind.MASS_CANCEL), int(CommandKind.EXPIRE))
CAUSE_REQUEST, CAUSE_IOC, CAUSE_FOK, CAUSE_STP, CAUSE_MASS = (
    int(CancelCause.REQUEST), int(CancelCause.IOC_REMAINDER), int(CancelCause.FOK_KILL),
    int(CancelCause.SELF_TRADE), int(CancelCause.MASS_CANCEL))

R = ReasonCode
R_UNKNOWN_INSTRUMENT = int(R.UNKNOWN_INSTRUMENT)
R_INVALID_ACCOUNT = int(R.INVALID_ACCOUNT)
R_INVALID_SIDE = int(R.INVALID_SIDE)
R_INVALID_ORD_TYPE = int(R.INVALID_ORD_TYPE)
R_INVALID_TIF = int(R.INVALID_TIF)
R_QTY_NOT_POSITIVE = int(R.QTY_NOT_POSITIVE)
R_QTY_TOO_LARGE = int(R.QTY_TOO_LARGE)
R_OFF_LOT = int(R.OFF_LOT)
R_PRICE_NOT_POSITIVE = int(R.PRICE_NOT_POSITIVE)
R_OUTSIDE_PRICE_BAND = int(R.OUTSIDE_PRICE_BAND)
R_PRICE_OUT_OF_RANGE = int(R.PRICE_OUT_OF_RANGE)
R_INVALID_DISPLAY_QTY = int(R.INVALID_DISPLAY_QTY)
R_INVALID_COMBINATION = int(R.INVALID_COMBINATION)
R_DUPLICATE_ORDER_ID = int(R.DUPLICATE_ORDER_ID)
R_UNKNOWN_ORDER = int(R.UNKNOWN_ORDER)
R_TOO_LATE = int(R.TOO_LATE)
R_POST_ONLY_WOULD_CROSS = int(R.POST_ONLY_WOULD_CROSS)
R_INSTRUMENT_MISMATCH = int(R.INSTRUMENT_MISMATCH)
R_ACCOUNT_MISMATCH = int(R.ACCOUNT_MISMATCH)
R_SIDE_MISMATCH = int(R.SIDE_MISMATCH)

# --- event rows: kinds and columns, derived from the event structs ---
EV_WIDTH = ROW_WIDTH
EV_KIND, EV_SEQ, EV_TS = 0, 1, 2
EV_ACCEPTED, EV_REJECTED, EV_TRADE, EV_CANCELLED, EV_REDUCED, EV_REPLACED, \
    EV_STOP_TRIGGERED, EV_EXPIRED, EV_MASS_CANCELLED = (int(k) for k in EventKind)

AC_ORDER_ID, AC_INSTRUMENT, AC_ACCOUNT, AC_SIDE, AC_ORD_TYPE, AC_TIF, AC_FLAGS, AC_PRICE, \
    AC_STOP_PRICE, AC_QTY, AC_DISPLAY = (col(Accepted, f) for f in (
        "order_id", "instrument", "account", "side", "ord_type", "tif", "flags", "price",
        "stop_price", "qty", "display_qty"))
RJ_LIMIT, RJ_VALUE = col(Rejected, "limit"), col(Rejected, "value")
RJ_ORDER_ID, RJ_INSTRUMENT, RJ_ACCOUNT, RJ_COMMAND, RJ_REASON = (col(Rejected, f) for f in (
    "order_id", "instrument", "account", "command", "reason"))
TR_TRADE_ID, TR_INSTRUMENT, TR_PRICE, TR_QTY, TR_AGGRESSOR, TR_BUY_ID, TR_SELL_ID, \
    TR_BUY_ACCOUNT, TR_SELL_ACCOUNT, TR_BUY_LEAVES, TR_BUY_CUM, TR_SELL_LEAVES, \
    TR_SELL_CUM = (col(Trade, f) for f in (
        "trade_id", "instrument", "price", "qty", "aggressor", "buy_order_id",
        "sell_order_id", "buy_account", "sell_account", "buy_leaves", "buy_cum",
        "sell_leaves", "sell_cum"))
CX_ORDER_ID, CX_INSTRUMENT, CX_ACCOUNT, CX_CAUSE, CX_QTY, CX_CUM = (col(Cancelled, f) for f in (
    "order_id", "instrument", "account", "cause", "qty", "cum"))
RD_ORDER_ID, RD_INSTRUMENT, RD_ACCOUNT, RD_CAUSE, RD_QTY, RD_LEAVES, RD_CUM = (
    col(Reduced, f) for f in ("order_id", "instrument", "account", "cause", "qty", "leaves", "cum"))
RP_ORDER_ID, RP_INSTRUMENT, RP_ACCOUNT, RP_PRICE, RP_STOP_PRICE, RP_QTY, RP_LEAVES, RP_CUM, \
    RP_KEPT = (col(Replaced, f) for f in (
        "order_id", "instrument", "account", "price", "stop_price", "qty", "leaves", "cum",
        "kept_priority"))
ST_ORDER_ID, ST_INSTRUMENT, ST_ACCOUNT, ST_LAST_PRICE = (col(StopTriggered, f) for f in (
    "order_id", "instrument", "account", "last_price"))
EX_ORDER_ID, EX_INSTRUMENT, EX_ACCOUNT, EX_QTY, EX_CUM = (col(Expired, f) for f in (
    "order_id", "instrument", "account", "qty", "cum"))
MC_REQUEST_ID, MC_INSTRUMENT, MC_ACCOUNT, MC_SIDE, MC_COUNT = (col(MassCancelled, f) for f in (
    "request_id", "instrument", "account", "side", "count"))
