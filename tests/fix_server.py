"""A real `oms serve` in a child process, on a free loopback port, for tests."""
import contextlib
import os
import re
import signal
import subprocess
import sys

READY = re.compile(r"listening on [^:]+:(\d+)")


@contextlib.contextmanager
def running_server(workdir, *args, timeout: float = 120.0):
    """Start `oms serve ARGS --port 0` in `workdir`; yields the port; stops it
    with SIGTERM and checks it exits cleanly."""
    env = dict(os.environ)
    proc = subprocess.Popen([sys.executable, "-m", "oms.cli", "serve", "--host", "127.0.0.1",
                             "--port", "0", *args], cwd=workdir, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        match = None
        while match is None and len(lines) < 10:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            match = READY.search(line)
        if match is None:
            proc.kill()
            raise AssertionError(f"oms serve did not start: {''.join(lines)}{proc.stderr.read()}")
        yield int(match.group(1))
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                raise
        err = proc.stderr.read()
        assert proc.returncode == 0, err
