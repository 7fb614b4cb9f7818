"""`oms loadgen` against a real `oms serve` on the load-test venue
(benchmarks/loadgen.toml): every request answered, the figures present, and
the server's own latency read from its stats file."""
import json
import subprocess
import sys
from pathlib import Path

from fix_server import running_server

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "benchmarks" / "loadgen.toml"
KEYS = {"orders_sent", "new_orders", "cancels", "reports", "rejects", "cancel_rejects", "fills",
        "orders_per_second", "sent_per_second", "rtt_p50_us", "rtt_p99_us", "rtt_p99_9_us",
        "rtt_max_us", "server_internal_latency", "client_cpu_percent"}


def test_loadgen_answers_every_request(tmp_path):
    stats = tmp_path / "stats.json"
    with running_server(tmp_path, "--config", str(CONFIG), "--journal", str(tmp_path / "j"),
                        "--stats", str(stats)) as port:
        out = subprocess.run([sys.executable, "-m", "oms.cli", "loadgen", "--config", str(CONFIG),
                              "--port", str(port), "--duration", "1", "--rate", "2000",
                              "--stats", str(stats), "--json"],
                             capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "round trip (client)" in out.stdout
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    assert KEYS <= figures.keys()
    assert figures["orders_sent"] > 1000
    assert figures["reports"] == figures["orders_sent"]
    assert figures["new_orders"] + figures["cancels"] == figures["orders_sent"]
    assert figures["rejects"] == 0
    assert 0 < figures["rtt_p50_us"] <= figures["rtt_p99_us"] <= figures["rtt_max_us"]
    server = figures["server_internal_latency"]
    assert server["count"] == server["app_messages"] == figures["orders_sent"]
    assert server["p50_us"] <= server["p99_us"] <= server["max_us"]
