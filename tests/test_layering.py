"""Imports point one way: errors <- core <- venues.ibkr <- cli. The simulator, `ibgateway_sim`,
is its own package: standard library only, and no import circle anywhere in it."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "src"
SRC = ROOT / "horizon"
SIM = ROOT / "ibgateway_sim"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """Every module `path` imports, anywhere in it (TYPE_CHECKING blocks and function bodies
    too), with relative imports resolved; `from pkg import name` names `pkg.name` when that
    is a module of ours."""
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                source = f"{base}.{node.module}" if node.module else base
            else:
                source = node.module or ""
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                names.add(sub if _is_module(sub) else source)
    return names


def _is_module(dotted: str) -> bool:
    path = ROOT.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def modules(under: Path) -> list[Path]:
    found = sorted(under.rglob("*.py"))
    assert found, f"no modules under {under}"
    return found


def cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module, or a module importing
    itself (Tarjan's algorithm): each one is an import circle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def import_graph(under: Path, prefix: str) -> dict[str, set[str]]:
    return {
        module_name(path): {n for n in imports_of(path) if n.split(".")[0] == prefix}
        for path in modules(under)
    }


# ---- the cycle finder itself ----------------------------------------------------------------


def test_the_cycle_finder_finds_circles_and_only_circles() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"a"}}) == [["a"]]
    assert cycles({"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"c"}}) == [["a", "b"], ["c", "d"]]


def test_relative_imports_are_resolved() -> None:
    assert "ibgateway_sim.engine.model" in imports_of(SIM / "engine" / "exchange.py")
    assert "ibgateway_sim.engine.allocation" in imports_of(SIM / "engine" / "exchange.py")


# ---- horizon ---------------------------------------------------------------------------------


def test_errors_imports_nothing_from_horizon() -> None:
    assert not {n for n in imports_of(SRC / "errors.py") if n.startswith("horizon")}


def test_core_depends_only_on_errors_and_itself() -> None:
    for path in modules(SRC / "core"):
        for name in imports_of(path):
            if name.startswith("horizon"):
                assert name == "horizon.errors" or name.startswith("horizon.core"), (path, name)
            assert not name.startswith("ib_async"), (path, name)


def test_only_the_ibkr_venue_imports_ib_async() -> None:
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).as_posix()
        uses = {n for n in imports_of(path) if n.split(".")[0] in {"ib_async", "ibapi"}}
        if uses:
            assert rel.startswith("venues/ibkr/") and "/simulator/" not in rel, (rel, uses)


def test_horizon_uses_the_simulator_only_from_the_cli_the_tap_and_the_old_import_path() -> None:
    """The venue must never lean on the simulator: it would then test itself against itself.
    The CLI starts it, the tap reads the wire through its one door (tap/wire.py)."""
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).as_posix()
        if any(n.split(".")[0] == "ibgateway_sim" for n in imports_of(path)):
            allowed = rel in ("cli.py", "tap/wire.py") or rel.startswith("venues/ibkr/simulator/")
            assert allowed, rel


# ---- ibgateway_sim ---------------------------------------------------------------------------


def test_the_simulator_imports_only_the_standard_library() -> None:
    for path in modules(SIM):
        allowed_extra = {"pytest"} if path.name == "pytest_plugin.py" else set()
        for name in imports_of(path):
            top = name.split(".")[0]
            if top in {"ibgateway_sim", "__future__"}:
                continue
            assert top in sys.stdlib_module_names or top in allowed_extra, (path, name)


def test_the_simulator_has_no_import_circle() -> None:
    graph = import_graph(SIM, "ibgateway_sim")
    assert "ibgateway_sim.engine.exchange" in graph
    assert cycles(graph) == []


def test_the_wire_and_the_engine_know_nothing_of_the_layers_above() -> None:
    """wire <- engine? no: the engine is the paper exchange and never sees a message row;
    the gateway layer maps between the two."""
    graph = import_graph(SIM, "ibgateway_sim")
    for name, deps in graph.items():
        if name.startswith("ibgateway_sim.wire"):
            assert all(d.startswith("ibgateway_sim.wire") for d in deps), (name, deps)
        if name.startswith("ibgateway_sim.engine"):
            assert all(d.startswith("ibgateway_sim.engine") for d in deps), (name, deps)


def test_importing_the_simulator_does_not_load_ib_async() -> None:
    """In a fresh interpreter (this one has ib_async loaded already): a project that only
    wants the simulator, or its pytest fixture, pays nothing for the venue."""
    code = (
        "import sys, ibgateway_sim, ibgateway_sim.pytest_plugin; "
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
            offenders.append(f"{path.relative_to(root)}:{node.lineno}: .{attr}")
    assert offenders == [], "\n".join(offenders)
