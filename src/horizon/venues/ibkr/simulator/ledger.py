"""Moved to ibgateway_sim.engine.ledger; kept for one release."""

from ibgateway_sim.engine.ledger import *  # noqa: F403
