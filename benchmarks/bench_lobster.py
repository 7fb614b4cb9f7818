"""LOBSTER replay: loading, and replay with and without the row check, on a
synthetic level-1 day (`tests/lobster_synth.py`, 200k messages at
BENCH_SCALE=1) and on LOBSTER's AMZN sample when it is on this machine
(OMS_LOBSTER_DIR or ../shared/data/lobster).

Each replay needs a fresh engine, built in `pedantic`'s setup, outside the
timed part; the kernels are compiled by a first replay before any timing.
Results are checked after timing: the row counts against the independent
level-book judge (`lobster_synth.naive_check`) or the samples' README.

    python -m pytest benchmarks/bench_lobster.py --benchmark-enable --benchmark-only
"""
import os
import sys
from pathlib import Path

import pytest

from oms.lobster import LobsterReplay
from oms.lobster_book import EXACT, MISMATCH, REVEALED
from oms.lobster_parse import read_messages, read_orderbook

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
import lobster_synth as synth  # noqa: E402

SCALE = float(os.environ.get("BENCH_SCALE", "1"))   # as in conftest
AMZN = "AMZN_2012-06-21_34200000_57600000_{}_1.csv.gz"
AMZN_COUNTS = {"exact": 43_562, "revealed": 13_953, "mismatch": 0}   # the samples' README


@pytest.fixture(scope="module")
def synthetic_day(tmp_path_factory):
    """(message path, orderbook path, expected counts) of a synthetic level-1 day."""
    pair = synth.generate(int(200_000 * SCALE), depth=1, seed=21)
    paths = pair.write(tmp_path_factory.mktemp("lobster"))
    return (*paths, synth.naive_check(pair.messages, pair.rows, 1))


def amzn_paths():
    for folder in (os.environ.get("OMS_LOBSTER_DIR"), ROOT.parent / "shared/data/lobster"):
        if folder and (Path(folder) / AMZN.format("message")).exists():
            return [str(Path(folder) / AMZN.format(kind)) for kind in ("message", "orderbook")]
    return None


def load(message_path, orderbook_path):
    return read_messages(message_path), read_orderbook(orderbook_path)


def counts(result) -> dict:
    return {"exact": result.count(EXACT), "revealed": result.count(REVEALED),
            "mismatch": result.count(MISMATCH)}


def replay(benchmark, msgs, rows, check: bool):
    """Time `LobsterReplay.run` on a fresh engine per round; returns the last result."""
    LobsterReplay(1, check=check).run(msgs, rows)          # compile / load the kernels
    results = []
    benchmark.pedantic(lambda r: results.append(r.run(msgs, rows)),
                       setup=lambda: ((LobsterReplay(1, check=check),), {}),
                       rounds=7, iterations=1)
    benchmark.extra_info["messages"] = len(msgs)
    return results[-1]


def test_load_synthetic_day(benchmark, synthetic_day):
    message_path, orderbook_path, _ = synthetic_day
    load(message_path, orderbook_path)
    msgs, rows = benchmark(load, message_path, orderbook_path)
    benchmark.extra_info["rows"] = len(msgs)
    assert len(msgs) == len(rows) == int(200_000 * SCALE) and rows.shape[1] == 4


def test_replay_checked_synthetic_day(benchmark, synthetic_day):
    message_path, orderbook_path, expected = synthetic_day
    msgs, rows = load(message_path, orderbook_path)
    result = replay(benchmark, msgs, rows, check=True)
    assert counts(result) == expected and expected["mismatch"] == 0


def test_replay_unchecked_synthetic_day(benchmark, synthetic_day):
    message_path, orderbook_path, _ = synthetic_day
    msgs, rows = load(message_path, orderbook_path)
    result = replay(benchmark, msgs, rows[:1], check=False)
    assert result.rows == len(msgs) and not result.checked


@pytest.mark.skipif(amzn_paths() is None, reason="LOBSTER's AMZN sample is not here")
def test_load_amzn(benchmark):
    msgs, rows = benchmark(load, *amzn_paths())
    assert len(msgs) == len(rows) == 57_515


@pytest.mark.skipif(amzn_paths() is None, reason="LOBSTER's AMZN sample is not here")
@pytest.mark.parametrize("check", [True, False], ids=["checked", "unchecked"])
def test_replay_amzn(benchmark, check):
    msgs, rows = load(*amzn_paths())
    result = replay(benchmark, msgs, rows if check else rows[:1], check)
    if check:
        assert counts(result) == AMZN_COUNTS
    else:
        assert result.rows == 57_515
