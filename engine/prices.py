"""Exact conversions between the decimal strings traders write and the
integers the engine holds.

Inside the engine a price is a whole number of ticks and a quantity a whole
number of units. These functions are the only door between the two worlds,
and they run once per CSV line or FIX message, so they use plain integer
arithmetic on the digits (no `decimal`, never a float: 0.1 + 0.2 is not 0.3).

A price that is not a whole multiple of the tick is refused, never rounded:
rounding would silently trade at a price nobody asked for.

Syntax is strict on purpose, so that what is accepted is unambiguous:
a price is ``-?[0-9]+(\\.[0-9]+)?`` (no exponent, sign '+', spaces,
underscores, "nan" or "inf"); a quantity is ``-?[0-9]+``. A leading '-' is
accepted and gives a negative count: deciding that a price must be positive is
the engine's job (``price_not_positive``), as is the lot check (``off_lot``),
so that both engine doors report those the same way.

Results must fit the engine's int64 fields; anything larger is refused as
out of range with the syntax reason (``bad_decimal`` / ``bad_integer``).
"""
from __future__ import annotations

from msgspec import Struct

from .reasons import ReasonCode

__all__ = ["PriceError", "Tick", "to_ticks", "format_ticks", "parse_qty", "check_lot",
           "INT64_MAX"]

INT64_MAX = (1 << 63) - 1
"""The largest tick count or quantity the engine can hold."""

# Length limits keep int() away from huge strings (it refuses more than
# sys.get_int_max_str_digits() anyway). A tick has at most 40 digits, so a
# price whose value times 10**scale has more than 60 digits is more than
# INT64_MAX ticks.
_MAX_TICK_DIGITS = 40
_MAX_SCALED_DIGITS = 60


class PriceError(ValueError):
    """A price or quantity string the edge cannot take; `reason` is what goes
    into the reject (``bad_decimal``, ``off_tick``, ``bad_integer``, ...)."""

    def __init__(self, reason: ReasonCode, message: str):
        super().__init__(message)
        self.reason = reason


class Tick(Struct, frozen=True):
    """An instrument's tick size: ``mantissa / 10**scale``.

    The scale is the number of decimal places as written, and is also how many
    places prices are shown with: ``Tick.parse("0.50")`` shows prices as
    "100.50", ``Tick.parse("0.5")`` as "100.5". (The two ticks are the same
    grid but compare unequal.)

    >>> Tick.parse("0.25")
    Tick(mantissa=25, scale=2)
    >>> str(Tick.parse("5"))
    '5'
    """
    mantissa: int
    scale: int = 0

    def __post_init__(self):
        if self.mantissa <= 0 or self.scale < 0:
            raise PriceError(ReasonCode.BAD_DECIMAL,
                             f"a tick must be positive, got mantissa={self.mantissa} "
                             f"scale={self.scale}")

    @classmethod
    def parse(cls, text: str) -> Tick:
        """The tick written as a positive decimal string ("0.01", "0.0001", "5").

        >>> Tick.parse("0.0001")
        Tick(mantissa=1, scale=4)
        >>> Tick.parse("0")
        Traceback (most recent call last):
        ...
        engine.prices.PriceError: tick size must be a positive decimal, got '0'
        """
        whole, dot, frac = text.partition(".") if isinstance(text, str) else ("", "", "")
        if not (_is_digits(whole) and (_is_digits(frac) or not dot)) \
                or len(text) > _MAX_TICK_DIGITS:
            raise PriceError(ReasonCode.BAD_DECIMAL,
                             f"tick size must be a positive decimal, got {_shown(text)!r}")
        mantissa = int(whole + frac)
        if mantissa == 0:
            raise PriceError(ReasonCode.BAD_DECIMAL,
                             f"tick size must be a positive decimal, got {_shown(text)!r}")
        return cls(mantissa, len(frac))

    def __str__(self) -> str:
        return format_ticks(1, self)


def to_ticks(text: str, tick: Tick, what: str = "price") -> int:
    """The number of ticks in the decimal string `text`, exactly.

    `what` names the field in error messages ("price", "stop price", ...).

    >>> cent = Tick.parse("0.01")
    >>> to_ticks("10.5", cent), to_ticks("10.500", cent), to_ticks("-0.03", cent)
    (1050, 1050, -3)
    >>> to_ticks("10.25", Tick.parse("0.25"))
    41
    >>> to_ticks("10.005", cent)
    Traceback (most recent call last):
    ...
    engine.prices.PriceError: price 10.005 is not on the tick grid of 0.01
    >>> to_ticks("1e5", cent)
    Traceback (most recent call last):
    ...
    engine.prices.PriceError: price '1e5' is not a decimal number
    """
    whole, dot, frac = text.partition(".")
    negative = whole[:1] == "-"
    if negative:
        whole = whole[1:]
    if not (_is_digits(whole) and (_is_digits(frac) or not dot)):
        raise PriceError(ReasonCode.BAD_DECIMAL,
                         f"{what} {_shown(text)!r} is not a decimal number")
    scale = tick.scale
    if len(frac) != scale:
        # more places than the tick has can only be zeros on the grid
        frac = frac.rstrip("0")
        if len(frac) > scale:
            raise _off_tick(text, tick, what)
        frac += "0" * (scale - len(frac))
    if len(whole) + scale > _MAX_SCALED_DIGITS:
        whole = whole.lstrip("0")
        if len(whole) + scale > _MAX_SCALED_DIGITS:
            raise _out_of_range(text, what, ReasonCode.BAD_DECIMAL)
    # whole + frac is the value times 10**scale
    ticks, off = divmod(int(whole + frac), tick.mantissa)
    if off:
        raise _off_tick(text, tick, what)
    if ticks > INT64_MAX:
        raise _out_of_range(text, what, ReasonCode.BAD_DECIMAL)
    return -ticks if negative else ticks


def format_ticks(ticks: int, tick: Tick) -> str:
    """The decimal string of `ticks` ticks, with the tick's decimal places.

    >>> cent = Tick.parse("0.01")
    >>> format_ticks(1050, cent), format_ticks(-5, cent), format_ticks(0, cent)
    ('10.50', '-0.05', '0.00')
    >>> format_ticks(41, Tick.parse("0.25")), format_ticks(7, Tick.parse("1"))
    ('10.25', '7')
    """
    scaled = ticks * tick.mantissa
    scale = tick.scale
    if scale == 0:
        return str(scaled)
    whole, frac = divmod(abs(scaled), 10 ** scale)
    sign = "-" if scaled < 0 else ""
    return f"{sign}{whole}.{frac:0{scale}d}"


def parse_qty(text: str, lot: int | None = None, what: str = "quantity") -> int:
    """The integer quantity in `text` (digits, optional leading '-').

    The lot is deliberately not checked here: an off-lot quantity is a
    well-formed order that the engine rejects with ``off_lot``, in the event
    stream like its other rejects. `lot` is accepted so that callers can pass
    the instrument's lot alongside; use `check_lot` to test it at the edge.

    >>> parse_qty("300"), parse_qty("-5"), parse_qty("007")
    (300, -5, 7)
    >>> parse_qty("1.0")
    Traceback (most recent call last):
    ...
    engine.prices.PriceError: quantity '1.0' is not an integer
    """
    digits = text[1:] if text[:1] == "-" else text
    if not _is_digits(digits):
        raise PriceError(ReasonCode.BAD_INTEGER, f"{what} {_shown(text)!r} is not an integer")
    if len(digits) > 19:
        digits = digits.lstrip("0")
    if len(digits) > 19 or int(digits or "0") > INT64_MAX:
        raise _out_of_range(text, what, ReasonCode.BAD_INTEGER)
    return int(text)


def check_lot(qty: int, lot: int, what: str = "quantity") -> int:
    """`qty` itself if it is a whole number of lots, else `PriceError(OFF_LOT)`.

    >>> check_lot(300, 100)
    300
    >>> check_lot(150, 100)
    Traceback (most recent call last):
    ...
    engine.prices.PriceError: quantity 150 is not a multiple of the lot size 100
    """
    if qty % lot:
        raise PriceError(ReasonCode.OFF_LOT,
                         f"{what} {qty} is not a multiple of the lot size {lot}")
    return qty


def _off_tick(text: str, tick: Tick, what: str) -> PriceError:
    return PriceError(ReasonCode.OFF_TICK,
                      f"{what} {_shown(text)} is not on the tick grid of {tick}")


def _out_of_range(text: str, what: str, reason: ReasonCode) -> PriceError:
    return PriceError(reason, f"{what} {_shown(text)} is out of range")


def _is_digits(s: str) -> bool:
    """One or more of 0-9. (str.isdigit alone also takes other scripts'
    digits and superscripts, and int() would accept some of those.)"""
    return s.isdigit() and s.isascii()


def _shown(text) -> str:
    """`text` cut to a length that fits in a log line or a reject message."""
    if isinstance(text, str) and len(text) > 50:
        return text[:47] + "..."
    return text
