"""Moved to ibgateway_sim.wire.fieldcodec; kept for one release."""

from ibgateway_sim.wire.fieldcodec import *  # noqa: F403
