"""Imports point one way: errors <- core <- venues.ibkr <- cli; the simulator is stdlib-only."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "horizon"


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def modules(under: str) -> list[Path]:
    found = sorted((SRC / under).rglob("*.py"))
    assert found, f"no modules under {under}"
    return found


def test_errors_imports_nothing_from_horizon() -> None:
    assert not {n for n in imports_of(SRC / "errors.py") if n.startswith("horizon")}


def test_core_depends_only_on_errors_and_itself() -> None:
    for path in modules("core"):
        for name in imports_of(path):
            if name.startswith("horizon"):
                assert name == "horizon.errors" or name.startswith("horizon.core"), (path, name)
            assert not name.startswith("ib_async"), (path, name)


def test_simulator_imports_only_the_standard_library() -> None:
    for path in modules("venues/ibkr/simulator"):
        allowed_extra = {"pytest"} if path.name == "pytest_plugin.py" else set()
        for name in imports_of(path):
            top = name.split(".")[0]
            if name.startswith("horizon.venues.ibkr.simulator") or top == "__future__":
                continue
            assert top in sys.stdlib_module_names or top in allowed_extra, (path, name)


def test_only_the_ibkr_venue_imports_ib_async() -> None:
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).as_posix()
        uses = {n for n in imports_of(path) if n.split(".")[0] in {"ib_async", "ibapi"}}
        if uses:
            assert rel.startswith("venues/ibkr/") and "/simulator/" not in rel, (rel, uses)


def test_importing_the_simulator_does_not_load_ib_async() -> None:
    code = (
        "import sys, horizon.venues.ibkr.simulator, horizon.venues.ibkr; "
        "print('ib_async' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
