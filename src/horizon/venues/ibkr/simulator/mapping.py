"""Moved to ibgateway_sim.gateway.mapping; kept for one release."""

from ibgateway_sim.gateway import mapping as _moved
from ibgateway_sim.gateway.mapping import *  # noqa: F403

Clock = _moved.TimeFormatter  # the old names
contract11 = _moved.reply_contract
