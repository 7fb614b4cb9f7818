"""The one decorator every kernel uses.

`kernel` is ``numba.njit(cache=True)`` with two differences.

No reference counting. The kernels never allocate: every array belongs to the
Python class that owns the book, so there is nothing for numba's runtime (NRT)
to free, but with it on, each call between kernels increments and decrements
the count of every array argument with atomic instructions: measured 40-65 ns
per call for the book's arrays, several calls per command, more than the
matching itself. A kernel compiled this way must not create or return arrays
(`engine.array_table` builds its views without NRT). `_nrt` is a numba option
without a public name; if a release drops it, `kernel` falls back to plain
njit (correct, slower).

A cache that cannot go stale. numba invalidates a cached function when its own
source file changes, not when a function it calls from another file does, nor
when a constant it compiled in (`engine.layout`, the event columns) does: a
kernel loaded from such a cache runs old code against new arrays. So the cache
lives in a directory named after a hash of every source file of this package
and of the package defining the kernel (the risk layer's kernels call the
book's); any change gives a fresh directory. The base directory is NUMBA_CACHE_DIR when
set, else the package's own `__pycache__` when writable, else
`~/.cache/oms-engine`.
"""
import hashlib
import inspect
import os
from pathlib import Path

import numba
from numba import njit

try:
    @njit(_nrt=False)
    def _probe(x):
        return x
    _FLAGS = {"cache": True, "_nrt": False}
except (KeyError, TypeError, ValueError):      # the option is gone
    _FLAGS = {"cache": True}


def _cache_dir(*packages: Path) -> str:
    package = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for folder in sorted({package, *packages}):
        for path in sorted(folder.glob("*.py")):
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    name = f"oms-kernels-{digest.hexdigest()[:16]}"
    base = os.environ.get("NUMBA_CACHE_DIR")
    if not base:
        local = package / "__pycache__"
        try:
            local.mkdir(exist_ok=True)
            probe = local / f".write-test-{os.getpid()}"
            probe.touch()
            probe.unlink()
            base = str(local)
        except OSError:
            base = str(Path.home() / ".cache" / "oms-engine")
    return os.path.join(base, name)


CACHE_DIR = _cache_dir()
_CACHE_DIRS = {Path(__file__).resolve().parent: CACHE_DIR}


def kernel(fn):
    """Compile `fn` as a cached, allocation-free numba kernel."""
    folder = Path(inspect.getfile(fn)).resolve().parent
    if folder not in _CACHE_DIRS:
        _CACHE_DIRS[folder] = _cache_dir(folder)
    saved = numba.config.CACHE_DIR
    numba.config.CACHE_DIR = _CACHE_DIRS[folder]   # read when the function's cache is set up
    try:
        return njit(**_FLAGS)(fn)
    finally:
        numba.config.CACHE_DIR = saved
