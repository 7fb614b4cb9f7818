"""`oms risk show`: limits, usage and headroom per account and instrument.

Usage is what the gate holds after the commands it has seen: none for a
venue just started, or those of an order flow given with ``--flow`` (run
through the checks, as `oms replay` would). "-" is a limit that is not set.
"""
from __future__ import annotations

import json
import sys
from typing import TextIO

from engine.config import Config
from engine.refdata import ReferenceData


def build_gate(config: Config, flow: str | None, err: TextIO = sys.stderr):
    """The gate of `config`, after the order flow `flow` if given."""
    from risk.gate import RiskGate
    ref = ReferenceData.from_config(config)
    gate = RiskGate(config, ref=ref)
    if flow is not None:
        from .replay import read_flow, replay
        result = replay(read_flow(flow, ref), gate, ref, detail=gate.reject_detail)
        print(f"{flow}: {result.commands} commands, {len(result.trades)} trades, "
              f"{len(result.rejects)} rejects", file=err)
    return gate


def gate_of_journal(directory: str, config: Config | None = None):
    """The gate in the state the journal describes. The journal carries its
    own venue; a `config` given as well must be the same configuration."""
    from reporting.reader import JournalError
    from .rebuild import rebuild
    ref, gate, stream = rebuild(directory)
    if not hasattr(gate, "usage"):
        raise JournalError("the journal's venue is open-ended (oms replay --tick): it has no "
                           "risk limits to show")
    if config is not None and config.text != stream.venue.config:
        raise JournalError(f"the journal ran on {stream.venue.source}, whose configuration "
                           f"differs from {config.source}")
    return gate


def show(gate, as_json: bool, out: TextIO = sys.stdout) -> None:
    rows = gate.usage()
    if as_json:
        print(json.dumps({"accounts": rows}), file=out)
        return
    for acc in rows:
        print(_account_line(acc), file=out)
        print(f"  {'':<10}{'used':>18}{'limit':>18}{'headroom':>18}", file=out)
        for label, used, limit, headroom in _account_limits(acc):
            print(f"  {label:<10}{used:>18}{limit:>18}{headroom:>18}", file=out)
        shown = [i for i in acc["instruments"] if _worth_showing(i)]
        if shown:
            print(f"  {'symbol':<10}{'position':>10}{'open buy':>10}{'open sell':>10}"
                  f"{'pos limit':>12}{'headroom':>10}{'max qty':>10}{'realised':>14}"
                  f"{'unrealised':>14}", file=out)
        for i in shown:
            symbol = i["symbol"] + (" (restricted)" if i["restricted"] else "")
            print(f"  {symbol:<10}{i['position']:>10}{i['open_buy']:>10}{i['open_sell']:>10}"
                  f"{_s(i['position_limit']):>12}{_s(i['position_headroom']):>10}"
                  f"{_s(i['max_order_qty']):>10}{i['realised_pnl']:>14}"
                  f"{i['unrealised_pnl']:>14}", file=out)
        print(file=out)


def _account_line(acc: dict) -> str:
    flags = [acc["state"]]
    if acc["kill_switch"]:
        flags.append("KILL SWITCH ON")
    if acc["allow_short"] is not None:
        flags.append("short selling " + ("if marked" if acc["allow_short"] else "not allowed"))
    per_second = (f"orders/s {_s(acc['max_orders_per_second'])}, cancels/s "
                  f"{_s(acc['max_cancels_per_second'])}")
    return (f"{acc['account']}: {', '.join(flags)}; max order qty {_s(acc['max_order_qty'])}, "
            f"max order notional {_s(acc['max_order_notional'])}; {per_second}")


def _account_limits(acc: dict) -> list[tuple[str, str, str, str]]:
    def row(label, used, limit, headroom=None):
        if headroom is None and limit is not None:
            headroom = _minus(limit, used)
        return label, str(used), _s(limit), _s(headroom)
    return [
        row("credit", acc["credit_used"], acc["credit_limit"], acc["credit_headroom"]),
        row("gross", acc["gross_exposure"], acc["gross_position_limit"]),
        row("orders", acc["open_orders"], acc["max_open_orders"]),
        row("daily qty", acc["daily_qty"], acc["daily_qty_limit"]),
        row("daily ntl", acc["daily_notional"], acc["daily_notional_limit"]),
    ]


def _minus(limit, used):
    if isinstance(limit, int):
        return limit - used
    from decimal import Decimal
    return str(Decimal(limit) - Decimal(used))


def _worth_showing(i: dict) -> bool:
    return bool(i["position"] or i["open_buy"] or i["open_sell"] or i["restricted"]
                or i["position_limit"] is not None or i["max_order_qty"] is not None
                or i["realised_pnl"] != "0.00")


def _s(value) -> str:
    return "-" if value is None else str(value)
