"""`oms bench all`: every `oms bench` command and a LOBSTER replay, one table.

Each benchmark runs in its own process (`oms bench book|risk|journal --json`,
`oms replay --format lobster --json`), as a user would run it, so one
cannot warm or tire another; the last JSON line of each is kept. The result
is printed as one table and, with `--out DIR`, written as
``DIR/bench-all.json`` and ``DIR/bench-all.md`` (the machine, the versions,
the exact commands and every figure), ready for `benchmarks/RESULTS.md`.
"""
from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

SIZES = {"full": 1_000_000, "quick": 20_000}


def steps(size: int, lobster_dir: str | None) -> list[tuple[str, list[str]]]:
    """(name, `oms` arguments) of every benchmark."""
    out = [("book", ["bench", "book", "--orders", str(size), "--deep", str(size), "--json"]),
           ("risk", ["bench", "risk", "--orders", str(size), "--json"]),
           ("journal", ["bench", "journal", "--records", str(size), "--json"])]
    pair = _lobster_pair(lobster_dir)
    if pair is not None:
        out.append(("lobster", ["replay", "--format", "lobster", pair[0], "--orderbook",
                                pair[1], "--json"]))
    return out


def _lobster_pair(folder: str | None) -> tuple[str, str] | None:
    """The largest message/orderbook pair in `folder`, if any."""
    if not folder or not Path(folder).is_dir():
        return None
    messages = sorted(Path(folder).rglob("*_message_*.csv*"), key=lambda p: p.stat().st_size)
    for m in reversed(messages):
        book = Path(str(m).replace("_message_", "_orderbook_"))
        if book.exists():
            return str(m), str(book)
    return None


def machine() -> dict:
    import numba
    import numpy
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version(), "numpy": numpy.__version__,
            "numba": numba.__version__}


def run(size_name: str, lobster_dir: str | None, out_dir: str | None, as_json: bool,
        out=sys.stdout, progress=sys.stderr) -> int:
    todo = steps(SIZES[size_name], lobster_dir or os.environ.get("OMS_LOBSTER_DIR"))
    results: dict[str, dict] = {}
    commands: dict[str, str] = {}
    for i, (name, args) in enumerate(todo, 1):
        print(f"[{i}/{len(todo)}] oms {' '.join(args)}", file=progress, flush=True)
        commands[name] = "oms " + " ".join(args)
        done = subprocess.run([sys.executable, "-m", "oms.cli", *args], capture_output=True,
                              text=True)
        last = done.stdout.strip().splitlines()[-1:] or [""]
        try:
            results[name] = json.loads(last[0])
        except json.JSONDecodeError:
            results[name] = {"error": (done.stderr.strip().splitlines() or ["no output"])[-1]}
    report = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "machine": machine(), "size": size_name, "commands": commands,
              "results": results}
    rows = table(results)
    width = max((len(k) for k, _ in rows), default=10)
    for key, value in rows:
        print(f"{key:<{width}}  {value}", file=out)
    if out_dir:
        folder = Path(out_dir)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "bench-all.json").write_text(json.dumps(report, indent=1))
        (folder / "bench-all.md").write_text(markdown(report, rows))
    if as_json:
        print(json.dumps(report), file=out)
    return 1 if any("error" in r for r in results.values()) else 0


def table(results: dict[str, dict]) -> list[tuple[str, str]]:
    """Every number of every benchmark, one row each, nested keys joined by dots."""
    rows: list[tuple[str, str]] = []

    def walk(prefix: str, value) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}.{k}", v)
        elif isinstance(value, bool) or value is None:
            return
        elif isinstance(value, (int, float)):
            rows.append((prefix, f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"))
        elif isinstance(value, str) and prefix.endswith("error"):
            rows.append((prefix, value))

    for name, figures in results.items():
        walk(name, figures)
    return rows


def markdown(report: dict, rows: list[tuple[str, str]]) -> str:
    m = report["machine"]
    lines = [f"## `oms bench all` ({report['date']})", "",
             f"Machine: {m['cpu']}, {m['cores']} cores, {m['platform']}; Python {m['python']}, "
             f"numpy {m['numpy']}, numba {m['numba']}.", "", "Commands:", ""]
    lines += [f"    {c}" for c in report["commands"].values()]
    lines += ["", "| figure | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in rows]
    return "\n".join(lines) + "\n"
