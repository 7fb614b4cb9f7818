"""`oms risk show` and `oms bench risk`, the real commands in subprocesses."""
import json
import subprocess
import sys

VENUE = """
[instruments.AAPL]
tick_size = "0.01"

[accounts.ALICE]
[accounts.BOB]

[risk.accounts.ALICE]
credit_limit = "100000"
position_limit = 1000
"""

FLOW = """action,order_id,account,symbol,side,ord_type,tif,price,qty
new,1,ALICE,AAPL,buy,limit,day,100.00,300
new,2,BOB,AAPL,sell,limit,day,100.00,100
new,3,ALICE,AAPL,buy,limit,day,99.00,2000
"""


def oms(*args):
    return subprocess.run([sys.executable, "-m", "oms.cli", *args], capture_output=True,
                          text=True, timeout=600)


def test_risk_show_reports_usage_and_headroom_after_a_flow(tmp_path):
    (tmp_path / "venue.toml").write_text(VENUE)
    (tmp_path / "flow.csv").write_text(FLOW)
    r = oms("risk", "show", "--config", str(tmp_path / "venue.toml"), "--flow",
            str(tmp_path / "flow.csv"), "--json")
    assert r.returncode == 0, r.stderr
    shown = json.loads(r.stdout.strip().splitlines()[-1])
    alice = next(a for a in shown["accounts"] if a["account"] == "ALICE")
    aapl = alice["instruments"][0]
    assert (aapl["position"], aapl["open_buy"], aapl["position_limit"]) == (100, 200, 1000)
    assert aapl["position_headroom"] == 700
    assert alice["credit_used"] == "30000.00"          # 200 open + 100 held, at 100.00
    assert alice["credit_headroom"] == "70000.00"
    assert alice["open_orders"] == 1                    # order 3 was over the position limit
    assert "1 rejects" in r.stderr


def test_risk_show_prints_a_table(tmp_path):
    (tmp_path / "venue.toml").write_text(VENUE)
    r = oms("risk", "show", "--config", str(tmp_path / "venue.toml"))
    assert r.returncode == 0, r.stderr
    assert "ALICE: active" in r.stdout and "BOB: active" in r.stdout
    assert "100000.00" in r.stdout                      # the credit limit


def test_risk_show_names_a_bad_key(tmp_path):
    (tmp_path / "venue.toml").write_text(VENUE + "max_orders = 5\n")
    r = oms("risk", "show", "--config", str(tmp_path / "venue.toml"))
    assert r.returncode == 2
    assert "risk.accounts.ALICE.max_orders: unknown key" in r.stderr
    assert "Traceback" not in r.stderr


def test_bench_risk_prints_its_figures_as_json():
    r = oms("bench", "risk", "--orders", "3000", "--json")
    assert r.returncode == 0, r.stderr
    figures = json.loads(r.stdout.strip().splitlines()[-1])
    for key in ("risk_added_p50_ns", "risk_submit_p50_ns", "submit_p50_ns",
                "risk_batch_cmds_per_s", "batch_cmds_per_s", "risk_rejects"):
        assert key in figures
    assert figures["risk_rejects"] == 0


def test_bench_journal_prints_its_figures_as_json(tmp_path):
    r = oms("bench", "journal", "--records", "3000", "--always-records", "20", "--dir",
            str(tmp_path), "--json")
    assert r.returncode == 0, r.stderr
    figures = json.loads(r.stdout.strip().splitlines()[-1])
    for mode in ("none", "group", "always"):
        assert figures[f"{mode}_append_per_s"] > 0 and figures[f"{mode}_batch_per_s"] > 0
    assert figures["verify_per_s"] > 0 and figures["records"] >= 2900


def test_risk_show_rebuilds_usage_from_a_journal(tmp_path):
    (tmp_path / "venue.toml").write_text(VENUE)
    (tmp_path / "flow.csv").write_text(FLOW)
    r = oms("replay", str(tmp_path / "flow.csv"), "--config", str(tmp_path / "venue.toml"),
            "--journal", str(tmp_path / "journal"))
    assert r.returncode == 0, r.stderr
    r = oms("risk", "show", "--journal", str(tmp_path / "journal"), "--json")
    assert r.returncode == 0, r.stderr
    alice = json.loads(r.stdout)["accounts"][0]
    assert (alice["instruments"][0]["position"], alice["credit_used"]) == (100, "30000.00")
    (tmp_path / "other.toml").write_text(VENUE.replace("1000\n", "999\n"))
    r = oms("risk", "show", "--journal", str(tmp_path / "journal"), "--config",
            str(tmp_path / "other.toml"))
    assert r.returncode == 1 and "differs" in r.stderr
