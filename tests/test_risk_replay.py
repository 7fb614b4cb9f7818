"""Every pre-trade reject reason through `oms replay --config ... --rejects-out`.

One venue, one flow: each account is set up to trip one check, and for each
the flow sends an order exactly at the limit (accepted) and one past it
(refused). The real command runs once, in a subprocess; each reason is then
its own test over the REJECTS file it wrote.
"""
import csv
import os
import subprocess
import sys

import pytest

VENUE = """
[instruments.AAPL]
tick_size = "0.01"

[instruments.HALT]
tick_size = "0.01"

[instruments.BAN]
tick_size = "0.01"

[instruments.NOREF]
tick_size = "0.01"

[accounts.QTY]
[accounts.NTL]
[accounts.COL]
[accounts.CRD]
[accounts.POS]
[accounts.GRS]
[accounts.OPN]
[accounts.RATE]
[accounts.RST]
[accounts.SHT]
[accounts.DLY]
[accounts.HLT]
[accounts.RED]
[accounts.KIL]
[accounts.ANY]

[risk.instruments.AAPL]
reference_price = "100.00"
collar_percent = "10"

[risk.instruments.HALT]
halted = true

[risk.instruments.BAN]
restricted = true

[risk.instruments.NOREF]
collar_ticks = 50

[risk.accounts.QTY]
max_order_qty = 1000

[risk.accounts.NTL]
max_order_notional = "10000"

[risk.accounts.CRD]
credit_limit = "20000"

[risk.accounts.POS]
position_limit = 500

[risk.accounts.GRS]
gross_position_limit = 300

[risk.accounts.OPN]
max_open_orders = 2

[risk.accounts.RATE]
max_orders_per_second = 2

[risk.accounts.RST]
restricted = ["AAPL"]

[risk.accounts.SHT]
allow_short = false

[risk.accounts.DLY]
daily_qty_limit = 100

[risk.accounts.HLT]
state = "halted"

[risk.accounts.RED]
state = "reducing"

[risk.accounts.KIL]
kill_switch = true
"""

# (line in the file, order_id) of every refused line, by reason; the line
# before each is the same order exactly at the limit, which must pass.
FLOW = [
    # action,order_id,account,symbol,side,ord_type,tif,price,qty,time
    # the collar first, with IOC orders, while the reference is the configured 100.00
    ("new", 5, "COL", "AAPL", "buy", "limit", "ioc", "110.00", 1, ""),
    ("new", 6, "COL", "AAPL", "buy", "limit", "ioc", "110.01", 1, ""),
    ("new", 7, "COL", "AAPL", "sell", "limit", "ioc", "90.00", 1, ""),
    ("new", 8, "COL", "AAPL", "sell", "limit", "ioc", "89.99", 1, ""),
    # from here on only bids rest, so the reference stays 100.00
    ("new", 1, "QTY", "AAPL", "buy", "limit", "day", "90.00", 1000, ""),
    ("new", 2, "QTY", "AAPL", "buy", "limit", "day", "90.00", 1001, ""),
    ("new", 3, "NTL", "AAPL", "buy", "limit", "day", "100.00", 100, ""),
    ("new", 4, "NTL", "AAPL", "buy", "limit", "day", "100.01", 100, ""),
    ("new", 9, "CRD", "AAPL", "buy", "limit", "day", "100.00", 200, ""),
    ("new", 10, "CRD", "AAPL", "buy", "limit", "day", "100.00", 1, ""),
    ("new", 11, "POS", "AAPL", "buy", "limit", "day", "90.00", 500, ""),
    ("new", 12, "POS", "AAPL", "buy", "limit", "day", "90.00", 1, ""),
    ("new", 13, "GRS", "AAPL", "buy", "limit", "day", "90.00", 300, ""),
    ("new", 14, "GRS", "NOREF", "buy", "limit", "day", "90.00", 1, ""),
    ("new", 15, "OPN", "AAPL", "buy", "limit", "day", "90.00", 1, ""),
    ("new", 16, "OPN", "AAPL", "buy", "limit", "day", "90.00", 1, ""),
    ("new", 17, "OPN", "AAPL", "buy", "limit", "day", "90.00", 1, ""),
    ("new", 18, "RATE", "AAPL", "buy", "limit", "day", "90.00", 1, "1000000000"),
    ("new", 19, "RATE", "AAPL", "buy", "limit", "day", "90.00", 1, "1500000000"),
    ("new", 20, "RATE", "AAPL", "buy", "limit", "day", "90.00", 1, "1999999999"),
    ("new", 21, "RATE", "AAPL", "buy", "limit", "day", "90.00", 1, "2000000000"),
    ("new", 22, "RST", "NOREF", "buy", "limit", "day", "90.00", 1, ""),
    ("new", 23, "RST", "AAPL", "buy", "limit", "day", "90.00", 1, ""),
    ("new", 24, "SHT", "AAPL", "sell_short", "limit", "day", "101.00", 1, ""),
    ("new", 25, "DLY", "AAPL", "buy", "limit", "day", "90.00", 100, ""),
    ("new", 26, "DLY", "AAPL", "buy", "limit", "day", "90.00", 1, ""),
    ("new", 27, "HLT", "AAPL", "buy", "limit", "day", "90.00", 1, ""),
    ("new", 28, "RED", "AAPL", "buy", "limit", "day", "90.00", 1, ""),
    ("new", 29, "KIL", "AAPL", "buy", "limit", "day", "90.00", 1, ""),
    ("new", 30, "ANY", "HALT", "buy", "limit", "day", "90.00", 1, ""),
    ("new", 31, "ANY", "BAN", "buy", "limit", "day", "90.00", 1, ""),
    ("new", 32, "ANY", "NOREF", "buy", "market", "ioc", "", 1, ""),
    ("new", 1, "ANY", "AAPL", "buy", "limit", "day", "90.00", 1, ""),
    ("new", 33, "ANY", "AAPL", "buy", "limit", "day", "90.001", 1, ""),
    ("cancel", 999, "ANY", "AAPL", "", "", "", "", "", ""),
]
HEADER = "action,order_id,account,symbol,side,ord_type,tif,price,qty,time"

# reason -> (order id refused, a piece of its detail); the file line follows
# from FLOW. Orders not listed here must be accepted.
EXPECTED = {
    "price_collar": (8, "price collar: 89.99 is below the collar 90.00"),
    "max_order_qty": (2, "max order qty 1000 exceeded: 1001"),
    "max_order_notional": (4, "max order notional 10000.00 exceeded: 10001.00"),
    "credit_limit": (10, "credit limit 20000.00 exceeded: 20100.00"),
    "position_limit": (12, "position limit 500 exceeded: 501"),
    "gross_position_limit": (14, "gross position limit 300 exceeded: 301"),
    "max_open_orders": (17, "max open orders 2 exceeded: 3"),
    "rate_limit": (20, "2 exceeded: 3"),
    "restricted": (23, "restricted"),
    "short_sale": (24, "the account may not sell short"),
    "daily_limit": (26, "daily qty limit 100 exceeded: 101"),
    "account_halted": (27, "account halted"),
    "account_reducing": (28, "may only reduce"),
    "kill_switch": (29, "kill switch"),
    "instrument_halted": (30, "instrument halted"),
    "no_reference_price": (32, "no reference price"),
    "duplicate_order_id": (1, "already used"),
    "off_tick": (33, "tick"),
    "unknown_order": (999, "no such order"),
}
EXTRA_REJECTS = {("price_collar", 6), ("restricted", 31)}   # the buy side; the global list


@pytest.fixture(scope="module")
def rejects(tmp_path_factory):
    d = tmp_path_factory.mktemp("risk_replay")
    (d / "venue.toml").write_text(VENUE)
    lines = [HEADER] + [",".join(str(v) for v in row) for row in FLOW]
    (d / "flow.csv").write_text("\n".join(lines) + "\n")
    r = subprocess.run([sys.executable, "-m", "oms.cli", "replay", str(d / "flow.csv"),
                        "--config", str(d / "venue.toml"), "--rejects-out",
                        str(d / "rejects.csv")], capture_output=True, text=True,
                       env=dict(os.environ), timeout=600)
    assert r.returncode == 0, r.stderr
    with open(d / "rejects.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["line", "order_id", "reason", "detail"]
    return rows[1:], r.stderr


def _line_of(order_id: int, reason: str) -> int:
    """File line of the FLOW row with this order id (the second one for the
    duplicate id)."""
    hits = [i + 2 for i, row in enumerate(FLOW) if row[1] == order_id]
    return hits[-1] if reason == "duplicate_order_id" else hits[0]


@pytest.mark.parametrize("reason", sorted(EXPECTED))
def test_each_reject_reason_is_reported_with_its_line_and_detail(rejects, reason):
    rows, stderr = rejects
    order_id, detail = EXPECTED[reason]
    line = _line_of(order_id, reason)
    match = [r for r in rows if r[2] == reason and r[1] == str(order_id)]
    assert len(match) == 1, rows
    assert match[0][0] == str(line)
    assert detail in match[0][3]
    assert f":{line}: {reason}: " in stderr


def test_orders_exactly_at_their_limits_pass(rejects):
    rows, _ = rejects
    refused = {(r[2], int(r[1])) for r in rows}
    expected = {(reason, oid) for reason, (oid, _) in EXPECTED.items()} | EXTRA_REJECTS
    assert refused == expected


def test_rejects_are_in_file_order(rejects):
    rows, _ = rejects
    assert [int(r[0]) for r in rows] == sorted(int(r[0]) for r in rows)


def test_tick_mode_has_no_limits(tmp_path):
    flow = tmp_path / "flow.csv"
    flow.write_text("action,order_id,account,symbol,side,ord_type,tif,price,qty\n"
                    "new,1,A,X,buy,limit,day,1.00,999999999\n"
                    "new,2,A,X,sell,limit,day,1.00,5\n")
    out = tmp_path / "rejects.csv"
    r = subprocess.run([sys.executable, "-m", "oms.cli", "replay", str(flow), "--tick", "0.01",
                        "--rejects-out", str(out)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert out.read_text() == "line,order_id,reason,detail\n"
