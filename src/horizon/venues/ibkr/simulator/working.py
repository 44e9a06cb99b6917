"""Moved to ibgateway_sim.engine.working; kept for one release."""

from ibgateway_sim.engine.working import *  # noqa: F403
