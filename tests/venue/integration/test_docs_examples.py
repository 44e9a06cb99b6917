"""The python examples of docs/simulator.md and docs/real-gateway.md run as written: the pytest
ones in a fresh user project (the fixture from the entry point), the others against the
simulator (only the port differs)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ibgateway_sim import GatewaySimulator

pytest_plugins = ["pytester"]

DOCS = Path(__file__).resolve().parents[3] / "docs"


def blocks(name: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", (DOCS / name).read_text(), flags=re.S)


def test_the_simulator_fixture_examples_pass_in_a_user_project(
    pytester: pytest.Pytester,
) -> None:
    tests = [b for b in blocks("simulator.md") if "def test_" in b]
    assert len(tests) >= 3
    pytester.makepyfile(test_from_the_docs="\n\n".join(tests))
    result = pytester.runpytest_subprocess("-p", "asyncio", "-q")
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed") == sum(b.count("def test_") for b in tests), result.stdout.str()
    assert not outcomes.get("failed") and not outcomes.get("error")


def test_the_simulator_control_example_runs() -> None:
    [control] = [b for b in blocks("simulator.md") if "sim.start()" in b]
    exec(compile(control.replace("...", "pass"), "simulator.md", "exec"), {})


@pytest.mark.parametrize("code", blocks("real-gateway.md"), ids=["delayed-data", "connect"])
def test_the_real_gateway_examples_run_against_the_simulator(
    code: str, gateway: GatewaySimulator
) -> None:
    from horizon.venues.ibkr import Ibkr

    namespace = {"Ibkr": Ibkr}
    exec(re.sub(r"port=(7497|4002)", f"port={gateway.port}", code), namespace)
    venue = namespace["ibkr"]
    assert venue.config.port == gateway.port
