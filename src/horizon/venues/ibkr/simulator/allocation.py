"""Moved to ibgateway_sim.engine.allocation; kept for one release."""

from ibgateway_sim.engine.allocation import *  # noqa: F403
