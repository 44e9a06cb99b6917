"""Moved to ibgateway_sim.engine.pretrade; kept for one release."""

from ibgateway_sim.engine.pretrade import *  # noqa: F403
