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


# names a test may read although they start with "_": the spec's documented health fields
# (`ibkr._last_health_rtt_s` / `_at`, read-only views of `last_health`), and ib_async's own
# client state in the codec test that drives ib_async's decoder at a chosen server version
_ALLOWED_PRIVATE: frozenset[str] = frozenset(
    {"_last_health_rtt_s", "_last_health_at", "_serverVersion"}
)
# simulator reads still being replaced by its public observation API (the simulator package
# move replaces them); nothing else may join this list
_PENDING: frozenset[tuple[str, str]] = frozenset(
    {("test_sim_orders.py", "_sessions"), ("test_sim_connect.py", "_sessions")}
)


def test_tests_observe_through_public_api_only() -> None:
    """No test or benchmark reads a private attribute of a venue, simulator or module: what a
    test needs to see, the code exposes (stats, last_health, requests(), sessions(), ...)."""
    root = SRC.parents[1]
    offenders = []
    for path in [*(root / "tests").rglob("*.py"), *(root / "benchmarks").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Attribute):
                continue
            attr = node.attr
            if not attr.startswith("_") or attr.startswith("__") or attr in _ALLOWED_PRIVATE:
                continue
            if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
                continue
            if (path.name, attr) in _PENDING:
                continue
            offenders.append(f"{path.relative_to(root)}:{node.lineno}: .{attr}")
    assert offenders == [], "\n".join(offenders)
