"""The risk sections of the venue's configuration, checked.

The engine's loader (`engine.config`) reads the file and keeps the ``[risk]``
tables as they are; this module checks them against the venue's instruments
and accounts and turns money into exact integers. Errors name the key path, as
the engine's do::

    venue.toml: risk.accounts.ALICE.max_order_qty: must be a positive integer, got 0

Format (every key optional; a limit that is not set is not checked)::

    [risk]
    kill_switch = false             # the global kill switch: no new orders at all

    [risk.instruments.AAPL]
    halted = false                  # no new orders in this instrument
    restricted = false              # no account may trade it
    reference_price = "190.00"      # previous close: the collar's reference when
                                    # the book has no last trade and no two sides
    collar_percent = "5"            # limit prices more than 5% through the
    # collar_ticks = 500            # reference (or 500 ticks) are rejected;
                                    # market orders are bounded by it

    [risk.defaults]                 # the account keys below, for every account
    max_order_qty = 100000

    [risk.accounts.ALICE]
    state = "active"                # active | reducing | halted
    kill_switch = false
    max_order_qty = 10000
    max_order_notional = "1000000"  # price x qty, in the instrument's currency
    credit_limit = "5000000"        # open buy notional + cost of long positions
    position_limit = 50000          # |position + open qty of the order's side|,
                                    # per instrument
    gross_position_limit = 200000   # the same, summed over instruments
    max_open_orders = 500
    max_orders_per_second = 100     # new orders in any sliding second
    max_cancels_per_second = 200    # cancels and replaces in any sliding second
                                    # (replaces are refused beyond it, cancels never)
    daily_qty_limit = 1000000       # traded + open quantity, per trading day
    daily_notional_limit = "50000000"
    allow_short = true              # not set: no short-sale check; false: no sell
                                    # beyond the long position; true: such a
                                    # sell must be marked short
    restricted = ["F"]              # instruments this account may not trade

    [risk.accounts.ALICE.instruments.AAPL]   # per instrument overrides
    max_order_qty = 5000
    position_limit = 20000

Money limits are decimal strings (or integers), held in micro-units of the
currency (1e-6), exactly; a TOML float is refused. Notional is counted in
the instrument's currency without conversion.
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec
from msgspec import Struct

from engine.config import Config, ConfigError
from engine.prices import PriceError, to_ticks

__all__ = ["RiskConfig", "AccountLimits", "InstrumentRisk", "ACCOUNT_STATES", "MICRO",
           "parse_risk", "money_units"]

MICRO = 10 ** 6
"""Money units per currency unit: notional and money limits are integers of
1e-6 of the currency."""

ACCOUNT_STATES = {"active": 0, "reducing": 1, "halted": 2}

QTY_LIMITS = ("max_order_qty", "position_limit", "gross_position_limit", "max_open_orders",
              "max_orders_per_second", "max_cancels_per_second", "daily_qty_limit")
MONEY_LIMITS = ("max_order_notional", "credit_limit", "daily_notional_limit")
MAX_RATE = 100_000
"""The highest per-second message limit (the throttle keeps one timestamp per
message of the window)."""


class AccountLimits(Struct, frozen=True):
    """One account's limits; None is "not checked". Money in micro-units."""
    state: int = 0
    kill_switch: bool = False
    max_order_qty: int | None = None
    max_order_notional: int | None = None
    credit_limit: int | None = None
    position_limit: int | None = None
    gross_position_limit: int | None = None
    max_open_orders: int | None = None
    max_orders_per_second: int | None = None
    max_cancels_per_second: int | None = None
    daily_qty_limit: int | None = None
    daily_notional_limit: int | None = None
    allow_short: bool | None = None
    restricted: tuple[str, ...] = ()
    instruments: dict[str, dict[str, int]] = {}
    """Per symbol: overrides of max_order_qty and position_limit."""


class InstrumentRisk(Struct, frozen=True):
    halted: bool = False
    restricted: bool = False
    reference_price: int | None = None      # ticks
    collar_ticks: int | None = None
    collar_ppm: int | None = None           # parts per million of the reference


class RiskConfig(Struct, frozen=True):
    kill_switch: bool = False
    instruments: dict[str, InstrumentRisk] = {}
    accounts: dict[str, AccountLimits] = {}
    """Every account of the venue, in its order, with defaults applied."""


class _Invalid(Exception):
    def __init__(self, path: str, problem: str):
        super().__init__(path, problem)
        self.path, self.problem = path, problem


def parse_risk(config: Config) -> RiskConfig:
    """Check ``config.risk`` against the venue; raises `ConfigError`."""
    try:
        return _build(config.risk, config)
    except _Invalid as e:
        raise ConfigError(config.source, e.path, e.problem) from None


def money_units(value: Any, path: str) -> int:
    """A money amount (decimal string or integer) in micro-units, exactly."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise _Invalid(path, f"must be a decimal string such as \"1000000.00\", got "
                             f"{_show(value)}")
    try:
        d = Decimal(value) if isinstance(value, str) else Decimal(value)
    except InvalidOperation:
        raise _Invalid(path, f"must be a decimal string, got {_show(value)}") from None
    if not d.is_finite() or d <= 0:
        raise _Invalid(path, f"must be a positive amount, got {_show(value)}")
    units = d * MICRO
    if units != units.to_integral_value():
        raise _Invalid(path, f"has more than 6 decimal places: {_show(value)}")
    if units >= 2 ** 62:
        raise _Invalid(path, f"is too large: {_show(value)}")
    return int(units)


# ------------------------------------------------------------------ building

_TOP_KEYS = {"kill_switch", "instruments", "accounts", "defaults"}
_INSTRUMENT_KEYS = {"halted", "restricted", "reference_price", "collar_percent", "collar_ticks"}
_ACCOUNT_KEYS = set(QTY_LIMITS) | set(MONEY_LIMITS) | {
    "state", "kill_switch", "allow_short", "restricted", "instruments"}
_OVERRIDE_KEYS = {"max_order_qty", "position_limit"}


def _build(raw: dict, config: Config) -> RiskConfig:
    _keys(raw, _TOP_KEYS, "risk")
    kill = _bool(raw.get("kill_switch", False), "risk.kill_switch")
    instruments = {}
    for symbol, table in _tables(raw.get("instruments", {}), "risk.instruments").items():
        path = f"risk.instruments.{_key(symbol)}"
        if symbol not in config.instruments:
            raise _Invalid(path, "no such instrument in [instruments]")
        instruments[symbol] = _instrument(table, path, config.instruments[symbol].tick)
    defaults_raw = raw.get("defaults", {})
    if not isinstance(defaults_raw, dict):
        raise _Invalid("risk.defaults", f"must be a table, got {_show(defaults_raw)}")
    accounts_raw = _tables(raw.get("accounts", {}), "risk.accounts")
    for name in accounts_raw:
        if name not in config.accounts:
            raise _Invalid(f"risk.accounts.{_key(name)}", "no such account in [accounts]")
    defaults = _account_fields(defaults_raw, "risk.defaults", config)
    accounts = {}
    for name in config.accounts:
        path = f"risk.accounts.{_key(name)}"
        fields = dict(defaults)
        fields.update(_account_fields(accounts_raw.get(name, {}), path, config))
        accounts[name] = AccountLimits(**fields)
    return RiskConfig(kill, instruments, accounts)


def _instrument(table: dict, path: str, tick) -> InstrumentRisk:
    _keys(table, _INSTRUMENT_KEYS, path)
    ref = None
    if "reference_price" in table:
        value = table["reference_price"]
        if not isinstance(value, str):
            raise _Invalid(f"{path}.reference_price",
                           f"must be a decimal string, got {_show(value)}")
        try:
            ref = to_ticks(value, tick)
        except PriceError as e:
            raise _Invalid(f"{path}.reference_price", str(e)) from None
        if ref <= 0:
            raise _Invalid(f"{path}.reference_price", f"must be positive, got {_show(value)}")
    if "collar_percent" in table and "collar_ticks" in table:
        raise _Invalid(path, "give collar_percent or collar_ticks, not both")
    ppm = ticks = None
    if "collar_percent" in table:
        value = table["collar_percent"]
        p = f"{path}.collar_percent"
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise _Invalid(p, f"must be a decimal string such as \"5\", got {_show(value)}")
        try:
            d = Decimal(value)
        except InvalidOperation:
            raise _Invalid(p, f"must be a decimal string, got {_show(value)}") from None
        if not d.is_finite() or d <= 0 or d > 1000:
            raise _Invalid(p, f"must be a percentage above 0 and at most 1000, got {_show(value)}")
        if d * 10_000 != (d * 10_000).to_integral_value():
            raise _Invalid(p, f"has more than 4 decimal places: {_show(value)}")
        ppm = int(d * 10_000)
    if "collar_ticks" in table:
        ticks = _positive(table["collar_ticks"], f"{path}.collar_ticks")
    return InstrumentRisk(_bool(table.get("halted", False), f"{path}.halted"),
                          _bool(table.get("restricted", False), f"{path}.restricted"),
                          ref, ticks, ppm)


def _account_fields(table: dict, path: str, config: Config) -> dict:
    _keys(table, _ACCOUNT_KEYS, path)
    out: dict[str, Any] = {}
    for key, value in table.items():
        p = f"{path}.{key}"
        if key in QTY_LIMITS:
            out[key] = _positive(value, p)
            if key.endswith("per_second") and out[key] > MAX_RATE:
                raise _Invalid(p, f"must be at most {MAX_RATE:,}, got {value}")
        elif key in MONEY_LIMITS:
            out[key] = money_units(value, p)
        elif key == "state":
            if value not in ACCOUNT_STATES:
                raise _Invalid(p, f"must be one of {', '.join(ACCOUNT_STATES)}, got "
                                  f"{_show(value)}")
            out[key] = ACCOUNT_STATES[value]
        elif key in ("kill_switch", "allow_short"):
            out[key] = _bool(value, p)
        elif key == "restricted":
            if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
                raise _Invalid(p, f"must be a list of symbols, got {_show(value)}")
            for s in value:
                if s not in config.instruments:
                    raise _Invalid(p, f"no such instrument: {_show(s)}")
            out[key] = tuple(value)
        elif key == "instruments":
            overrides = {}
            for symbol, sub in _tables(value, p).items():
                sp = f"{p}.{_key(symbol)}"
                if symbol not in config.instruments:
                    raise _Invalid(sp, "no such instrument in [instruments]")
                _keys(sub, _OVERRIDE_KEYS, sp)
                overrides[symbol] = {k: _positive(v, f"{sp}.{k}") for k, v in sub.items()}
            out[key] = overrides
    return out


# ------------------------------------------------------------------ small checks

def _keys(table: dict, allowed: set, path: str) -> None:
    if not isinstance(table, dict):
        raise _Invalid(path, f"must be a table, got {_show(table)}")
    for key in table:
        if key not in allowed:
            raise _Invalid(f"{path}.{_key(key)}",
                           f"unknown key (known: {', '.join(sorted(allowed))})")


def _tables(value: Any, path: str) -> dict:
    if not isinstance(value, dict):
        raise _Invalid(path, f"must be a table, got {_show(value)}")
    for name, table in value.items():
        if not isinstance(table, dict):
            raise _Invalid(f"{path}.{_key(name)}", f"must be a table, got {_show(table)}")
    return value


def _positive(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise _Invalid(path, f"must be a positive integer, got {_show(value)}")
    if value >= 2 ** 62:
        raise _Invalid(path, f"is too large: {value}")
    return value


def _bool(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise _Invalid(path, f"must be true or false, got {_show(value)}")
    return value


def _key(name: str) -> str:
    return name if name.replace("_", "").replace("-", "").isalnum() else f'"{name}"'


def _show(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, float):
        return f"{value} (a float: write money and prices as decimal strings)"
    return msgspec.json.encode(value).decode() if isinstance(value, (list, dict)) else str(value)
