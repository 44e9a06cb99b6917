"""Every python example in docs/orders.md runs as written (each starts its simulator)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[3] / "docs" / "orders.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)


def test_the_doc_has_an_example_per_section() -> None:
    text = "\n".join(BLOCKS)
    for call in ("market_if_touched", "run_closing_auction", "preview", "COMBO:", "liquidate",
                 "algo=Twap", "PriceCondition("):
        assert call in text


@pytest.mark.parametrize("code", BLOCKS, ids=[f"example{i}" for i in range(len(BLOCKS))])
def test_example_runs(code: str, capsys: pytest.CaptureFixture[str]) -> None:
    exec(compile(code, str(DOC), "exec"), {"__name__": "__doc_example__"})
    assert capsys.readouterr().out.strip()
