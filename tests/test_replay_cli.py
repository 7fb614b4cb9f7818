"""`oms replay` end to end: the real command in a subprocess, real files.

The CSV contract is what outside checks depend on, so these tests pin it:
headers, row order, decimal formatting, bad-line reporting and exit codes.
"""
import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

HEADER = "action,order_id,account,symbol,side,ord_type,tif,price,qty\n"


def oms(*args, cwd=None):
    env = dict(os.environ)
    return subprocess.run([sys.executable, "-m", "oms.cli", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=300)


def write(tmp_path: Path, body: str, name="flow.csv") -> Path:
    p = tmp_path / name
    p.write_text(HEADER + body)
    return p


def read(path: Path) -> list[list[str]]:
    with open(path, newline="") as f:
        return list(csv.reader(f))


def replay(tmp_path, body, *extra):
    flow = write(tmp_path, body)
    trades, book = tmp_path / "trades.csv", tmp_path / "book.csv"
    r = oms("replay", str(flow), "--trades-out", str(trades), "--book-out", str(book), *extra)
    return r, read(trades) if trades.exists() else None, read(book) if book.exists() else None


def test_trades_and_book_follow_the_contract(tmp_path):
    r, trades, book = replay(tmp_path, (
        "new,1,A,XYZ,buy,limit,day,10.00,100\n"
        "new,2,B,XYZ,buy,limit,gtc,10.01,50\n"
        "new,3,C,XYZ,sell,limit,day,10.02,70\n"
        "new,4,D,XYZ,sell,limit,ioc,9.99,120\n"       # sweeps 10.01 then 10.00
        "new,5,A,ABC,sell,limit,day,5.5,10\n"
        "new,6,B,XYZ,buy,limit,day,10.00,30\n"
    ), "--tick", "0.01")
    assert r.returncode == 0, r.stderr
    assert trades == [
        ["trade_id", "symbol", "price", "qty", "buy_order_id", "sell_order_id", "aggressor"],
        ["1", "XYZ", "10.01", "50", "2", "4", "sell"],
        ["2", "XYZ", "10.00", "70", "1", "4", "sell"],
    ]
    assert book == [
        ["symbol", "side", "price", "order_id", "leaves_qty"],
        ["ABC", "sell", "5.50", "5", "10"],
        ["XYZ", "buy", "10.00", "1", "30"],
        ["XYZ", "buy", "10.00", "6", "30"],
        ["XYZ", "sell", "10.02", "3", "70"],
    ]
    assert r.stderr == ""
    summary = r.stdout.strip().splitlines()[-1]
    assert "6 commands" in summary and "2 trades" in summary and "0 rejects" in summary
    assert "4 resting orders" in summary and "commands/s" in summary


def test_cancel_and_replace_with_empty_fields(tmp_path):
    r, trades, book = replay(tmp_path, (
        "new,1,A,XYZ,buy,limit,day,10.00,100\n"
        "new,2,A,XYZ,buy,limit,day,10.00,100\n"
        "cancel,1,A,XYZ,,,,,\n"
        "replace,2,A,XYZ,,limit,,10.00,60\n"          # smaller: keeps priority
        "new,3,A,XYZ,buy,limit,day,10.00,10\n"
        "replace,2,A,XYZ,,limit,,10.00,80\n"          # larger: to the back
        "new,4,B,XYZ,sell,market,ioc,,200\n"
    ), "--tick", "0.01")
    assert r.returncode == 0, r.stderr
    assert [row[4:6] for row in trades[1:]] == [["3", "4"], ["2", "4"]]
    assert [row[3] for row in trades[1:]] == ["10", "80"]
    assert book == [["symbol", "side", "price", "order_id", "leaves_qty"]]


def test_replace_to_the_filled_quantity_ends_the_order(tmp_path):
    r, trades, book = replay(tmp_path, (
        "new,1,A,XYZ,buy,limit,day,10.00,100\n"
        "new,2,B,XYZ,sell,limit,ioc,10.00,40\n"
        "replace,1,A,XYZ,,,,10.00,40\n"
        "new,3,B,XYZ,sell,limit,day,10.00,5\n"
    ), "--tick", "0.01")
    assert r.returncode == 0
    assert len(trades) == 2
    assert book[1:] == [["XYZ", "sell", "10.00", "3", "5"]]


@pytest.mark.parametrize("line, reason", [
    ("new,1,A,XYZ,buy,limit,day,10.00,100", "duplicate_order_id"),   # id still live
    ("new,9,A,XYZ,buy,limit,day,10.00,0", "qty_not_positive"),
    ("new,9,A,XYZ,buy,limit,day,10.00,-5", "qty_not_positive"),
    ("new,9,A,XYZ,buy,limit,day,10.005,10", "off_tick"),
    ("new,9,A,XYZ,buy,limit,day,ten,10", "bad_decimal"),
    ("cancel,77,A,XYZ,,,,,", "unknown_order"),
    ("replace,77,A,XYZ,,limit,,10.00,5", "unknown_order"),
    ("amend,9,A,XYZ,buy,limit,day,10.00,10", "unknown_action"),
    ("new,9,A,XYZ,up,limit,day,10.00,10", "bad_value"),
    ("new,9,A,XYZ,buy,limit,day,,10", "missing_field"),
    ("new,x9,A,XYZ,buy,limit,day,10.00,10", "bad_integer"),
    ("new,9,A,XYZ,buy,limit,day,10.00", "missing_field"),
])
def test_a_bad_line_is_reported_and_changes_nothing(tmp_path, line, reason):
    good = "new,1,A,XYZ,buy,limit,day,10.00,100\n"
    after = "new,2,B,XYZ,sell,limit,day,10.00,40\n"
    r, trades, book = replay(tmp_path, good + line + "\n" + after, "--tick", "0.01")
    assert r.returncode == 0
    assert f":3: {reason}:" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert trades[1:] == [["1", "XYZ", "10.00", "40", "1", "2", "sell"]]
    assert book[1:] == [["XYZ", "buy", "10.00", "1", "60"]]


def test_a_finished_order_id_is_never_reused(tmp_path):
    r, trades, book = replay(tmp_path, (
        "new,1,A,XYZ,buy,limit,day,10.00,10\n"
        "cancel,1,A,XYZ,,,,,\n"
        "new,1,A,XYZ,buy,limit,day,10.00,10\n"
        "cancel,1,A,XYZ,,,,,\n"
    ), "--tick", "0.01")
    assert ":4: duplicate_order_id:" in r.stderr
    assert ":5: too_late:" in r.stderr
    assert book[1:] == []


def test_config_venue_rejects_unknown_symbols_and_accounts(tmp_path):
    r, trades, book = replay(tmp_path, (
        "new,1,ALICE,NOPE,buy,limit,day,10.00,10\n"
        "new,2,MALLORY,AAPL,buy,limit,day,10.00,10\n"
        "new,3,ALICE,F,buy,limit,day,10.00,150\n"        # lot 100
        "new,4,ALICE,AAPL,buy,limit,day,2000.00,10\n"    # outside the band
        "new,5,ALICE,AAPL,buy,limit,day,100.00,10\n"
    ))
    assert r.returncode == 0
    for line, reason in [(2, "unknown_symbol"), (3, "unknown_account"), (4, "off_lot"),
                         (5, "outside_price_band")]:
        assert f":{line}: {reason}:" in r.stderr
    assert book[1:] == [["AAPL", "buy", "100.00", "5", "10"]]


def test_config_file(tmp_path):
    cfg = tmp_path / "venue.toml"
    cfg.write_text('[instruments.XYZ]\ntick_size = "0.05"\n\n[accounts.A]\n')
    r, trades, book = replay(tmp_path, "new,1,A,XYZ,buy,limit,day,10.05,10\n"
                                       "new,2,A,XYZ,buy,limit,day,10.01,10\n",
                             "--config", str(cfg))
    assert r.returncode == 0
    assert ":3: off_tick:" in r.stderr
    assert book[1:] == [["XYZ", "buy", "10.05", "1", "10"]]


def test_wrong_header_is_an_error_without_traceback(tmp_path):
    flow = tmp_path / "flow.csv"
    flow.write_text("action,id,account\nnew,1,A\n")
    r = oms("replay", str(flow), "--tick", "0.01")
    assert r.returncode == 2
    assert "expected the header" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("args", [
    ["replay", "/nonexistent/flow.csv", "--tick", "0.01"],
    ["replay", "flow.csv", "--tick", "0"],
    ["replay", "flow.csv", "--config", "/nonexistent.toml"],
])
def test_unusable_inputs_exit_2_without_traceback(tmp_path, args):
    write(tmp_path, "new,1,A,XYZ,buy,limit,day,10.00,10\n")
    r = oms(*args, cwd=tmp_path)
    assert r.returncode == 2, r
    assert r.stderr.startswith("oms: error:") and "Traceback" not in r.stderr


def test_empty_file(tmp_path):
    flow = tmp_path / "flow.csv"
    flow.write_text("")
    r = oms("replay", str(flow), "--tick", "0.01")
    assert r.returncode == 2 and "empty" in r.stderr


def test_header_only_and_blank_lines(tmp_path):
    r, trades, book = replay(tmp_path, "\n\n", "--tick", "0.01")
    assert r.returncode == 0 and trades == [TRADES_HEADER] and book == [BOOK_HEADER]


TRADES_HEADER = ["trade_id", "symbol", "price", "qty", "buy_order_id", "sell_order_id",
                 "aggressor"]
BOOK_HEADER = ["symbol", "side", "price", "order_id", "leaves_qty"]


def test_demo_runs():
    r = oms("demo", "--orders", "2000")
    assert r.returncode == 0, r.stderr
    assert "Trades:" in r.stdout and "Final book" in r.stdout and "M commands/s" in r.stdout


def test_config_command_shows_the_builtin_venue():
    r = oms("config")
    assert r.returncode == 0 and "AAPL" in r.stdout and "FIRMA-MM" in r.stdout


def test_bad_config_names_the_key(tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text('[instruments.XYZ]\ntick_size = "0"\n\n[accounts.A]\n')
    r = oms("config", str(cfg))
    assert r.returncode == 2
    assert "instruments.XYZ.tick_size: must be a positive decimal" in r.stderr
