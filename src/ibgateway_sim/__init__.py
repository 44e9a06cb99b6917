"""A protocol-faithful IB Gateway simulator: the real TWS API wire protocol over TCP, a paper
matching engine behind it, and the faults a real gateway shows (restart, freeze, duplicate or
corrected executions, lost orders). Standard library only.

    from ibgateway_sim import GatewaySimulator
    sim = GatewaySimulator(port=0, accounts=["DU1234567"], seed=7)
    sim.start()                # background thread; sim.port is the bound port
    ...                        # or: async with GatewaySimulator(...) as sim:
    sim.stop()

Layers, each importing only those below it: `wire` (messages, codec: sans-IO), `engine` (the
paper exchange: pure), `gateway` (sessions, pacing, handlers, dispatch: the sockets), and
`control` (threads, waits, faults).
"""

from ibgateway_sim.control import GatewaySimulator
from ibgateway_sim.faults import FaultPlan, OneShot
from ibgateway_sim.gateway.session import SessionInfo
from ibgateway_sim.limits import Limits

__all__ = ["FaultPlan", "GatewaySimulator", "Limits", "OneShot", "SessionInfo"]
