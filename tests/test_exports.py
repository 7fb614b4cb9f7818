"""Compliance exports against values computed independently of `reporting.exports`.

One replay of the bundled demo flow writes TRADES.csv (the replay's own
output path) and a journal; the exports made from the journal must agree
with the replay's trades, and the summary with sums computed here from them.
"""
import csv
import io
import json
import subprocess
import sys
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from reporting.exports import Filters, iso_time, make_report, verify_export, write_report

DEMO = Path(__file__).resolve().parent.parent / "oms" / "data" / "demo_flow.csv"


def oms(*args):
    return subprocess.run([sys.executable, "-m", "oms.cli", *args], capture_output=True,
                          text=True, timeout=600)


@pytest.fixture(scope="module")
def replayed(tmp_path_factory):
    d = tmp_path_factory.mktemp("exports")
    journal, trades = d / "journal", d / "trades.csv"
    r = oms("replay", str(DEMO), "--journal", str(journal), "--trades-out", str(trades))
    assert r.returncode == 0, r.stderr
    with open(trades, newline="") as f:
        return journal, list(csv.DictReader(f))


def rows_of(data: bytes) -> list[dict]:
    text = data.decode()
    body = "".join(line + "\n" for line in text.splitlines() if not line.startswith("#"))
    return list(csv.DictReader(io.StringIO(body)))


def test_trades_export_matches_the_replays_own_trades(replayed):
    journal, trades = replayed
    data, manifest = make_report("trades", journal)
    rows = rows_of(data)
    assert [(r["trade_id"], r["symbol"], r["price"], r["qty"], r["buy_order_id"],
             r["sell_order_id"], r["aggressor"]) for r in rows] == \
        [(t["trade_id"], t["symbol"], t["price"], t["qty"], t["buy_order_id"],
          t["sell_order_id"], t["aggressor"]) for t in trades]
    for r in rows:
        assert {r["buy_liquidity"], r["sell_liquidity"]} == {"added", "removed"}
        assert (r["buy_liquidity"] == "removed") == (r["aggressor"] == "buy")
        assert r["execution_time"].endswith("Z") and len(r["execution_time"]) == 27
    assert manifest["rows"] == len(trades)


def test_summary_volume_notional_and_vwap_equal_sums_of_the_trades(replayed):
    journal, trades = replayed
    data, _ = make_report("trades", journal)
    volume, money = defaultdict(int), defaultdict(Decimal)
    for r in rows_of(data):
        for account in (r["buy_account"], r["sell_account"]):
            volume[(account, r["symbol"])] += int(r["qty"])
            money[(account, r["symbol"])] += Decimal(r["price"]) * int(r["qty"])
    summary = {(r["account"], r["symbol"]): r for r in rows_of(make_report("summary", journal)[0])}
    for key, vol in volume.items():
        row = summary[key]
        assert int(row["volume"]) == vol
        assert Decimal(row["notional"]) == money[key]
        assert abs(Decimal(row["vwap"]) - money[key] / vol) < Decimal("0.0001")


def test_orders_export_follows_each_order_through_its_life(replayed):
    journal, _ = replayed
    rows = rows_of(make_report("orders", journal)[0])
    life = defaultdict(list)
    for r in rows:
        life[r["order_id"]].append(r["event"])
    # order 6 (ALICE buys 500 AAPL) is received, accepted, and fills against three sellers
    assert life["6"][:2] == ["received", "accepted"]
    assert sum(1 for e in life["6"] if e in ("fill", "filled")) >= 2
    rejected = [r for r in rows if r["event"] == "rejected"]
    assert {r["reason"] for r in rejected} >= {"unknown_order", "duplicate_order_id"}


def test_filters_select_by_account_symbol_and_time(replayed):
    journal, trades = replayed
    only = rows_of(make_report("trades", journal, filters=Filters(account="BOB"))[0])
    assert only and all("BOB" in (r["buy_account"], r["sell_account"]) for r in only)
    aapl = rows_of(make_report("trades", journal, filters=Filters(symbol="AAPL"))[0])
    assert len(aapl) == sum(1 for t in trades if t["symbol"] == "AAPL")
    first = rows_of(make_report("trades", journal)[0])[0]
    later = rows_of(make_report("trades", journal, filters=Filters(start=7_000))[0])
    assert first["trade_id"] not in {r["trade_id"] for r in later}


def test_jsonl_starts_with_the_provenance(replayed):
    journal, _ = replayed
    data, manifest = make_report("summary", journal, "jsonl")
    lines = data.decode().splitlines()
    head = json.loads(lines[0])
    assert head["records"] == manifest["records"] and head["chain_head"] == manifest["chain_head"]
    assert len(lines) == manifest["rows"] + 1


def test_an_export_verifies_and_a_changed_one_does_not(replayed, tmp_path):
    journal, _ = replayed
    out = tmp_path / "trades.csv"
    write_report(out, *make_report("trades", journal))
    assert verify_export(out, journal) == []
    out.write_text(out.read_text().replace(",AAPL,", ",MSFT,", 1))
    problems = verify_export(out, journal)
    assert any("SHA-256" in p for p in problems) and any("different" in p for p in problems)


def test_report_cli_writes_the_manifest_and_verifies(replayed, tmp_path):
    journal, _ = replayed
    out = tmp_path / "orders.jsonl"
    r = oms("report", "orders", "--journal", str(journal), "--format", "jsonl", "-o", str(out))
    assert r.returncode == 0, r.stderr
    manifest = json.loads(Path(str(out) + ".manifest.json").read_text())
    assert manifest["report"] == "orders" and manifest["format"] == "jsonl"
    r = oms("report", "verify", str(out), "--journal", str(journal))
    assert r.returncode == 0, r.stderr
    r = oms("report", "trades", "--journal", str(tmp_path / "nowhere"))
    assert r.returncode == 1 and "Traceback" not in r.stderr


def test_iso_time_has_microseconds_and_truncates():
    assert iso_time(1_340_280_000_123_456_789) == "2012-06-21T12:00:00.123456Z"
    assert iso_time(999) == "1970-01-01T00:00:00.000000Z"
