"""Moved to ibgateway_sim.faults; kept for one release."""

from ibgateway_sim.faults import *  # noqa: F403
