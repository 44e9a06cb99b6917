"""Moved to ibgateway_sim.engine; kept for one release."""

from ibgateway_sim.engine import *  # noqa: F403
