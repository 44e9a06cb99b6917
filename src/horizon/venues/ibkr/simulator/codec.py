"""Moved to ibgateway_sim.wire.codec; kept for one release."""

from ibgateway_sim.wire.codec import *  # noqa: F403
