"""Moved to ibgateway_sim.engine.journal; kept for one release."""

from ibgateway_sim.engine.journal import *  # noqa: F403
