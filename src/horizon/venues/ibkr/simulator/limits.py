"""Moved to ibgateway_sim.limits; kept for one release."""

from ibgateway_sim.limits import *  # noqa: F403
