"""`make demo` runs `horizon-ibkr demo`: the quickstart against the embedded simulator. Run
here in-process on a free port, so what the README promises a new user is what runs."""

from __future__ import annotations

import re

import pytest

from horizon.cli import demo_orders, main


def test_the_demo_trades_every_order_type_it_lists_and_ends_clean(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["demo", "--port", "0"]) == 0
    out = capsys.readouterr().out
    submitted = dict(re.findall(r"submit (.+?)\s+-> order\s+\d+: (\w+)", out))
    labels = [label for label, _ in demo_orders()]
    assert sorted(submitted) == sorted(labels)
    assert "rejected" not in submitted.values()
    finals = dict(re.findall(r"^\s+\d+ (.+?)\s+(filled|canceled)$", out, re.M))
    assert sorted(finals) == sorted(labels), "every order ends filled or canceled"
    exec_ids = re.findall(r"^\s+\d\d:\d\d:\d\dZ .+ fee [\d.]+ USD\s+(\S+)$", out, re.M)
    assert len(exec_ids) >= sum(1 for v in finals.values() if v == "filled")
    assert len(set(exec_ids)) == len(exec_ids), "each fill once"
    assert out.rstrip().endswith("disconnected; demo done")
