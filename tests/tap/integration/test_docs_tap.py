"""docs/tap.md's examples run as written: the recording example against the simulator (only
the port differs), then the replay test in a fresh user project (the `ibkr_replay` fixture
from the entry point), then the shape check on what was recorded."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

from horizon.cli import main
from horizon.venues.ibkr.simulator import GatewaySimulator

pytest_plugins = ["pytester"]

DOC = Path(__file__).resolve().parents[3] / "docs" / "tap.md"


def blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)


def test_record_then_replay_then_check_as_the_doc_says(
    gateway: GatewaySimulator, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    [record] = [b for b in blocks() if "TapProxy" in b]
    [replay] = [b for b in blocks() if "def test_" in b]
    gateway.set_price("AAPL", Decimal("190.00"))
    monkeypatch.chdir(pytester.path)
    code = record.replace("upstream_port: int = 4002", f"upstream_port: int = {gateway.port}")
    assert code != record
    exec(compile(code, "tap.md", "exec"), {"__name__": "tap_md"})
    recording = pytester.path / "recordings" / "fill.jsonl"
    assert "DU0000001" in recording.read_text() and "DU1234567" not in recording.read_text()

    pytester.makepyfile(test_from_the_docs=replay)
    result = pytester.runpytest_subprocess("-q")
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed") == 1, result.stdout.str()

    assert main(["tap", "check", str(recording)]) == 0
