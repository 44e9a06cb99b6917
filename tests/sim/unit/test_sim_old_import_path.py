"""`horizon.venues.ibkr.simulator` is kept for one release as re-exports of `ibgateway_sim`:
code written against the old path keeps working, and gets the very same objects."""

from __future__ import annotations

import importlib
import pkgutil

import horizon.venues.ibkr.simulator as old
import ibgateway_sim
from ibgateway_sim import engine, limits
from ibgateway_sim.engine import allocation
from ibgateway_sim.gateway import mapping
from ibgateway_sim.wire import codec, messages


def test_the_old_names_are_the_new_objects() -> None:
    from horizon.venues.ibkr.simulator import allocation as old_allocation
    from horizon.venues.ibkr.simulator import codec as old_codec
    from horizon.venues.ibkr.simulator import engine as old_engine
    from horizon.venues.ibkr.simulator import limits as old_limits
    from horizon.venues.ibkr.simulator import mapping as old_mapping
    from horizon.venues.ibkr.simulator import messages as old_messages

    for name in ibgateway_sim.__all__:
        assert getattr(old, name) is getattr(ibgateway_sim, name)
    assert old_messages.PlaceOrder is messages.PlaceOrder
    assert old_messages.Contract11 is messages.ReplyContract  # renamed; the old names stay
    assert old_messages.Contract12 is messages.RequestContract
    assert old_codec.ClientConnection is codec.ClientConnection
    assert old_codec.MAX_VERSION == codec.MAX_VERSION
    assert old_engine.Engine is engine.Engine
    assert old_limits.Limits is limits.Limits
    assert old_allocation.largest_remainder is allocation.largest_remainder
    assert old_mapping.Clock is mapping.TimeFormatter
    assert old_mapping.contract11 is mapping.reply_contract


def test_every_old_module_is_a_one_line_pointer_to_its_new_home() -> None:
    names = [info.name for info in pkgutil.iter_modules(old.__path__)]
    assert "messages" in names and "engine" in names
    for name in [old.__name__, *(f"{old.__name__}.{n}" for n in names)]:
        module = importlib.import_module(name)
        doc = module.__doc__ or ""
        assert doc.startswith("Moved to ibgateway_sim") and doc.endswith(
            "; kept for one release."
        ), (name, doc)
        assert "\n" not in doc, name
