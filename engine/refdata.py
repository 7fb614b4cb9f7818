"""Reference data: the names behind the engine's instrument and account
indexes, and each instrument's tick and lot.

The engine only knows indexes (0..n-1) and rules in ticks (`BookSpec`,
`AccountSpec`); CSV files, FIX messages and reports speak in symbols, account
names and decimal prices. `ReferenceData` translates between the two, and is
the one place where the indexes are handed out, so an engine built from
`book_specs()` and `account_specs()` agrees with it index for index.

Two ways to get one:

* `ReferenceData.from_config(cfg)`: the venue's instruments and accounts,
  numbered in file order; an unknown symbol or account is an error.
* `ReferenceData.any_symbol(tick)`: open-ended, for replaying files from
  elsewhere (``oms replay --tick SIZE``). Any symbol and any account is
  accepted when first seen and given the next index; every instrument has the
  given tick, lot 1 and no price band, and no account has STP. The owner learns
  of each new name through `on_new_instrument` / `on_new_account` so that it
  can open it in the engine too::

      ref = ReferenceData.any_symbol(Tick.parse("0.01"))
      engine = MatchingEngine(ref.book_specs(), ref.account_specs())
      ref.on_new_instrument = lambda index, spec: engine.add_instrument(spec)
      ref.on_new_account = lambda index, spec: engine.add_account(spec)
"""
from __future__ import annotations

from collections.abc import Callable

from .config import Config, InstrumentConfig, is_valid_name
from .enums import StpMode
from .prices import Tick, format_ticks, to_ticks
from .reasons import ReasonCode
from .specs import AccountSpec, BookSpec

__all__ = ["ReferenceData", "UnknownName"]


class UnknownName(KeyError):
    """A symbol or account name that is not in the reference data; `reason` is
    ``unknown_symbol`` or ``unknown_account``, for the reject."""

    def __init__(self, reason: ReasonCode, message: str, name: str):
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.name = name

    def __str__(self) -> str:
        # KeyError's own str() would show the message in quotes
        return self.message


class ReferenceData:
    """Symbols, account names and per-instrument rules, by engine index.

    `on_new_instrument(index, BookSpec)` and `on_new_account(index,
    AccountSpec)` are called (open-ended mode only) when a name is seen for
    the first time; if the callback raises, the name is not added.

    >>> from engine.config import load_config
    >>> ref = ReferenceData.from_config(load_config())
    >>> ref.instrument("AAPL"), ref.symbol(0), ref.price_to_ticks(0, "187.25")
    (0, 'AAPL', 18725)
    >>> ref.instrument("NOPE")
    Traceback (most recent call last):
    ...
    engine.refdata.UnknownName: unknown symbol 'NOPE'
    """

    def __init__(self, open_ended_tick: Tick | None = None):
        """Empty; use `from_config` or `any_symbol`."""
        self.open_ended_tick = open_ended_tick
        self.on_new_instrument: Callable[[int, BookSpec], object] | None = None
        self.on_new_account: Callable[[int, AccountSpec], object] | None = None
        self._symbols: list[str] = []
        self._instrument_index: dict[str, int] = {}
        self._instruments: list[InstrumentConfig] = []
        self._books: list[BookSpec] = []
        self._account_names: list[str] = []
        self._account_index: dict[str, int] = {}
        self._accounts: list[AccountSpec] = []
        self._stp_groups: dict[str, int] = {}

    @classmethod
    def from_config(cls, cfg: Config) -> ReferenceData:
        """The configured instruments and accounts, in file order; closed."""
        ref = cls()
        for symbol, instrument in cfg.instruments.items():
            ref._add_instrument(symbol, instrument)
        for name, account in cfg.accounts.items():
            ref._add_account(name, account.stp, account.stp_group)
        return ref

    @classmethod
    def any_symbol(cls, tick: Tick) -> ReferenceData:
        """Open-ended: any symbol (tick `tick`, lot 1, no band) and any account
        (no STP) is accepted on first sight."""
        return cls(open_ended_tick=tick)

    @property
    def open_ended(self) -> bool:
        return self.open_ended_tick is not None

    # ------------------------------------------------------------ names -> indexes

    def instrument(self, symbol: str) -> int:
        """The index of `symbol`; raises `UnknownName(UNKNOWN_SYMBOL)`."""
        index = self._instrument_index.get(symbol)
        if index is not None:
            return index
        if not self.open_ended:
            raise UnknownName(ReasonCode.UNKNOWN_SYMBOL, f"unknown symbol {symbol!r}", symbol)
        if not is_valid_name(symbol):
            raise UnknownName(ReasonCode.UNKNOWN_SYMBOL,
                              f"symbol {symbol!r} is not printable ASCII without commas or "
                              "whitespace", symbol)
        index = self._add_instrument(symbol, InstrumentConfig(self.open_ended_tick))
        if self.on_new_instrument is not None:
            try:
                self.on_new_instrument(index, self._books[index])
            except Exception:
                self._forget_last_instrument()   # keep the owner's indexes and ours equal
                raise
        return index

    def account(self, name: str) -> int:
        """The index of account `name`; raises `UnknownName(UNKNOWN_ACCOUNT)`."""
        index = self._account_index.get(name)
        if index is not None:
            return index
        if not self.open_ended:
            raise UnknownName(ReasonCode.UNKNOWN_ACCOUNT, f"unknown account {name!r}", name)
        if not is_valid_name(name):
            raise UnknownName(ReasonCode.UNKNOWN_ACCOUNT,
                              f"account {name!r} is not printable ASCII without commas or "
                              "whitespace", name)
        index = self._add_account(name, StpMode.NONE, None)
        if self.on_new_account is not None:
            try:
                self.on_new_account(index, self._accounts[index])
            except Exception:
                self._forget_last_account()
                raise
        return index

    # ------------------------------------------------------------ indexes -> names and rules

    def symbol(self, index: int) -> str:
        return self._symbols[self._check(index, self._symbols, "instrument")]

    def account_name(self, index: int) -> str:
        return self._account_names[self._check(index, self._account_names, "account")]

    def tick(self, index: int) -> Tick:
        return self._instruments[self._check(index, self._instruments, "instrument")].tick

    def lot(self, index: int) -> int:
        return self._instruments[self._check(index, self._instruments, "instrument")].lot

    def currency(self, index: int) -> str:
        return self._instruments[self._check(index, self._instruments, "instrument")].currency

    def price_to_ticks(self, index: int, text: str, what: str = "price") -> int:
        """`prices.to_ticks` with instrument `index`'s tick; raises `PriceError`."""
        return to_ticks(text, self.tick(index), what)

    def ticks_to_price(self, index: int, ticks: int) -> str:
        """`prices.format_ticks` with instrument `index`'s tick."""
        return format_ticks(ticks, self.tick(index))

    @property
    def instrument_count(self) -> int:
        return len(self._symbols)

    @property
    def account_count(self) -> int:
        return len(self._account_names)

    def symbols(self) -> list[str]:
        """All symbols, in index order."""
        return list(self._symbols)

    def account_names(self) -> list[str]:
        """All account names, in index order."""
        return list(self._account_names)

    def book_specs(self) -> list[BookSpec]:
        """What `MatchingEngine(books=...)` needs, in index order."""
        return list(self._books)

    def account_specs(self) -> list[AccountSpec]:
        """What `MatchingEngine(accounts=...)` needs, in index order. STP group
        names are numbered 0, 1, ... in order of first appearance; an account
        without a group gets None (a group of its own)."""
        return list(self._accounts)

    # ------------------------------------------------------------ internals

    def _add_instrument(self, symbol: str, instrument: InstrumentConfig) -> int:
        index = len(self._symbols)
        self._symbols.append(symbol)
        self._instrument_index[symbol] = index
        self._instruments.append(instrument)
        self._books.append(BookSpec(lot=instrument.lot, band_lo=instrument.band_lo,
                                    band_hi=instrument.band_hi))
        return index

    def _add_account(self, name: str, stp: StpMode, group: str | None) -> int:
        index = len(self._account_names)
        self._account_names.append(name)
        self._account_index[name] = index
        group_id = None
        if group is not None:
            group_id = self._stp_groups.setdefault(group, len(self._stp_groups))
        self._accounts.append(AccountSpec(stp_mode=stp, stp_group=group_id))
        return index

    def _forget_last_instrument(self) -> None:
        del self._instrument_index[self._symbols.pop()]
        self._instruments.pop()
        self._books.pop()

    def _forget_last_account(self) -> None:
        # only open-ended accounts are forgotten, and they have no STP group
        del self._account_index[self._account_names.pop()]
        self._accounts.pop()

    @staticmethod
    def _check(index: int, column: list, what: str) -> int:
        # a negative index would silently count from the end
        if not 0 <= index < len(column):
            raise IndexError(f"no {what} with index {index}")
        return index
