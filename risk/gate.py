"""`RiskGate`: the order book behind the pre-trade checks.

The gate owns the risk arrays (`risk.layout`) and a `MatchingEngine`, and
offers the engine's two doors, `submit` and `run`, with every order checked
first (`risk.kernels`: one compiled call per command, the checks and the book
in the same machine code). Events are the engine's; a risk reject is a
`Rejected` event with a 2xx reason, its limit and the value that broke it.

Limit changes and kill switches are commands too (`risk.commands`): they run
in the same single thread, take the engine's next sequence numbers and come
back as events, so a journal of the stream shows who changed what and when.
"""
from __future__ import annotations

import msgspec
import numpy as np

from engine import msgpack_kernels as mp
from engine.commands import MassCancel
from engine.config import Config, ConfigError
from engine.events import Event, Rejected
from engine.layout import C_SEQ, COMMAND_DTYPE
from engine.matching import MatchingEngine, entry_point
from engine.prices import format_ticks
from engine.reasons import ReasonCode
from engine.refdata import ReferenceData

from . import kernels as rk
from .commands import (AccountStateChanged, KillSwitch, KillSwitchChanged, LimitChanged,
                       NewTradingDay, RiskCommand, SetAccountState, SetLimit, TradingDayStarted)
from .config import ACCOUNT_STATES, MAX_RATE, MICRO, RiskConfig, parse_risk
from .layout import (ACCOUNT_DTYPE, INSTRUMENT_DTYPE, N_RISK_COUNTERS, NO_LIMIT,
                     POSITION_DTYPE, R_CANCEL_CAP, R_KILL, R_ORDER_CAP)

__all__ = ["RiskGate", "reject_detail", "ACCOUNT_LIMITS"]

ACCOUNT_LIMITS = ("max_order_qty", "max_order_notional", "credit_limit", "position_limit",
                  "gross_position_limit", "max_open_orders", "max_orders_per_second",
                  "max_cancels_per_second", "daily_qty_limit", "daily_notional_limit")
"""The limits `SetLimit` may change (None in the command removes the limit)."""

PAIR_LIMITS = ("max_order_qty", "position_limit")
"""The limits an account may also have per instrument; an instrument's own
value overrides the account's."""

_STATE_NAMES = {v: k for k, v in ACCOUNT_STATES.items()}
_RISK_COMMANDS = msgspec.msgpack.Decoder(SetLimit | SetAccountState | KillSwitch | NewTradingDay)


class RiskGate:
    """The engine with the pre-trade checks of one configuration."""

    def __init__(self, config: Config, risk: RiskConfig | None = None, *,
                 ref: ReferenceData | None = None, engine: MatchingEngine | None = None):
        self.ref = ref or ReferenceData.from_config(config)
        self.engine = engine or MatchingEngine(self.ref.book_specs(), self.ref.account_specs())
        self.config = risk if risk is not None else parse_risk(config)
        n_a, n_i = self.ref.account_count, self.ref.instrument_count
        self.accounts = np.zeros(n_a, ACCOUNT_DTYPE)
        self.positions = np.zeros(n_a * n_i, POSITION_DTYPE)
        self.instruments = np.zeros(n_i, INSTRUMENT_DTYPE)
        self.rctr = np.zeros(N_RISK_COUNTERS, np.int64)
        self._account_pair_limits: dict[tuple[int, str], int] = {}
        """(account, key) -> the account's PAIR_LIMITS value (NO_LIMIT: none)."""
        self._overrides: set[tuple[int, int, str]] = set()
        """(account, instrument, key) of the per-instrument PAIR_LIMITS values."""
        self._load(config)
        self._size_rings()
        self._bind_kernels()

    # ------------------------------------------------------------ set up

    def _load(self, config: Config) -> None:
        rc = self.config
        self.rctr[R_KILL] = int(rc.kill_switch)
        for b, symbol in enumerate(self.ref.symbols()):
            tick = self.ref.tick(b)
            if tick.scale > 6:
                raise ConfigError(config.source, f"instruments.{symbol}.tick_size",
                                  "the risk checks count money to 6 decimal places; "
                                  "this tick is finer")
            row = self.instruments[b]
            row["tick_money"] = tick.mantissa * 10 ** (6 - tick.scale)
            ir = rc.instruments.get(symbol)
            if ir is not None:
                row["halted"] = int(ir.halted)
                row["restricted"] = int(ir.restricted)
                row["reference_price"] = ir.reference_price or 0
                row["collar_ticks"] = ir.collar_ticks or 0
                row["collar_ppm"] = ir.collar_ppm or 0
        for a, name in enumerate(self.ref.account_names()):
            lim = rc.accounts.get(name)
            acc = self.accounts[a]
            acc["allow_short"] = -1
            for key in ACCOUNT_LIMITS:
                if key != "position_limit":
                    acc[key] = NO_LIMIT
            self.positions[a * self.ref.instrument_count:(a + 1) * self.ref.instrument_count][
                ["max_order_qty", "position_limit"]] = (NO_LIMIT, NO_LIMIT)
            if lim is None:
                continue
            acc["state"] = lim.state
            acc["kill"] = int(lim.kill_switch)
            acc["allow_short"] = -1 if lim.allow_short is None else int(lim.allow_short)
            for key in ACCOUNT_LIMITS:
                value = getattr(lim, key)
                if value is not None:
                    self._set_account_limit(a, key, value)
            for symbol in lim.restricted:
                self._pair(a, self.ref.instrument(symbol))["restricted"] = 1
            for symbol, overrides in lim.instruments.items():
                for key, value in overrides.items():
                    self._set_pair_limit(a, self.ref.instrument(symbol), key, value)

    def _pair_index(self, a: int, b: int) -> int:
        return a * self.ref.instrument_count + b

    def _pair(self, a: int, b: int):
        return self.positions[self._pair_index(a, b)]

    def _set_account_limit(self, a: int, key: str, value: int | None) -> None:
        """Set an account limit; for PAIR_LIMITS, in every instrument but those
        with a value of their own (which a later account-wide change must not
        wipe out)."""
        v = NO_LIMIT if value is None else value
        if key in PAIR_LIMITS:
            self._account_pair_limits[a, key] = v
            for b in range(self.ref.instrument_count):
                if (a, b, key) not in self._overrides:
                    self._pair(a, b)[key] = v
        if key != "position_limit":
            self.accounts[a][key] = v

    def _set_pair_limit(self, a: int, b: int, key: str, value: int | None) -> None:
        """Set instrument `b`'s own value of a PAIR_LIMITS key; None removes it,
        so the account's limit applies again."""
        if value is None:
            self._overrides.discard((a, b, key))
            self._pair(a, b)[key] = self._account_pair_limits.get((a, key), NO_LIMIT)
        else:
            self._overrides.add((a, b, key))
            self._pair(a, b)[key] = value

    def _size_rings(self) -> None:
        """One row per account: the order ring, then the cancel ring, each as
        wide as the highest per-second limit. Positions restart when resized."""
        def width(key):
            caps = self.accounts[key]
            caps = caps[caps != NO_LIMIT]
            return int(caps.max()) if len(caps) else 0
        o, c = width("max_orders_per_second"), width("max_cancels_per_second")
        self.rings = np.full((len(self.accounts), o + c), rk.RING_EMPTY, np.int64)
        self.rctr[R_ORDER_CAP], self.rctr[R_CANCEL_CAP] = o, c
        self.accounts["order_ring_pos"] = 0
        self.accounts["cancel_ring_pos"] = 0

    def _bind_kernels(self) -> None:
        e = self.engine
        self._submit_one = entry_point(rk.submit_one, e.table, *self._arrays(),
                                       mp.COMMAND_ENCODER.encode(None))
        self._run_batch = entry_point(rk.run_batch, e.table, *self._arrays(),
                                      np.zeros(0, COMMAND_DTYPE), 0, 0, np.zeros(1, np.int64))

    def _arrays(self) -> tuple:
        return self.accounts, self.positions, self.instruments, self.rings, self.rctr

    # ------------------------------------------------------------ the doors

    def submit(self, cmd) -> list[Event]:
        """Run one command (an engine command or a `RiskCommand`); its events."""
        if isinstance(cmd, RiskCommand):
            return self._risk_command(cmd)
        encoded = mp.COMMAND_ENCODER.encode(cmd)
        e = self.engine
        # the hot path, as `MatchingEngine.submit`: decode straight from the
        # output buffer; growing the arrays goes the long way round
        n = self._submit_one(e.table, self.accounts, self.positions, self.instruments,
                             self.rings, self.rctr, encoded)
        if n >= 0:
            return mp.EVENT_DECODER.decode(e.out_view[:n])
        return self.submit_encoded(encoded)

    def submit_encoded(self, cmd: bytes) -> list[Event]:
        return mp.EVENT_DECODER.decode(self.submit_raw(cmd))

    def submit_raw(self, cmd: bytes) -> bytes:
        """`MatchingEngine.submit_raw` with the checks; also takes an encoded
        risk command (a msgpack map, where engine commands are arrays)."""
        if cmd[:1] and (0x80 <= cmd[0] <= 0x8F or cmd[0] in (0xDE, 0xDF)):
            return mp.COMMAND_ENCODER.encode(self._risk_command(_RISK_COMMANDS.decode(cmd)))
        e = self.engine
        return e.submit_raw_with(lambda c: self._submit_one(e.table, *self._arrays(), c), cmd)

    def run(self, cmds: np.ndarray, on_events=None, chunk: int = 4096) -> int:
        """`MatchingEngine.run` with the checks."""
        e = self.engine
        return e.run_with(lambda c, i, j, first: self._run_batch(e.table, *self._arrays(), c, i,
                                                                 j, first),
                          cmds, on_events, chunk)

    # ------------------------------------------------------------ risk commands

    def _next_seq(self) -> int:
        self.engine.ctr[C_SEQ] += 1
        return int(self.engine.ctr[C_SEQ])

    def _risk_command(self, cmd: RiskCommand) -> list[Event]:
        if isinstance(cmd, SetLimit):
            return [self._set_limit(cmd)]
        if isinstance(cmd, SetAccountState):
            a = self.ref.account(cmd.account)
            if cmd.state not in ACCOUNT_STATES:
                raise ValueError(f"state must be one of {', '.join(ACCOUNT_STATES)}, "
                                 f"got {cmd.state!r}")
            old = _STATE_NAMES[int(self.accounts[a]["state"])]
            self.accounts[a]["state"] = ACCOUNT_STATES[cmd.state]
            return [AccountStateChanged(self._next_seq(), cmd.ts, cmd.account, old, cmd.state,
                                        cmd.by)]
        if isinstance(cmd, KillSwitch):
            return self._kill_switch(cmd)
        if isinstance(cmd, NewTradingDay):
            self.accounts["daily_qty"] = 0
            self.accounts["daily_notional"] = 0
            self.positions["bought"] = 0
            self.positions["sold"] = 0
            return [TradingDayStarted(self._next_seq(), cmd.ts, cmd.by)]
        raise TypeError(f"not a risk command: {cmd!r}")

    def _set_limit(self, cmd: SetLimit) -> LimitChanged:
        a = self.ref.account(cmd.account)
        if cmd.limit not in ACCOUNT_LIMITS:
            raise ValueError(f"unknown limit {cmd.limit!r}; one of {', '.join(ACCOUNT_LIMITS)}")
        if cmd.value is not None and cmd.value <= 0:
            raise ValueError(f"{cmd.limit} must be positive, got {cmd.value}")
        if (cmd.limit.endswith("per_second") and cmd.value is not None
                and cmd.value > MAX_RATE):      # the rings keep one slot per message
            raise ValueError(f"{cmd.limit} must be at most {MAX_RATE:,}, got {cmd.value}")
        if cmd.symbol is None:
            if cmd.limit == "position_limit":
                old = self._account_pair_limits.get((a, cmd.limit), NO_LIMIT)
            else:
                old = int(self.accounts[a][cmd.limit])
            self._set_account_limit(a, cmd.limit, cmd.value)
        else:
            if cmd.limit not in PAIR_LIMITS:
                raise ValueError(f"{cmd.limit} is not set per instrument")
            b = self.ref.instrument(cmd.symbol)
            old = int(self._pair(a, b)[cmd.limit])
            self._set_pair_limit(a, b, cmd.limit, cmd.value)
        if cmd.limit.endswith("per_second"):
            self._size_rings()
            self._bind_kernels()
        return LimitChanged(self._next_seq(), cmd.ts, cmd.account, cmd.symbol, cmd.limit,
                            None if old in (None, NO_LIMIT) else old, cmd.value, cmd.by)

    def _kill_switch(self, cmd: KillSwitch) -> list[Event]:
        if cmd.account is None:
            self.rctr[R_KILL] = int(cmd.on)
            target = -1
        else:
            target = self.ref.account(cmd.account)
            self.accounts[target]["kill"] = int(cmd.on)
        events: list[Event] = [KillSwitchChanged(self._next_seq(), cmd.ts, cmd.account,
                                                 cmd.on, cmd.cancel_orders, cmd.by)]
        if cmd.on and cmd.cancel_orders:
            events += self.submit_encoded(mp.COMMAND_ENCODER.encode(
                MassCancel(request_id=cmd.request_id, ts=cmd.ts, instrument=-1,
                           account=target)))
        return events

    # ------------------------------------------------------------ views

    def usage(self) -> list[dict]:
        """Limits, usage and headroom per account and instrument (money in
        currency units as decimal strings, quantities as integers, None: no limit)."""
        rows = []
        n_i = self.ref.instrument_count
        for a, name in enumerate(self.ref.account_names()):
            acc = self.accounts[a]
            per = []
            for b, symbol in enumerate(self.ref.symbols()):
                p = self.positions[a * n_i + b]
                last = int(self.engine.books[b]["last_price"])
                tick_money = int(self.instruments[b]["tick_money"])
                unreal = (int(p["position"]) * last * tick_money - int(p["cost"])) if last else 0
                per.append({
                    "symbol": symbol,
                    "position": int(p["position"]),
                    "open_buy": int(p["open_buy"]), "open_sell": int(p["open_sell"]),
                    "position_limit": _limit(p["position_limit"]),
                    "position_headroom": _headroom(p["position_limit"], p["exposure"]),
                    "max_order_qty": _limit(p["max_order_qty"]),
                    "restricted": bool(p["restricted"] or self.instruments[b]["restricted"]),
                    "bought": int(p["bought"]), "sold": int(p["sold"]),
                    "cost": money(int(p["cost"])),
                    "realised_pnl": money(int(p["realised"])),
                    "unrealised_pnl": money(unreal),
                    "last_price": format_ticks(last, self.ref.tick(b)) if last else None,
                })
            credit_used = int(acc["open_buy_notional"]) + max(int(acc["long_cost"]), 0)
            rows.append({
                "account": name,
                "state": _STATE_NAMES[int(acc["state"])],
                "kill_switch": bool(acc["kill"]) or bool(self.rctr[R_KILL]),
                "allow_short": None if acc["allow_short"] < 0 else bool(acc["allow_short"]),
                "open_orders": int(acc["open_orders"]),
                "max_open_orders": _limit(acc["max_open_orders"]),
                "credit_used": money(credit_used),
                "credit_limit": _money_limit(acc["credit_limit"]),
                "credit_headroom": _money_headroom(acc["credit_limit"], credit_used),
                "gross_exposure": int(acc["gross"]),
                "gross_position_limit": _limit(acc["gross_position_limit"]),
                "daily_qty": int(acc["daily_qty"]),
                "daily_qty_limit": _limit(acc["daily_qty_limit"]),
                "daily_notional": money(int(acc["daily_notional"])),
                "daily_notional_limit": _money_limit(acc["daily_notional_limit"]),
                "max_order_qty": _limit(acc["max_order_qty"]),
                "max_order_notional": _money_limit(acc["max_order_notional"]),
                "max_orders_per_second": _limit(acc["max_orders_per_second"]),
                "max_cancels_per_second": _limit(acc["max_cancels_per_second"]),
                "instruments": per,
            })
        return rows

    def reject_detail(self, event: Rejected) -> str:
        """`reject_detail`, knowing this gate's limits."""
        a = event.account
        known = 0 <= a < len(self.accounts)
        daily_money = (event.reason == ReasonCode.DAILY_LIMIT and known
                       and event.limit != int(self.accounts[a]["daily_qty_limit"]))
        shorting = known and int(self.accounts[a]["allow_short"]) == 1
        return reject_detail(event, self.ref, daily_money=daily_money, may_short=shorting)


# ------------------------------------------------------------------ text

_MONEY_REASONS = {ReasonCode.MAX_ORDER_NOTIONAL, ReasonCode.CREDIT_LIMIT}


def reject_detail(event: Rejected, ref: ReferenceData | None = None, *,
                  daily_money: bool = False, may_short: bool = False) -> str:
    """What a reject says to a person: the check, the limit and the value
    (``max order qty 1000 exceeded: 1500``). `daily_money`: a DAILY_LIMIT
    reject is of the notional limit; `may_short`: the account may sell short
    if the order says so."""
    reason = ReasonCode(event.reason)
    if reason.layer != "risk" or (event.limit == 0 and event.value == 0):
        return reason.text
    limit, value = event.limit, event.value
    if reason == ReasonCode.PRICE_COLLAR and ref is not None:
        tick = ref.tick(event.instrument)
        side = "above" if value > limit else "below"
        return (f"price collar: {format_ticks(value, tick)} is {side} the collar "
                f"{format_ticks(limit, tick)}")
    if reason == ReasonCode.DAILY_LIMIT:
        what = "daily notional" if daily_money else "daily qty"
        shown = money if daily_money else str
        return f"{what} limit {shown(limit)} exceeded: {shown(value)}"
    if reason in _MONEY_REASONS:
        return f"{reason.text} {money(limit)} exceeded: {money(value)}"
    if reason == ReasonCode.SHORT_SALE:
        rule = "mark the order short" if may_short else "the account may not sell short"
        return f"short sale: selling {value} with {limit} available long; {rule}"
    if reason == ReasonCode.ACCOUNT_REDUCING:
        return (f"account may only reduce its position: {limit} to reduce, {value} "
                f"would be open")
    return f"{reason.text} {limit} exceeded: {value}"


def money(units: int) -> str:
    """Micro-units as a decimal string with at least 2 places: 1234500000 -> "1234.50"."""
    sign = "-" if units < 0 else ""
    whole, frac = divmod(abs(units), MICRO)
    text = f"{frac:06d}".rstrip("0").ljust(2, "0")
    return f"{sign}{whole}.{text}"


def _limit(v) -> int | None:
    return None if int(v) == NO_LIMIT else int(v)


def _money_limit(v) -> str | None:
    return None if int(v) == NO_LIMIT else money(int(v))


def _headroom(limit, used) -> int | None:
    return None if int(limit) == NO_LIMIT else int(limit) - int(used)


def _money_headroom(limit, used) -> str | None:
    return None if int(limit) == NO_LIMIT else money(int(limit) - int(used))
