"""Risk commands and their events: limit changes, account states, kill
switches and the start of a trading day.

They go through the same stream as orders (`RiskGate.submit`), take the
engine's next sequence number, and name who asked (`by`: a user or session),
so that the journal shows who changed what and when.
"""
from __future__ import annotations

from msgspec import Struct

from engine.events import Event


class RiskCommand(Struct, frozen=True, tag_field="kind"):
    """Base of the risk commands."""
    ts: int
    by: str = ""


class SetLimit(RiskCommand, tag="set_limit"):
    """Set an account limit (`risk.gate.ACCOUNT_LIMITS`), or with `symbol`
    the per-instrument max_order_qty or position_limit; None removes it.
    Money limits are in micro-units of the currency."""
    account: str = ""
    limit: str = ""
    value: int | None = None
    symbol: str | None = None


class SetAccountState(RiskCommand, tag="set_account_state"):
    """active, reducing (only orders that reduce the position) or halted
    (nothing new; cancels allowed)."""
    account: str = ""
    state: str = "active"


class KillSwitch(RiskCommand, tag="kill_switch"):
    """Block new orders of one account (or, with account None, of everyone);
    with `cancel_orders`, also cancel their open orders in the same command."""
    account: str | None = None
    on: bool = True
    cancel_orders: bool = False
    request_id: int = 0


class NewTradingDay(RiskCommand, tag="new_trading_day"):
    """Reset the daily traded quantity and notional of every account."""


class LimitChanged(Event, tag=101):
    account: str
    symbol: str | None
    limit: str
    old: int | None
    new: int | None
    by: str


class AccountStateChanged(Event, tag=102):
    account: str
    old: str
    new: str
    by: str


class KillSwitchChanged(Event, tag=103):
    account: str | None
    on: bool
    cancel_orders: bool
    by: str


class TradingDayStarted(Event, tag=104):
    by: str
