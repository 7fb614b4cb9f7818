"""One reason-code enum for every layer that can refuse something.

Ranges per layer, so a code says where it came from:

* 100-199  edge: parsing and field formats (CSV lines, FIX fields, config)
* 200-299  risk: pre-trade checks (reserved for the risk module)
* 300-399  engine: instrument rules and book state
* 400-499  gateway: FIX session and application layer (reserved)

The lower-snake-case name is the public spelling (``ReasonCode.OFF_TICK`` is
``off_tick`` in CSV reports); values never change once released.
"""
from enum import IntEnum


class ReasonCode(IntEnum):
    NONE = 0

    # edge
    BAD_DECIMAL = 100
    OFF_TICK = 101
    MISSING_FIELD = 102
    UNKNOWN_ACTION = 103
    UNKNOWN_SYMBOL = 104
    UNKNOWN_ACCOUNT = 105
    BAD_VALUE = 106
    BAD_INTEGER = 107

    # risk: pre-trade checks (risk/)
    MAX_ORDER_QTY = 200
    MAX_ORDER_NOTIONAL = 201
    PRICE_COLLAR = 202
    NO_REFERENCE_PRICE = 203
    CREDIT_LIMIT = 204
    POSITION_LIMIT = 205
    GROSS_POSITION_LIMIT = 206
    MAX_OPEN_ORDERS = 207
    RATE_LIMIT = 208
    RESTRICTED = 209
    SHORT_SALE = 210
    DAILY_LIMIT = 211
    ACCOUNT_HALTED = 212
    ACCOUNT_REDUCING = 213
    KILL_SWITCH = 214
    INSTRUMENT_HALTED = 215
    UNBOUNDED_MARKET_ORDER = 216

    # engine
    UNKNOWN_INSTRUMENT = 300
    INVALID_ACCOUNT = 301
    INVALID_SIDE = 302
    INVALID_ORD_TYPE = 303
    INVALID_TIF = 304
    QTY_NOT_POSITIVE = 305
    OFF_LOT = 306
    PRICE_NOT_POSITIVE = 307
    OUTSIDE_PRICE_BAND = 308
    INVALID_DISPLAY_QTY = 309
    INVALID_COMBINATION = 310
    DUPLICATE_ORDER_ID = 311
    UNKNOWN_ORDER = 312
    TOO_LATE = 313
    POST_ONLY_WOULD_CROSS = 314
    INSTRUMENT_MISMATCH = 315
    ACCOUNT_MISMATCH = 316
    SIDE_MISMATCH = 317
    PRICE_OUT_OF_RANGE = 318
    QTY_TOO_LARGE = 319

    @property
    def label(self) -> str:
        """The public spelling: ``off_tick``."""
        return self.name.lower()

    @property
    def layer(self) -> str:
        return _LAYERS[self.value // 100]

    @property
    def text(self) -> str:
        """A short human explanation, for FIX Text (58) and CLI messages."""
        return _TEXT.get(self, self.label.replace("_", " "))


_LAYERS = {0: "none", 1: "edge", 2: "risk", 3: "engine", 4: "gateway"}

_TEXT = {
    ReasonCode.UNKNOWN_INSTRUMENT: "unknown instrument",
    ReasonCode.INVALID_ACCOUNT: "unknown account",
    ReasonCode.QTY_NOT_POSITIVE: "quantity must be positive",
    ReasonCode.OFF_LOT: "quantity is not a multiple of the lot size",
    ReasonCode.PRICE_NOT_POSITIVE: "price must be positive",
    ReasonCode.OUTSIDE_PRICE_BAND: "price outside the instrument's price band",
    ReasonCode.INVALID_DISPLAY_QTY: ("display quantity must be a lot multiple of at least "
                                     "1/1000 of the order quantity"),
    ReasonCode.INVALID_COMBINATION: "order type, time in force and instructions do not go together",
    ReasonCode.DUPLICATE_ORDER_ID: "order id already used",
    ReasonCode.UNKNOWN_ORDER: "no such order",
    ReasonCode.TOO_LATE: "order already done",
    ReasonCode.POST_ONLY_WOULD_CROSS: "post-only order would trade on arrival",
    ReasonCode.INSTRUMENT_MISMATCH: "instrument differs from the order's",
    ReasonCode.ACCOUNT_MISMATCH: "account differs from the order's",
    ReasonCode.SIDE_MISMATCH: "side differs from the order's",
    ReasonCode.PRICE_OUT_OF_RANGE: "price too far from the instrument's other prices",
    ReasonCode.QTY_TOO_LARGE: "quantity above the engine's maximum of 10**12",
    ReasonCode.MAX_ORDER_QTY: "max order qty",
    ReasonCode.MAX_ORDER_NOTIONAL: "max order notional",
    ReasonCode.PRICE_COLLAR: "price collar",
    ReasonCode.NO_REFERENCE_PRICE: "no reference price for a market order",
    ReasonCode.CREDIT_LIMIT: "credit limit",
    ReasonCode.POSITION_LIMIT: "position limit",
    ReasonCode.GROSS_POSITION_LIMIT: "gross position limit",
    ReasonCode.MAX_OPEN_ORDERS: "max open orders",
    ReasonCode.RATE_LIMIT: "message rate limit (per second)",
    ReasonCode.RESTRICTED: "instrument restricted for this account",
    ReasonCode.SHORT_SALE: "short sale not allowed",
    ReasonCode.DAILY_LIMIT: "daily limit",
    ReasonCode.ACCOUNT_HALTED: "account halted",
    ReasonCode.ACCOUNT_REDUCING: "account may only reduce its position",
    ReasonCode.KILL_SWITCH: "kill switch on",
    ReasonCode.INSTRUMENT_HALTED: "instrument halted",
    ReasonCode.UNBOUNDED_MARKET_ORDER: ("market or stop order with no collar or price band "
                                        "to bound it, on an account with money limits"),
}
