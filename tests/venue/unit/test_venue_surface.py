"""The public surface: each *_async method has a blocking twin with the same parameters."""

from __future__ import annotations

import inspect

from horizon.core import Venue
from horizon.venues.ibkr import Ibkr


def test_every_async_method_has_a_sync_twin_with_the_same_parameters() -> None:
    pairs = 0
    for name, fn in inspect.getmembers(Ibkr, inspect.iscoroutinefunction):
        if name.startswith("_") or not name.endswith("_async"):
            continue
        twin = getattr(Ibkr, name.removesuffix("_async"), None)
        assert twin is not None, f"{name} has no blocking twin"
        assert inspect.signature(twin).parameters.keys() == inspect.signature(fn).parameters.keys()
        pairs += 1
    assert pairs >= 20  # orders, fills, account, tickets, quotes, allocation: all on Ibkr


def test_ibkr_is_a_composition_not_a_mixin_stack() -> None:
    assert Ibkr.__mro__ == (Ibkr, object)


def test_ibkr_satisfies_the_venue_protocol() -> None:
    venue = Ibkr(port=7497, paper=True)
    try:
        assert isinstance(venue, Venue)
    finally:
        venue.close()
