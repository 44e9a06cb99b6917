"""pytest plugin (entry point `pytest11`): an `ibkr_replay` fixture for any project.

    @pytest.mark.ibkr_replay("recordings/fill.jsonl")     # relative to the test file
    def test_the_fill_bug(ibkr_replay):
        ib = IB()
        ib.connect("127.0.0.1", ibkr_replay.port, clientId=1)
        ...
        assert ibkr_replay.unmatched() == []

The fixture is a running `ReplayGateway` (its own thread, a free port), stopped after the
test. `connection=N` in the marker serves recorded connection N to every client.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from horizon.tap.replay import ReplayGateway


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "ibkr_replay(path, connection=None): the recording the ibkr_replay fixture serves "
        "(a path relative to the test file, or absolute)",
    )


@pytest.fixture
def ibkr_replay(request: pytest.FixtureRequest) -> Iterator[ReplayGateway]:
    """A `ReplayGateway` serving the recording named by the test's `ibkr_replay` marker."""
    from horizon.tap.replay import ReplayGateway

    marker = request.node.get_closest_marker("ibkr_replay")
    if marker is None or not marker.args:
        raise pytest.UsageError(
            f"{request.node.nodeid}: the ibkr_replay fixture needs "
            "@pytest.mark.ibkr_replay('path/to/session.jsonl')"
        )
    path = Path(marker.args[0])
    if not path.is_absolute():
        path = Path(request.node.path).parent / path
    gateway = ReplayGateway(path, connection=marker.kwargs.get("connection"))
    gateway.start()
    try:
        yield gateway
    finally:
        gateway.stop()
