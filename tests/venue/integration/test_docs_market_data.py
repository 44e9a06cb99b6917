"""Every python example in docs/market-data.md runs as written (against the simulator each
example starts itself)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[3] / "docs" / "market-data.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)


def test_the_doc_has_an_example_for_each_section() -> None:
    text = "\n".join(BLOCKS)
    for call in ("bars(", "head_timestamp(", "historical_ticks(", "subscribe_bars(",
                 "subscribe_ticks(", "depth(", "contract_details(", "option_chain(",
                 "option_price(", "pnl("):  # fmt: skip
        assert call in text, call


@pytest.mark.parametrize("code", BLOCKS, ids=[f"example{i}" for i in range(len(BLOCKS))])
def test_example_runs(code: str, capsys: pytest.CaptureFixture[str]) -> None:
    exec(compile(code, str(DOC), "exec"), {"__name__": "__doc_example__"})
    assert capsys.readouterr().out.strip()  # every example shows something
