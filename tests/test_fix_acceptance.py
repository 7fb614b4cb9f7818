"""QuickFIX's acceptance scripts against a real `oms serve` on a loopback port.

Both suites run at the same time against one server, as traders' sessions
would: `session_level.txt` against the engine-backed acceptor, every script
against the echo profile. The scripts and the runner are in
`tests/fix_acceptance/` (QuickFIX's licence beside them).
"""
import subprocess
import sys
from pathlib import Path

import pytest

from fix_server import running_server

HERE = Path(__file__).parent / "fix_acceptance"
RUNNER = HERE / "run_at.py"


def _suites(port: int, extra: list[str]) -> dict[str, subprocess.CompletedProcess]:
    procs = {suite: subprocess.Popen(
        [sys.executable, str(RUNNER), "--port", str(port), "--suite", suite,
         "--definitions", str(HERE / "definitions"), "--strict", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for suite in ("fix42", "fix44")}
    return {suite: (p.wait(timeout=600), p.stdout.read()) for suite, p in procs.items()}


def _failures(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("FAIL")]


@pytest.mark.parametrize("profile, extra, counts", [
    ("acceptance", ["--list", str(HERE / "session_level.txt")], {"fix42": 43, "fix44": 44}),
    ("acceptance-echo", [], {"fix42": 58, "fix44": 59}),
])
def test_acceptance_scripts(tmp_path, profile, extra, counts):
    with running_server(tmp_path, "--profile", profile) as port:
        results = _suites(port, extra)
    for suite, (status, output) in results.items():
        assert _failures(output) == [], output
        assert f"{counts[suite]} passed, 0 failed" in output, output
        assert status == 0
