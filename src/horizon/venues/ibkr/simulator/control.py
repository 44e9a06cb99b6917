"""Moved to ibgateway_sim.control; kept for one release."""

from ibgateway_sim.control import *  # noqa: F403
