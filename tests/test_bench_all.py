"""`oms bench all`: every benchmark in its own process, one table, files."""
import json
import os
import subprocess
import sys


def test_bench_all_quick_writes_one_table_and_its_files(tmp_path):
    done = subprocess.run([sys.executable, "-m", "oms.cli", "bench", "all", "--quick",
                           "--out", str(tmp_path), "--json"], capture_output=True, text=True,
                          timeout=600, env={**os.environ, "OMS_LOBSTER_DIR": ""})
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(report["results"]) == {"book", "risk", "journal"}
    assert report["results"]["book"]["batch_vs_reference"] > 1
    assert report["machine"]["cores"] >= 1 and report["commands"]["risk"].startswith("oms bench")
    saved = json.loads((tmp_path / "bench-all.json").read_text())
    assert saved["results"] == report["results"]
    md = (tmp_path / "bench-all.md").read_text()
    assert "| journal.verify_per_s |" in md and "oms bench book --orders 20000" in md
    assert "[3/3]" in done.stderr
