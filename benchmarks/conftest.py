"""Benchmarks run as tests under the README's test command (once each, timing
off: `--benchmark-disable` in pyproject) and as benchmarks with

    python -m pytest benchmarks --benchmark-enable --benchmark-only

Sizes grow with BENCH_SCALE (default 1) so CI stays quick and a measuring run
can use the full flow: BENCH_SCALE=5 gives the million commands of `oms bench book`.
"""
import os

import pytest

from oms import flowgen

SCALE = float(os.environ.get("BENCH_SCALE", "1"))


@pytest.fixture(scope="session")
def flow():
    """The seeded realistic flow of `oms bench book`, 200k commands at scale 1."""
    return flowgen.generate(int(200_000 * SCALE), seed=1)


@pytest.fixture(scope="session")
def venue():
    return flowgen.venue()
