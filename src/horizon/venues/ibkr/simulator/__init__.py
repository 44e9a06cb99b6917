"""Moved to ibgateway_sim; kept for one release."""

from ibgateway_sim import FaultPlan, GatewaySimulator, Limits, OneShot, SessionInfo

__all__ = ["FaultPlan", "GatewaySimulator", "Limits", "OneShot", "SessionInfo"]
