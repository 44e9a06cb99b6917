"""pytest plugin (entry point `pytest11`): an `ibkr_gateway` fixture for any project.

Install horizon-ibkr and write `def test_x(ibkr_gateway): IB().connect("127.0.0.1",
ibkr_gateway.port, clientId=1)`: a running simulator on a free port, with its control API
(set_price, restart, freeze, ...), stopped after the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from ibgateway_sim import GatewaySimulator


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "ibkr_gateway(**kwargs): options for the ibkr_gateway fixture's GatewaySimulator "
        "(accounts=[...], seed=N, timezone=..., pacing_limit=..., liquidity=..., "
        "step_interval=None)",
    )


@pytest.fixture
def ibkr_gateway(request: pytest.FixtureRequest) -> Iterator[GatewaySimulator]:
    """A GatewaySimulator on 127.0.0.1 and a free port, in its own thread."""
    from ibgateway_sim import GatewaySimulator

    marker = request.node.get_closest_marker("ibkr_gateway")
    options = dict(marker.kwargs) if marker else {}
    options.setdefault("accounts", ["DU1234567"])
    options.setdefault("seed", 7)
    # a still market: prices move only when the test says so (set_price / step), so a test
    # never races the seeded random walk; pass step_interval=0.25 for a moving one
    options.setdefault("step_interval", None)
    sim = GatewaySimulator(host="127.0.0.1", port=0, **options)
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()
