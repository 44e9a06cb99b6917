"""A protocol-faithful IB Gateway simulator: the real TWS API wire protocol over TCP, a paper
matching engine behind it, and the faults a real gateway shows (restart, freeze, duplicate or
corrected executions, lost orders). Standard library only.

    from horizon.venues.ibkr.simulator import GatewaySimulator
    sim = GatewaySimulator(port=0, accounts=["DU1234567"], seed=7)
    sim.start()                # background thread; sim.port is the bound port
    ...                        # or: async with GatewaySimulator(...) as sim:
    sim.stop()
"""

from horizon.venues.ibkr.simulator.control import GatewaySimulator, SessionInfo
from horizon.venues.ibkr.simulator.faults import FaultPlan, OneShot
from horizon.venues.ibkr.simulator.limits import Limits

__all__ = ["FaultPlan", "GatewaySimulator", "Limits", "OneShot", "SessionInfo"]
