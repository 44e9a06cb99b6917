"""Moved to ibgateway_sim.engine.validation; kept for one release."""

from ibgateway_sim.engine.validation import *  # noqa: F403
