"""Moved to ibgateway_sim.wire.messages; kept for one release."""

from ibgateway_sim.wire.messages import *  # noqa: F403
