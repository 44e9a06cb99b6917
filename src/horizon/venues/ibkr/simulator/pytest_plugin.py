"""Moved to ibgateway_sim.pytest_plugin; kept for one release."""

from ibgateway_sim.pytest_plugin import *  # noqa: F403
