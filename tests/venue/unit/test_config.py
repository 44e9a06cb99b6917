"""The paper/live safety valve and configuration checks: refused before any socket opens."""

from __future__ import annotations

import logging

import pytest

from horizon.errors import ConfigurationError
from horizon.venues.ibkr import Ibkr
from horizon.venues.ibkr.config import IbkrConfig, check_port_mode


@pytest.mark.parametrize(
    ("port", "paper"), [(7497, True), (4002, True), (7496, False), (4001, False)]
)
def test_known_pairs_are_accepted(port: int, paper: bool) -> None:
    assert check_port_mode(port, paper) is None
    assert IbkrConfig(port=port, paper=paper).paper is paper


def test_live_port_with_paper_is_refused() -> None:
    with pytest.raises(ValueError, match="port 7496 is a known IBKR LIVE port"):
        IbkrConfig(port=7496, paper=True)
    with pytest.raises(ValueError, match="port 4001 is a known IBKR LIVE port"):
        IbkrConfig(port=4001, paper=True)


def test_paper_port_with_live_is_refused() -> None:
    with pytest.raises(ValueError, match="port 7497 is a known IBKR PAPER port"):
        IbkrConfig(port=7497, paper=False)
    with pytest.raises(ConfigurationError, match="port 4002 is a known IBKR PAPER port"):
        IbkrConfig(port=4002, paper=False)


def test_ibkr_constructor_refuses_before_any_socket() -> None:
    from horizon.venues.ibkr import Ibkr

    with pytest.raises(ValueError, match="LIVE port"):
        Ibkr(port=7496, paper=True)
    with pytest.raises(ValueError, match="LIVE port"):
        Ibkr(port=7496)  # paper defaults to True: live is never a default


def test_unknown_port_warns_naming_port_and_mode(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="horizon.venues.ibkr"):
        IbkrConfig(port=14002, paper=False)
    [record] = [r for r in caplog.records if r.name == "horizon.venues.ibkr"]
    assert record.levelno == logging.WARNING
    assert "14002" in record.getMessage() and "LIVE" in record.getMessage()
    assert record.port == 14002  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"client_id": -1}, "client_id"),
        ({"client_id": 1000}, "client_id"),
        ({"paper": "yes"}, "paper"),
        ({"port": 0}, "port"),
        ({"rate": 0}, "rate"),
        ({"burst": 0}, "burst"),
        ({"client_id_range": (5, 2)}, "client_id_range"),
        ({"client_id_range": (1, 1000)}, "client_id_range"),
        ({"health_check_interval": -1}, "health_check_interval"),
        ({"gateway_timezone": "Mars/Olympus"}, "gateway_timezone"),
    ],
)
def test_bad_settings_are_refused(kw: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        IbkrConfig(**kw)  # type: ignore[arg-type]


def test_requires_local_gateway_and_defaults() -> None:
    from horizon.venues.ibkr import Ibkr

    assert Ibkr.requires_local_gateway is True
    venue = Ibkr(port=7497, paper=True)
    assert venue.config.host == "127.0.0.1"
    assert venue.config.client_id == 1
    venue.close()


def test_a_misspelt_option_is_a_clear_error() -> None:
    from horizon.venues.ibkr import Ibkr

    with pytest.raises(ConfigurationError, match="health_check_intervall"):
        Ibkr(port=7497, paper=True, health_check_intervall=5)


def test_a_background_health_check_is_on_by_default_and_can_be_turned_off() -> None:
    assert IbkrConfig().health_check_interval == 15.0
    assert IbkrConfig(health_check_interval=None).health_check_interval is None
    assert IbkrConfig(health_check_interval=0).health_check_interval == 0


@pytest.mark.parametrize("host", [7497, "", "   ", None, True])
def test_the_host_is_checked_like_the_port(host: object) -> None:
    with pytest.raises(ConfigurationError, match="host must be a host name"):
        IbkrConfig(host=host)  # type: ignore[arg-type]


def test_the_port_given_first_is_named_as_the_mistake_it_is() -> None:
    with pytest.raises(ConfigurationError, match=r"write Ibkr\(port=7497\)"):
        Ibkr(7497)  # type: ignore[arg-type]


def test_a_bool_port_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="port"):
        IbkrConfig(port=True)


def test_ib_asyncs_queue_is_held_to_tws_limit_only_when_the_gateway_paces() -> None:
    from horizon.venues.ibkr.config import IB_MESSAGES_PER_SECOND, ib_async_queue_limit

    assert ib_async_queue_limit(IbkrConfig()) == IB_MESSAGES_PER_SECOND == 50
    assert ib_async_queue_limit(IbkrConfig(gateway_pacing=False)) is None
