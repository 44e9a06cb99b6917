"""Moved to ibgateway_sim.engine.universe; kept for one release."""

from ibgateway_sim.engine.universe import *  # noqa: F403
