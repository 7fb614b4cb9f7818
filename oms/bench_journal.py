"""`oms bench journal`: append throughput in each durability mode, and verify
throughput, in one run, on real files.

The records are real: the COMMAND and EVENTS payloads of the book
benchmark's flow (`oms.flowgen`) run through the engine, as `oms replay
--journal` writes them. Each mode appends them to a fresh journal twice: one
record per `append` call (the gateway's way, one command at a time) and in
batches of 4,096 records per `append_many` (the replay's way). `always`
fdatasyncs before every acknowledgement, so it runs on the first
`--always-records` records only. Verify reads the `none` journal back
through `reporting.reader.scan`. After timing, the journals are verified and
their record counts checked.
"""
from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path

from engine.matching import MatchingEngine
from reporting.journal import Journal
from reporting.reader import scan
from reporting.stream import StreamWriter, chunk_records

from . import flowgen
from .machine import describe, machine_row, two_columns

BATCH = 4096


def journal_payloads(records: int, seed: int = 1) -> list[bytes]:
    """About `records` journal payloads of the benchmark flow (two per command)."""
    books, accounts = flowgen.venue()
    engine = MatchingEngine(books, accounts)
    cmds = flowgen.generate(max(1, records // 2), seed=seed)
    scratch = StreamWriter(None)
    payloads: list[bytes] = []

    def collect(first, end, rows, first_row):
        payloads.extend(chunk_records(cmds[first:end], rows, first_row, len(payloads), scratch))
    engine.run(cmds, collect)
    return payloads


def _append(directory: Path, mode: str, payloads: list[bytes], batch: bool) -> float:
    shutil.rmtree(directory, ignore_errors=True)
    start = time.perf_counter()
    journal = Journal(directory, mode)
    if batch:
        for i in range(0, len(payloads), BATCH):
            journal.append_many(payloads[i:i + BATCH])
    else:
        append = journal.append
        for p in payloads:
            append(p)
    journal.close()
    seconds = time.perf_counter() - start
    found = scan(directory)
    if found.records != len(payloads) or not found.closed:
        raise AssertionError(f"{mode}: {found.records} records, {len(payloads)} appended")
    return len(payloads) / seconds


def bench_journal(records: int = 1_000_000, always_records: int = 2_000, directory=None,
                  seed: int = 1, progress=None) -> dict:
    say = progress or (lambda msg: None)
    say(f"building {records:,} journal records from the benchmark flow")
    payloads = journal_payloads(records, seed)
    base = Path(tempfile.mkdtemp(prefix="oms-bench-journal-", dir=directory))
    figures: dict = {"records": len(payloads),
                     "payload_bytes_mean": sum(map(len, payloads)) / len(payloads)}
    try:
        Journal(base / "warm", "none").append_many(payloads[:BATCH])   # compile or load
        for mode in ("none", "group", "always"):
            part = payloads if mode != "always" else payloads[:always_records]
            say(f"{mode}: {len(part):,} records")
            figures[f"{mode}_append_per_s"] = _append(base / mode, mode, part, batch=False)
            figures[f"{mode}_batch_per_s"] = _append(base / mode, mode, part, batch=True)
        say("verify")
        _append(base / "none", "none", payloads, batch=True)
        start = time.perf_counter()
        found = scan(base / "none")
        figures["verify_per_s"] = found.records / (time.perf_counter() - start)
        figures["bytes"] = sum(s.path.stat().st_size for s in found.segments)
        figures["directory"] = str(base)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    figures["always_records"] = min(always_records, len(payloads))
    figures["machine"] = describe()
    return figures


def table(f: dict) -> str:
    def rate(x):
        return f"{x / 1e6:.2f} M/s" if x >= 1e5 else f"{x / 1e3:.1f} k/s"
    rows = [("records", f"{f['records']:,} ({f['payload_bytes_mean']:.0f} bytes of payload on "
                        f"average), in {f['directory']}")]
    for mode in ("none", "group", "always"):
        rows.append((f"append, {mode}", f"{rate(f[f'{mode}_append_per_s'])} one by one, "
                                        f"{rate(f[f'{mode}_batch_per_s'])} in batches of "
                                        f"{BATCH:,}"))
    rows.append(("verify", rate(f["verify_per_s"])))
    rows.append(machine_row(f["machine"]))
    return two_columns(rows)


def main(records: int, always_records: int, directory, as_json: bool, progress) -> int:
    figures = bench_journal(records, always_records, directory, progress=progress)
    print(table(figures))
    if as_json:
        print(json.dumps(figures))
    return 0
