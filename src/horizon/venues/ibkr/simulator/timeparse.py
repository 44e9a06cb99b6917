"""Moved to ibgateway_sim.engine.timeparse; kept for one release."""

from ibgateway_sim.engine.timeparse import *  # noqa: F403
