"""The venue's configuration: which instruments trade, under which rules, and
which accounts may send orders.

The file is TOML; every value is checked when the file is loaded, so that a
typo stops the venue before the open instead of rejecting orders after it.
Every error names the file, the key path and the problem::

    venue.toml: instruments.XYZ.tick_size: must be a positive decimal, got "0"

Format (the built-in `default_config.toml` is a worked example)::

    [engine]                    # optional; reserved for engine settings, takes no keys yet

    [instruments.AAPL]          # symbol: printable ASCII, no commas or whitespace
    tick_size = "0.01"          # positive decimal, as a string (or an integer);
                                # a TOML float is refused: floats are not exact
    lot_size = 1                # positive integer, default 1
    price_band = ["1.00", "10000.00"]   # optional [low, high], decimal strings on the
                                        # tick grid, 0 < low <= high
    currency = "USD"            # 3 upper-case letters, default "USD"

    [accounts.ALICE]            # account name: same rules as a symbol
    stp = "none"                # self-trade prevention: none | cancel_aggressor |
                                # cancel_resting | cancel_both | decrement (default none)
    stp_group = "FIRM-A"        # optional; accounts naming the same group are kept
                                # from trading with each other (without one, an
                                # account is a group of its own)

At least one instrument and one account are required. Symbols with dots or
other characters outside A-Z a-z 0-9 _ - are quoted, as TOML requires:
``[instruments."BRK.B"]``. Tables and keys keep their order from the file,
which is also the order of the engine's instrument and account indexes.

Validation happens after decoding, in plain functions rather than in
``__post_init__``, because only there are the symbol and key path known;
msgspec itself only catches unknown and missing keys (its own error paths
cannot name dictionary keys such as the symbol).
"""
from __future__ import annotations

import difflib
import json
import math
import os
import re
import tomllib
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import msgspec
from msgspec import Struct

from .enums import StpMode
from .prices import INT64_MAX, PriceError, Tick, to_ticks

__all__ = ["Config", "InstrumentConfig", "AccountConfig", "EngineConfig", "ConfigError",
           "load_config", "parse_config", "is_valid_name", "STP_MODES", "DEFAULT_SOURCE"]

DEFAULT_SOURCE = "<built-in default_config.toml>"
"""The source named in errors and in `Config.source` for the built-in default."""

STP_MODES = {mode.name.lower(): mode for mode in StpMode}
"""The spellings of the self-trade prevention modes in the file."""


class ConfigError(ValueError):
    """A configuration the venue cannot start with. ``str(error)`` is
    ``"{source}: {path}: {problem}"`` (just ``"{source}: {problem}"`` when the
    file as a whole is at fault, e.g. it cannot be read)."""

    def __init__(self, source: str, path: str, problem: str):
        self.source = source
        self.path = path
        self.problem = problem
        super().__init__(f"{source}: {path}: {problem}" if path else f"{source}: {problem}")


# ------------------------------------------------------------------ the result

class EngineConfig(Struct, frozen=True, forbid_unknown_fields=True):
    """The ``[engine]`` table: reserved for engine settings, none yet."""


class InstrumentConfig(Struct, frozen=True, forbid_unknown_fields=True):
    """One instrument's trading rules, checked; the band is in ticks."""
    tick: Tick
    lot: int = 1
    band_lo: int | None = None
    band_hi: int | None = None
    currency: str = "USD"


class AccountConfig(Struct, frozen=True, forbid_unknown_fields=True):
    """One account's self-trade prevention settings, checked."""
    stp: StpMode = StpMode.NONE
    stp_group: str | None = None


class Config(Struct, frozen=True, forbid_unknown_fields=True):
    """The whole configuration, checked. Dictionaries are in file order,
    keyed by symbol and account name; treat them as read-only."""
    instruments: dict[str, InstrumentConfig]
    accounts: dict[str, AccountConfig]
    engine: EngineConfig = msgspec.field(default_factory=EngineConfig)
    source: str = "<string>"
    risk: dict[str, Any] = {}
    """The ``[risk]`` tables as read: the risk layer checks them (the engine
    has no limits of its own)."""
    fix: dict[str, Any] = {}
    """The ``[fix]`` tables as read: the FIX gateway checks them."""
    text: str = ""
    """The TOML text itself, so that a journal can carry the venue it ran on."""


# ------------------------------------------------------------------ loading

def load_config(path: str | os.PathLike | None = None) -> Config:
    """Read and check the configuration file at `path`; None reads the
    built-in default (`engine/default_config.toml`)."""
    if path is None:
        text = resources.files(__package__).joinpath("default_config.toml").read_text("utf-8")
        return parse_config(text, DEFAULT_SOURCE)
    source = os.fspath(path)
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except OSError as e:
        raise ConfigError(source, "", f"cannot read the file: {e.strerror or e}") from None
    except UnicodeDecodeError as e:
        raise ConfigError(source, "", f"not UTF-8 text (byte {e.start})") from None
    return parse_config(text, source)


def parse_config(text: str, source: str = "<string>") -> Config:
    """Check the configuration in the TOML `text`; `source` names it in errors.

    >>> cfg = parse_config('''
    ... [instruments.AAPL]
    ... tick_size = "0.01"
    ... price_band = ["1.00", "100.00"]
    ... [accounts.ALICE]
    ... ''')
    >>> cfg.instruments["AAPL"].band_hi, cfg.accounts["ALICE"].stp
    (10000, <StpMode.NONE: 0>)
    >>> parse_config('[instruments.XYZ]\\ntick_size = "0"\\n[accounts.A]', "venue.toml")
    Traceback (most recent call last):
    ...
    engine.config.ConfigError: venue.toml: instruments.XYZ.tick_size: must be a positive decimal, got "0"
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise _syntax_error(str(e), source) from None
    try:
        return msgspec.structs.replace(_build(data, source), text=text)
    except _Invalid as e:
        raise ConfigError(source, e.path, e.problem) from None


def is_valid_name(name: str) -> bool:
    """A symbol, account or STP group name: non-empty printable ASCII without
    commas or whitespace, because names appear unquoted in CSV files.

    >>> is_valid_name("BRK.B"), is_valid_name("A B"), is_valid_name("A,B")
    (True, False, False)
    """
    return _NAME.fullmatch(name) is not None


# ------------------------------------------------------------------ the file's shape

class _File(Struct, forbid_unknown_fields=True):
    instruments: dict[str, Any] = {}
    accounts: dict[str, Any] = {}
    engine: Any = None
    risk: Any = None
    fix: Any = None


# Values are Any so that every value check, with its message, is done below.
class _InstrumentTable(Struct, forbid_unknown_fields=True):
    tick_size: Any
    lot_size: Any = 1
    price_band: Any = None
    currency: Any = "USD"


class _AccountTable(Struct, forbid_unknown_fields=True):
    stp: Any = "none"
    stp_group: Any = None


class _Invalid(Exception):
    """A problem at a key path; `parse_config` adds the source."""

    def __init__(self, path: str, problem: str):
        super().__init__(path, problem)
        self.path = path
        self.problem = problem


# printable ASCII is 0x21-0x7e without the space; 0x2c (the comma) is left out
_NAME = re.compile(r"[\x21-\x2b\x2d-\x7e]+")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_CURRENCY = re.compile(r"[A-Z]{3}")


def _build(data: dict, source: str) -> Config:
    top = _convert(data, _File, "")
    if not top.instruments:
        raise _Invalid("instruments", "at least one instrument is required, e.g. "
                                      '[instruments.AAPL] with tick_size = "0.01"')
    if not top.accounts:
        raise _Invalid("accounts", "at least one account is required, e.g. [accounts.ALICE]")
    instruments = {}
    for symbol, table in top.instruments.items():
        path = f"instruments.{_key(symbol)}"
        _check_name(symbol, "symbol", path)
        instruments[symbol] = _instrument(_table(table, _InstrumentTable, path), path)
    accounts = {}
    for name, table in top.accounts.items():
        path = f"accounts.{_key(name)}"
        _check_name(name, "account name", path)
        accounts[name] = _account(_table(table, _AccountTable, path), path)
    engine = EngineConfig() if top.engine is None else _table(top.engine, EngineConfig, "engine")
    risk = {} if top.risk is None else top.risk
    if not isinstance(risk, dict):
        raise _Invalid("risk", f"must be a table, got {_show(risk)}")
    fix = {} if top.fix is None else top.fix
    if not isinstance(fix, dict):
        raise _Invalid("fix", f"must be a table, got {_show(fix)}")
    return Config(instruments, accounts, engine, source, risk, fix=fix)


def _instrument(raw: _InstrumentTable, path: str) -> InstrumentConfig:
    tick = _tick(raw.tick_size, f"{path}.tick_size")
    lot = _positive_int(raw.lot_size, f"{path}.lot_size")
    band_lo, band_hi = _band(raw.price_band, tick, f"{path}.price_band")
    if not (isinstance(raw.currency, str) and _CURRENCY.fullmatch(raw.currency)):
        raise _Invalid(f"{path}.currency",
                       f'must be 3 upper-case letters like "USD", got {_show(raw.currency)}')
    return InstrumentConfig(tick, lot, band_lo, band_hi, raw.currency)


def _account(raw: _AccountTable, path: str) -> AccountConfig:
    stp = STP_MODES.get(raw.stp) if isinstance(raw.stp, str) else None
    if stp is None:
        raise _Invalid(f"{path}.stp",
                       f"must be one of {', '.join(STP_MODES)}; got {_show(raw.stp)}")
    group = raw.stp_group
    if group is not None and not (isinstance(group, str) and is_valid_name(group)):
        raise _Invalid(f"{path}.stp_group", "must be a name (printable ASCII without commas "
                                            f"or whitespace), got {_show(group)}")
    return AccountConfig(stp, group)


def _tick(value: Any, path: str) -> Tick:
    _refuse_float(value, path)
    text = str(value) if type(value) is int else value
    try:
        return Tick.parse(text)
    except PriceError:
        raise _Invalid(path, f"must be a positive decimal, got {_show(value)}") from None


def _positive_int(value: Any, path: str) -> int:
    if type(value) is not int or not 0 < value <= INT64_MAX:
        raise _Invalid(path, f"must be a positive integer, got {_show(value)}")
    return value


def _band(value: Any, tick: Tick, path: str) -> tuple[int | None, int | None]:
    if value is None:
        return None, None
    if not (isinstance(value, list) and len(value) == 2):
        raise _Invalid(path, f'must be [low, high] like ["1.00", "100.00"], got {_show(value)}')
    ends = []
    for i, (end, item) in enumerate(zip(("low", "high"), value)):
        item_path = f"{path}[{i}]"
        _refuse_float(item, item_path)
        if type(item) is not str and type(item) is not int:
            raise _Invalid(item_path, f"must be a decimal string, got {_show(item)}")
        try:
            ticks = to_ticks(str(item), tick, what=end)
        except PriceError as e:
            raise _Invalid(item_path, str(e)) from None
        if ticks <= 0:
            raise _Invalid(item_path, f"must be positive, got {_show(item)}")
        ends.append(ticks)
    if ends[0] > ends[1]:
        raise _Invalid(path, f"low {value[0]} is above high {value[1]}")
    return ends[0], ends[1]


def _refuse_float(value: Any, path: str) -> None:
    """Prices are exact decimals; a TOML float has already been rounded to
    binary by the time we see it, so the file must quote it."""
    if isinstance(value, float):
        if math.isfinite(value):
            quoted = format(Decimal(repr(value)), "f")
            hint = f"; quote it: {_show(quoted)}"
        else:
            hint = ""
        raise _Invalid(path, f"must be a decimal string, not a TOML float (floats are not "
                             f"exact), got {_show(value)}{hint}")


def _check_name(name: str, what: str, path: str) -> None:
    if not is_valid_name(name):
        raise _Invalid(path, f"{what} must be printable ASCII without commas or whitespace, "
                             f"got {_show(name)}")


def _table(value: Any, shape: type, path: str):
    if not isinstance(value, dict):
        raise _Invalid(path, f"must be a table, got {_show(value)}")
    return _convert(value, shape, path)


_TOML_TYPES = {"object": "a table", "array": "an array", "str": "a string",
               "int": "an integer", "float": "a float", "bool": "a boolean"}


def _convert(value: dict, shape: type, path: str):
    """msgspec.convert, with its errors restated as key path and problem."""
    try:
        return msgspec.convert(value, shape)
    except msgspec.ValidationError as e:
        message, _, where = str(e).partition(" - at `$")
        where = _join(path, where.rstrip("`").lstrip("."))
        if m := re.fullmatch(r"Object contains unknown field `(.*)`", message):
            hint = _hint(m[1], shape) if where == path else ""
            raise _Invalid(_join(where, _key(m[1])), "unknown key" + hint) from None
        if m := re.fullmatch(r"Object missing required field `(.*)`", message):
            raise _Invalid(_join(where, m[1]), "is required") from None
        if m := re.fullmatch(r"Expected `(.*)`, got `(.*)`", message):
            want, got = (_TOML_TYPES.get(t, t) for t in m.groups())
            raise _Invalid(where, f"must be {want}, got {got}") from None
        raise _Invalid(where, message) from None


def _hint(key: str, shape: type) -> str:
    """What the writer of an unknown key probably meant."""
    known = [f.name for f in msgspec.structs.fields(shape)]
    if not known:
        return " (this table takes no keys)"
    # "lot" for lot_size, "band" for price_band; else a likely misspelling
    close = [k for k in known if key in k] or difflib.get_close_matches(key, known, n=1)
    if close:
        return f" (did you mean {close[0]}?)"
    return f" (known keys: {', '.join(known)})"


def _syntax_error(message: str, source: str) -> ConfigError:
    """tomllib's message ends in "(at line L, column C)" or "(at end of
    document)"; that becomes the path."""
    m = re.fullmatch(r"(.*) \(at (.*)\)", message)
    if m:
        return ConfigError(source, m[2], f"invalid TOML: {m[1]}")
    return ConfigError(source, "", f"invalid TOML: {message}")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path and key else path or key


def _key(name: str) -> str:
    """A key as TOML writes it in a dotted path: bare, or quoted."""
    return name if _BARE_KEY.fullmatch(name) else json.dumps(name)


def _show(value: Any) -> str:
    """A value as it would be written in the file."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value if len(value) <= 50 else value[:47] + "...")
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, dict):
        return "a table"
    return str(value)
