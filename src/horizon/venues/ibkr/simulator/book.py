"""Moved to ibgateway_sim.engine.book; kept for one release."""

from ibgateway_sim.engine.book import *  # noqa: F403
