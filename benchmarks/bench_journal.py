"""The journal's hot paths on real records (the benchmark flow's commands and
events): appending in batches with durability `none`, one by one, and
verifying. Checked after timing: the journal verifies and holds every record."""
import os
import shutil

import pytest

from oms.bench_journal import BATCH, journal_payloads
from reporting.journal import Journal
from reporting.reader import scan

SCALE = float(os.environ.get("BENCH_SCALE", "1"))


@pytest.fixture(scope="module")
def payloads():
    """100k records at scale 1 (BENCH_SCALE, as in conftest)."""
    return journal_payloads(int(100_000 * SCALE))


def _write(directory, payloads, batch):
    shutil.rmtree(directory, ignore_errors=True)
    journal = Journal(directory, "none")
    if batch:
        for i in range(0, len(payloads), BATCH):
            journal.append_many(payloads[i:i + BATCH])
    else:
        for p in payloads:
            journal.append(p)
    journal.close()


@pytest.mark.benchmark(group="journal")
@pytest.mark.parametrize("batch", [True, False], ids=["append_many", "append"])
def test_append(benchmark, tmp_path, payloads, batch):
    _write(tmp_path / "warm", payloads[:BATCH], True)              # compile or load first
    benchmark.pedantic(_write, args=(tmp_path / "j", payloads, batch), rounds=3, iterations=1)
    assert scan(tmp_path / "j").records == len(payloads)


@pytest.mark.benchmark(group="journal")
def test_verify(benchmark, tmp_path, payloads):
    _write(tmp_path / "j", payloads, True)
    found = benchmark.pedantic(scan, args=(tmp_path / "j",), rounds=3, iterations=1)
    assert found.records == len(payloads) and found.closed
