"""Moved to ibgateway_sim.wire.messages; kept for one release."""

from ibgateway_sim.wire import messages as _moved
from ibgateway_sim.wire.messages import *  # noqa: F403

Contract11 = _moved.ReplyContract  # the old names of the two contract sub-rows
Contract12 = _moved.RequestContract
