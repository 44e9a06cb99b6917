"""Every python example in docs/tickets-quotes-fa.md runs as written (against the simulator
each example starts itself)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[3] / "docs" / "tickets-quotes-fa.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)


def test_the_doc_has_examples_for_each_section() -> None:
    assert len(BLOCKS) >= 5
    text = "\n".join(BLOCKS)
    for call in ("submit_bracket", "submit_oco", "cancel_ticket", "quote_async",
                 "subscribe_quotes", "allocate_block"):
        assert call in text


@pytest.mark.parametrize("code", BLOCKS, ids=[f"example{i}" for i in range(len(BLOCKS))])
def test_example_runs(code: str, capsys: pytest.CaptureFixture[str]) -> None:
    exec(compile(code, str(DOC), "exec"), {"__name__": "__doc_example__"})
    assert capsys.readouterr().out.strip()  # every example shows something
