"""What a benchmark ran on: recorded next to every figure, since these machines differ."""
import os
import platform
import sys
from importlib.metadata import PackageNotFoundError, version


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe() -> dict[str, str | int]:
    versions = {}
    for pkg in ("numpy", "numba", "msgspec", "sortedcontainers"):
        try:
            versions[pkg] = version(pkg)
        except PackageNotFoundError:
            versions[pkg] = "-"
    return {"cpu": cpu_model(), "cores": os.cpu_count() or 0,
            "python": sys.version.split()[0], "platform": platform.platform(), **versions}


def machine_row(m: dict) -> tuple[str, str]:
    """The benchmark tables' last row: what the figures were measured on."""
    return ("machine", f"{m['cpu']}, {m['cores']} cores, Python {m['python']}, "
                       f"numba {m['numba']}, numpy {m['numpy']}")


def two_columns(rows: list[tuple[str, str]]) -> str:
    """(label, text) rows as aligned plain text."""
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)
