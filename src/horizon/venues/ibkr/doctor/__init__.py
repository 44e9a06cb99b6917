"""`horizon-ibkr doctor`: is this gateway fit for Horizon, and if not, what does a person do?

Nine checks, each OK / WARN / FAIL (or SKIP when an earlier one failed) with a one-line fix:
tcp, handshake, port_mode, client_id, accounts, clock, farms, market_data, and login (the
gateway's login state, read from IBC's log with --gateway-log: starting, awaiting the second
factor, refused, another session, logged in, the auto-restart time). The verdicts are
pure functions of what was observed (`checks.py`, unit-tested without sockets, with the
thresholds and defaults); `run_doctor` does the I/O (`probe.py`). The table for people is
`render_doctor` in `horizon.cli`.
"""

from __future__ import annotations

from horizon.venues.ibkr.doctor.checks import (
    CHECK_NAMES,
    Check,
    CheckStatus,
    DoctorOptions,
    DoctorReport,
    MarketDataProbe,
    accounts_check,
    clock_check,
    farms_check,
    handshake_check,
    login_check,
    market_data_check,
    port_mode_check,
    report_to_dict,
)
from horizon.venues.ibkr.doctor.login import LoginPhase, LoginState, read_login_state
from horizon.venues.ibkr.doctor.probe import run_doctor

__all__ = [
    "CHECK_NAMES",
    "Check",
    "CheckStatus",
    "DoctorOptions",
    "DoctorReport",
    "LoginPhase",
    "LoginState",
    "MarketDataProbe",
    "accounts_check",
    "clock_check",
    "farms_check",
    "handshake_check",
    "login_check",
    "market_data_check",
    "port_mode_check",
    "read_login_state",
    "report_to_dict",
    "run_doctor",
]  # fmt: skip
