"""The FIX gateway under load, against QuickFIX's acceptor, in one run.

A script, not a pytest benchmark (it starts servers and takes minutes):

    NUMBA_CACHE_DIR=/tmp/nbcache python benchmarks/bench_fix_gateway.py \\
        --rates 10000,50000,0 --duration 10 --quickfix /tmp/qfvenv/bin/python

For each setup and each rate it starts a fresh server (a fresh journal, so
every measurement starts from an empty book), runs `oms loadgen` for two
seconds to warm it, then for `--duration` seconds at the rate (0: as fast as
the answers come, `--window` outstanding), and stops the server. The setups,
back to back:

* ``group disk``: `oms serve --config benchmarks/loadgen.toml`, the journal
  in group-commit mode (the default) on the temporary directory's disk;
* ``group shm``: the same with the journal on /dev/shm (fsync is nearly free);
* ``none``: ``--durability none``, journal on disk;
* ``quickfix``: benchmarks/quickfix_acceptor.py, with `--quickfix PYTHON`, the
  interpreter of a virtual environment that has the `quickfix` package.

It prints one JSON line per run and then a Markdown table (the format of
benchmarks/RESULTS.md), with the load average before each run: the client
and the server share this machine's cores with whatever else runs.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "benchmarks" / "loadgen.toml"
READY = re.compile(r"listening on [^:]+:(\d+)")
SETUPS = ("group disk", "group shm", "none", "quickfix")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One server in a child process: started, waited for, stopped."""

    def __init__(self, setup: str, workdir: Path, quickfix: str | None):
        self.setup = setup
        self.stats = None
        if setup == "quickfix":
            self.port = free_port()
            cmd = [quickfix, str(ROOT / "benchmarks" / "quickfix_acceptor.py"),
                   "--port", str(self.port)]
        else:
            journal_root = Path("/dev/shm") if setup == "group shm" else workdir
            journal = Path(tempfile.mkdtemp(prefix="oms-journal-", dir=journal_root))
            self.journal = journal
            self.stats = str(workdir / "stats.json")
            cmd = [sys.executable, "-m", "oms.cli", "serve", "--config", str(CONFIG),
                   "--port", "0", "--journal", str(journal / "j"), "--stats", self.stats]
            if setup == "none":
                cmd += ["--durability", "none"]
        self.proc = subprocess.Popen(cmd, cwd=workdir, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        match = READY.search(line)
        if match is None:
            self.proc.kill()
            raise RuntimeError(f"{setup}: did not start: {line}{self.proc.stderr.read()}")
        self.port = int(match.group(1))

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.setup != "quickfix":
            subprocess.run(["rm", "-rf", str(self.journal)], check=False)


def loadgen(port: int, rate: int, duration: float, window: int, stats: str | None) -> dict:
    cmd = [sys.executable, "-m", "oms.cli", "loadgen", "--config", str(CONFIG),
           "--port", str(port), "--rate", str(rate), "--duration", str(duration),
           "--window", str(window), "--json"]
    if stats:
        cmd += ["--stats", stats]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    lines = out.stdout.strip().splitlines()
    if not lines or not lines[-1].startswith("{"):
        raise RuntimeError(f"loadgen failed: {out.stdout}{out.stderr}")
    return json.loads(lines[-1])


def measure(setups, rates, duration: float, window: int, quickfix: str | None) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-fix-") as tmp:
        for setup in setups:
            for rate in rates:
                server = Server(setup, Path(tmp), quickfix)
                try:
                    loadgen(server.port, 2000, 2, window, None)          # warm up
                    load = os.getloadavg()[0]
                    figures = loadgen(server.port, rate, duration, window, server.stats)
                finally:
                    server.stop()
                row = {"setup": setup, "rate": rate, "load": round(load, 2), **figures}
                print(json.dumps(row), flush=True)
                rows.append(row)
    return rows


def table(rows: list[dict]) -> str:
    quickfix = {r["rate"]: r for r in rows if r["setup"] == "quickfix"}
    out = ["| server | offered | sent/s | answered/s | vs QuickFIX (answered/s, RTT p50) | "
           "RTT p50 / p99 / p99.9 / "
           "max (us) | server p50 / p99 (us) | unanswered | load |",
           "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        peer = quickfix.get(r["rate"])
        ratio = ""
        if peer and r is not peer and peer["orders_per_second"] and r["rtt_p50_us"]:
            ratio = (f"{r['orders_per_second'] / peer['orders_per_second']:.2f}x / "
                     f"{peer['rtt_p50_us'] / r['rtt_p50_us']:.2f}x")
        server = r.get("server_internal_latency") or {}
        inner = (f"{server['p50_us']:,.0f} / {server['p99_us']:,.0f}" if server else "-")
        offered = f"{r['rate']:,}/s" if r["rate"] else "max"
        out.append(
            f"| {r['setup']} | {offered} | {r['sent_per_second']:,.0f} | "
            f"{r['orders_per_second']:,.0f} | {ratio} | {r['rtt_p50_us']:,.0f} / "
            f"{r['rtt_p99_us']:,.0f} / {r['rtt_p99_9_us']:,.0f} / {r['rtt_max_us']:,.0f} | "
            f"{inner} | {r['orders_sent'] - r['reports']:,} | {r['load']} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rates", default="10000,50000,0",
                   help="offered rates, comma separated; 0 = as fast as answered")
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--window", type=int, default=256)
    p.add_argument("--setups", default=",".join(SETUPS),
                   help=f"comma separated, of: {', '.join(SETUPS)}")
    p.add_argument("--quickfix", metavar="PYTHON",
                   help="a Python with the quickfix package (the peer is skipped without)")
    args = p.parse_args(argv)
    setups = [s for s in args.setups.split(",") if s != "quickfix" or args.quickfix]
    if "group shm" in setups and not Path("/dev/shm").is_dir():
        setups.remove("group shm")
    rates = [int(r) for r in args.rates.split(",")]
    rows = measure(setups, rates, args.duration, args.window, args.quickfix)
    print()
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
