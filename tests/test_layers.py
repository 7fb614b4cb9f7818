"""Imports go one way: gateway -> risk -> engine -> (events) -> reporting.

The engine is the leaf the others build on; it must not import any of them,
or a change in the gateway could break matching. Checked on the source with
`ast`, so a lazy import inside a function counts too.
"""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {
    "engine": {"risk", "fix_gateway", "reporting", "oms"},
    "risk": {"fix_gateway", "reporting", "oms"},
    "reporting": {"fix_gateway", "risk", "oms"},
}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_back_edges(package):
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"no sources found for {package}"
    for path in files:
        bad = imported_packages(path) & FORBIDDEN[package]
        assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


def test_the_checker_sees_imports(tmp_path):
    src = tmp_path / "m.py"
    src.write_text("import risk.checks\nfrom fix_gateway import codec\ndef f():\n    import reporting\n")
    assert imported_packages(src) == {"risk", "fix_gateway", "reporting"}
