"""The simulator's own process tunes CPython's collector; an embedding process keeps its own.

`tune_collector` is what `horizon-ibkr sim` (and the benchmarks' host) call once the simulator
listens: start-up's objects frozen, young collections every 10,000 allocations. A simulator
started inside someone else's process (a test run, an application) must leave their collector
as it was.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from ibgateway_sim import GatewaySimulator
from ibgateway_sim.process import YOUNG_THRESHOLD, tune_collector


@pytest.fixture
def collector() -> Iterator[tuple[int, int, int]]:
    """The collector's settings before the test, put back after it."""
    before = gc.get_threshold()
    yield before
    gc.unfreeze()  # what a test froze goes back to the oldest generation
    gc.set_threshold(*before)


def test_tuning_freezes_what_lives_and_raises_only_the_young_threshold(
    collector: tuple[int, int, int],
) -> None:
    assert gc.get_threshold()[0] != YOUNG_THRESHOLD
    tune_collector()
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == (YOUNG_THRESHOLD, collector[1], collector[2])


def test_a_threshold_below_one_is_refused(collector: tuple[int, int, int]) -> None:
    with pytest.raises(ValueError, match="young must be >= 1"):
        tune_collector(0)
    assert gc.get_threshold() == collector


def test_an_embedded_simulator_leaves_its_hosts_collector_alone(
    collector: tuple[int, int, int],
) -> None:
    frozen = gc.get_freeze_count()
    with GatewaySimulator(port=0, accounts=["DU1234567"], seed=7) as sim:
        sim.set_price("AAPL", 190)
        assert sim.port > 0
    assert gc.get_threshold() == collector
    assert gc.get_freeze_count() == frozen
