"""The gateway core's wiring, without a socket: its options, and the routing table built from
the request handlers of each area."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from decimal import Decimal

import pytest

from ibgateway_sim import GatewaySimulator, Limits
from ibgateway_sim.gateway.handlers.base import Handler, ignore
from ibgateway_sim.gateway.options import GatewayOptions
from ibgateway_sim.gateway.server import Gateway, routes_of
from ibgateway_sim.gateway.session import Session
from ibgateway_sim.wire import messages as m


def test_every_request_the_codec_reads_has_exactly_one_handler() -> None:
    routes = Gateway(GatewayOptions()).routes()
    inbound = {cls for (direction, _), cls in m.SPECS.items() if direction is m.Direction.IN}
    assert inbound == set(routes)


class _Area:
    def __init__(self, *kinds: type) -> None:
        self.kinds = kinds

    @property
    def handlers(self) -> Mapping[type, Handler]:
        return dict.fromkeys(self.kinds, ignore)

    def forget(self, session: Session) -> None:
        pass


def test_a_request_type_claimed_by_two_areas_is_refused() -> None:
    with pytest.raises(ValueError, match="ReqIds is handled by two areas"):
        routes_of([_Area(m.ReqIds, m.ReqCurrentTime), _Area(m.ReqIds)])


def test_options_are_frozen_and_copy_what_they_are_given() -> None:
    accounts, groups = ["DU1", "DU2"], {"g": ["DU1"]}
    options = GatewayOptions(accounts=accounts, fa_groups=groups)  # type: ignore[arg-type]
    accounts.append("DU3")
    groups["g"].append("DU2")
    assert options.accounts == ("DU1", "DU2")
    assert options.fa_groups == {"g": ("DU1",)}
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.seed = 3  # type: ignore[misc]


def test_options_refuse_an_unknown_execution_time_format() -> None:
    with pytest.raises(ValueError, match="exec_time_format must be 'zone' or 'utc'"):
        GatewayOptions(exec_time_format="local")


def test_the_simulator_builds_its_options_from_its_keywords() -> None:
    limits = Limits(batch=7)
    sim = GatewaySimulator(
        port=0, accounts=["DU9"], seed=5, pacing_limit=None, liquidity=Decimal(3),
        realtime_data=["AAPL"], step_interval=None, limits=limits,
    )  # fmt: skip
    opts = sim.options
    assert (opts.accounts, opts.seed, opts.pacing_limit, opts.liquidity) == (
        ("DU9",), 5, None, Decimal(3),
    )  # fmt: skip
    assert opts.realtime_data == frozenset({"AAPL"}) and opts.step_interval is None
    assert sim.limits is limits and opts.limits is limits
    assert sim.engine.accounts == ("DU9",) and sim.port == 0 and not sim.listening
    assert GatewaySimulator().limits == Limits()
