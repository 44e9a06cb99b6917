"""Moved to ibgateway_sim.engine.model; kept for one release."""

from ibgateway_sim.engine.model import *  # noqa: F403
