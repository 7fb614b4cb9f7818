"""Exact decimal <-> integer conversions at the edges (engine/prices.py)."""
import doctest
import re
from decimal import Decimal, localcontext

import pytest
from hypothesis import example, given, strategies as st

import engine.prices
from engine.prices import (INT64_MAX, PriceError, Tick, check_lot, format_ticks, parse_qty,
                           to_ticks)
from engine.reasons import ReasonCode

CENT = Tick.parse("0.01")
QUARTER = Tick.parse("0.25")
PIP = Tick.parse("0.0001")
FIVE = Tick.parse("5")

STRICT_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")
STRICT_INTEGER = re.compile(r"-?[0-9]+")


def test_doctests():
    assert doctest.testmod(engine.prices).failed == 0


# ------------------------------------------------------------------ Tick

@pytest.mark.parametrize("text, mantissa, scale", [
    ("0.01", 1, 2), ("0.25", 25, 2), ("5", 5, 0), ("0.0001", 1, 4), ("10", 10, 0),
    ("0.50", 50, 2), ("0.5", 5, 1), ("1.0", 10, 1), ("00.01", 1, 2),
])
def test_tick_parse(text, mantissa, scale):
    tick = Tick.parse(text)
    assert (tick.mantissa, tick.scale) == (mantissa, scale)


@pytest.mark.parametrize("tick, shown", [
    ("0.01", "0.01"), ("0.25", "0.25"), ("5", "5"), ("0.0001", "0.0001"), ("0.50", "0.50"),
    ("00.01", "0.01"),
])
def test_tick_str_keeps_the_places_as_written(tick, shown):
    assert str(Tick.parse(tick)) == shown


@pytest.mark.parametrize("text", [
    "", "0", "0.00", "-0.01", "-1", "1e-2", ".5", "5.", " 0.01", "0.01 ", "+0.01", "nan",
    "inf", "0x10", "1_0", "0,01", "\u0661", "\u00b2", "0." + "0" * 50 + "1",
])
def test_tick_parse_refuses(text):
    with pytest.raises(PriceError, match="tick size must be a positive decimal") as e:
        Tick.parse(text)
    assert e.value.reason == ReasonCode.BAD_DECIMAL


def test_tick_parse_refuses_a_number():
    with pytest.raises(PriceError):
        Tick.parse(5)


@pytest.mark.parametrize("mantissa, scale", [(0, 2), (-1, 2), (1, -1)])
def test_tick_must_be_positive(mantissa, scale):
    with pytest.raises(PriceError):
        Tick(mantissa, scale)


def test_tick_is_frozen_and_hashable():
    with pytest.raises(AttributeError):
        CENT.scale = 3
    assert {CENT: 1}[Tick(1, 2)] == 1


# ------------------------------------------------------------------ to_ticks

@pytest.mark.parametrize("text, tick, ticks", [
    ("10.50", CENT, 1050), ("10.5", CENT, 1050), ("10.500", CENT, 1050),
    ("10.500000000000000000000000000000000000000000000000000000000000000000", CENT, 1050),
    ("10", CENT, 1000), ("0", CENT, 0), ("-0", CENT, 0), ("-0.00", CENT, 0),
    ("0.01", CENT, 1), ("-10.25", CENT, -1025), ("007.00", CENT, 700),
    ("0" * 100 + "1", CENT, 100),
    ("10.25", QUARTER, 41), ("10.75", QUARTER, 43), ("10", QUARTER, 40), ("10.5", QUARTER, 42),
    ("10.50", QUARTER, 42), ("-0.25", QUARTER, -1),
    ("15", FIVE, 3), ("15.0", FIVE, 3), ("15.00000", FIVE, 3), ("0", FIVE, 0),
    ("1.2345", PIP, 12345), ("1.23450", PIP, 12345), ("1", PIP, 10000),
    ("92233720368547758.07", CENT, INT64_MAX), ("-92233720368547758.07", CENT, -INT64_MAX),
])
def test_to_ticks(text, tick, ticks):
    assert to_ticks(text, tick) == ticks


@pytest.mark.parametrize("text, tick", [
    ("10.005", CENT), ("10.001", CENT), ("0.001", CENT), ("-0.001", CENT),
    ("10.10", QUARTER), ("10.3", QUARTER), ("10.125", QUARTER), ("0.01", QUARTER),
    ("12", FIVE), ("12.5", FIVE), ("1", FIVE), ("1.23456", PIP), ("1.000050", PIP),
])
def test_off_the_tick_grid_is_refused_not_rounded(text, tick):
    with pytest.raises(PriceError) as e:
        to_ticks(text, tick)
    assert e.value.reason == ReasonCode.OFF_TICK
    assert str(e.value) == f"price {text} is not on the tick grid of {tick}"


def test_off_tick_message():
    with pytest.raises(PriceError, match=r"^price 10\.005 is not on the tick grid of 0\.01$"):
        to_ticks("10.005", CENT)
    with pytest.raises(PriceError, match=r"^stop price 10\.1 is not on the tick grid of 0\.25$"):
        to_ticks("10.1", QUARTER, what="stop price")


@pytest.mark.parametrize("text", [
    "", "1e5", "1E5", "1.2.3", " 1", "1 ", "1\n", "nan", "NaN", "inf", "-inf", "0x10",
    "1_000", "+1", ".5", "5.", "-", "--1", "- 1", "1,5", "1.-5", "\u0661\u0662", "\u00b2",
    "\uff11", "1.5\u0661",
])
def test_bad_decimal_syntax(text):
    with pytest.raises(PriceError) as e:
        to_ticks(text, CENT)
    assert e.value.reason == ReasonCode.BAD_DECIMAL
    assert str(e.value) == f"price {text!r} is not a decimal number"


@pytest.mark.parametrize("text", [
    "92233720368547758.08", "-92233720368547758.08", "1" * 5000, "1" * 59, "1." + "0" * 5000 + "1",
])
def test_out_of_int64_range(text):
    with pytest.raises(PriceError) as e:
        to_ticks(text, CENT)
    assert e.value.reason in (ReasonCode.BAD_DECIMAL, ReasonCode.OFF_TICK)
    assert len(str(e.value)) < 120


def test_out_of_range_is_bad_decimal():
    with pytest.raises(PriceError, match="out of range") as e:
        to_ticks("92233720368547758.08", CENT)
    assert e.value.reason == ReasonCode.BAD_DECIMAL


def test_price_error_is_a_value_error():
    assert issubclass(PriceError, ValueError)


# ------------------------------------------------------------------ format_ticks

@pytest.mark.parametrize("ticks, tick, text", [
    (1050, CENT, "10.50"), (1, CENT, "0.01"), (-5, CENT, "-0.05"), (0, CENT, "0.00"),
    (-1050, CENT, "-10.50"), (7, Tick.parse("1"), "7"), (-7, Tick.parse("1"), "-7"),
    (41, QUARTER, "10.25"), (-41, QUARTER, "-10.25"), (42, QUARTER, "10.50"),
    (3, FIVE, "15"), (12345, PIP, "1.2345"), (1, PIP, "0.0001"),
    (3, Tick.parse("0.50"), "1.50"), (3, Tick.parse("0.5"), "1.5"),
    (INT64_MAX, CENT, "92233720368547758.07"),
])
def test_format_ticks(ticks, tick, text):
    assert format_ticks(ticks, tick) == text


# ------------------------------------------------------------------ quantities

@pytest.mark.parametrize("text, qty", [
    ("300", 300), ("-5", -5), ("0", 0), ("-0", 0), ("007", 7),
    ("9223372036854775807", INT64_MAX), ("-9223372036854775807", -INT64_MAX),
    ("0" * 30 + "1", 1),
])
def test_parse_qty(text, qty):
    assert parse_qty(text) == qty


def test_parse_qty_does_not_check_the_lot():
    assert parse_qty("150", 100) == 150


@pytest.mark.parametrize("text", [
    "", "1.0", "1e3", " 1", "1 ", "+1", "1_000", "-", "--1", "0x10", "\u0663", "1,000",
])
def test_bad_integer(text):
    with pytest.raises(PriceError) as e:
        parse_qty(text)
    assert e.value.reason == ReasonCode.BAD_INTEGER
    assert str(e.value) == f"quantity {text!r} is not an integer"


@pytest.mark.parametrize("text", ["9223372036854775808", "-9223372036854775808", "9" * 5000])
def test_quantity_out_of_range(text):
    with pytest.raises(PriceError, match="out of range") as e:
        parse_qty(text)
    assert e.value.reason == ReasonCode.BAD_INTEGER


def test_check_lot():
    assert check_lot(300, 100) == 300
    assert check_lot(0, 100) == 0
    assert check_lot(-200, 100) == -200
    assert check_lot(7, 1) == 7
    with pytest.raises(PriceError) as e:
        check_lot(150, 100)
    assert str(e.value) == "quantity 150 is not a multiple of the lot size 100"
    assert e.value.reason == ReasonCode.OFF_LOT


# ------------------------------------------------------------------ properties

ticks_st = st.builds(Tick, st.integers(1, 10**6), st.integers(0, 10))
int64_st = st.integers(-INT64_MAX, INT64_MAX)
decimal_text_st = st.from_regex(r"-?[0-9]{1,25}(\.[0-9]{1,25})?", fullmatch=True)


@given(int64_st, ticks_st)
@example(INT64_MAX, CENT)
@example(-INT64_MAX, QUARTER)
@example(0, FIVE)
def test_format_then_parse_round_trips(n, tick):
    assert to_ticks(format_ticks(n, tick), tick) == n


@given(int64_st, ticks_st, st.integers(1, 30))
def test_trailing_zeros_change_nothing(n, tick, zeros):
    text = format_ticks(n, tick)
    text += "0" * zeros if "." in text else "." + "0" * zeros
    assert to_ticks(text, tick) == n


@given(int64_st, ticks_st)
def test_format_agrees_with_decimal(n, tick):
    text = format_ticks(n, tick)
    places = len(text.partition(".")[2])
    assert places == tick.scale
    with localcontext() as ctx:
        ctx.prec = 200
        assert Decimal(text) == n * Decimal(str(tick))


@given(decimal_text_st, ticks_st)
@example("10.005", CENT)
@example("10.25", QUARTER)
@example("-0.0000", PIP)
def test_to_ticks_agrees_with_decimal(text, tick):
    with localcontext() as ctx:
        ctx.prec = 200
        value, size = Decimal(text), Decimal(str(tick))
        on_grid = value % size == 0
        count = value / size
    try:
        ticks = to_ticks(text, tick)
    except PriceError as e:
        if e.reason == ReasonCode.OFF_TICK:
            assert not on_grid
        else:
            assert e.reason == ReasonCode.BAD_DECIMAL
            assert on_grid and abs(count) > INT64_MAX
    else:
        assert on_grid
        assert ticks == count


@given(st.text(max_size=30))
@example("1\n")
@example("\u0661")
def test_any_text_is_a_number_or_a_price_error(text):
    try:
        ticks = to_ticks(text, CENT)
    except PriceError as e:
        assert e.reason in (ReasonCode.BAD_DECIMAL, ReasonCode.OFF_TICK)
        if e.reason == ReasonCode.OFF_TICK:
            assert STRICT_DECIMAL.fullmatch(text)
    else:
        assert STRICT_DECIMAL.fullmatch(text)
        assert Decimal(text) == ticks * Decimal("0.01")


@given(st.text(max_size=30))
def test_any_text_is_a_quantity_or_a_price_error(text):
    try:
        qty = parse_qty(text)
    except PriceError as e:
        assert e.reason == ReasonCode.BAD_INTEGER
    else:
        assert STRICT_INTEGER.fullmatch(text) and qty == int(text)


@given(st.integers(-10**30, 10**30))
def test_parse_qty_agrees_with_int(n):
    text = str(n)
    if abs(n) <= INT64_MAX:
        assert parse_qty(text) == n
    else:
        with pytest.raises(PriceError):
            parse_qty(text)
