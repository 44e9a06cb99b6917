"""The login state read from IBC's log: one fixture per phase, in IBC's own words."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from horizon.venues.ibkr.doctor import (
    CheckStatus,
    LoginPhase,
    login_check,
    read_login_state,
)

LOGS = Path(__file__).resolve().parents[2] / "fixtures" / "ibc"


def state_of(name: str):  # type: ignore[no-untyped-def]
    return read_login_state((LOGS / f"{name}.log").read_text().splitlines(keepends=True))


@pytest.mark.parametrize(
    ("log", "phase", "said"),
    [
        ("logged_in", LoginPhase.LOGGED_IN, "Login has completed"),
        ("awaiting_2fa", LoginPhase.AWAITING_2FA, "Second Factor Authentication initiated"),
        ("two_fa_timed_out", LoginPhase.TWO_FA_TIMED_OUT, "IBC closing because login"),
        ("login_refused", LoginPhase.LOGIN_REFUSED, "Invalid username or password."),
        ("existing_session", LoginPhase.EXISTING_SESSION, "let the other session proceed"),
        ("too_many_attempts", LoginPhase.TOO_MANY_ATTEMPTS, "4 minutes & 47 seconds"),
        ("starting", LoginPhase.STARTING, "Starting Gateway"),
        ("restarted_after_login", LoginPhase.STARTING, "Starting Gateway"),
    ],
)
def test_each_phase_is_read_from_what_ibc_says(log: str, phase: LoginPhase, said: str) -> None:
    state = state_of(log)
    assert state.phase is phase
    assert said in state.detail


def test_the_auto_restart_time_and_when_the_phase_began() -> None:
    state = state_of("logged_in")
    assert state.restart_at == "11:45 PM"
    assert state.since == datetime(2026, 12, 1, 22, 58, 21)
    assert state_of("restarted_after_login").restart_at is None  # a new session forgets it


def test_verdicts_name_the_fix() -> None:
    ok = login_check(state_of("logged_in"), api_listening=True)
    assert ok.status is CheckStatus.OK and "auto restart at 11:45 PM" in ok.detail
    no_api = login_check(state_of("logged_in"), api_listening=False)
    assert no_api.status is CheckStatus.FAIL and "Enable ActiveX and Socket Clients" in no_api.fix
    for log, words in (
        ("awaiting_2fa", "IBKR Mobile"),
        ("login_refused", "TWS_USERID"),
        ("existing_session", "dedicated username"),
        ("too_many_attempts", "wait"),
        ("two_fa_timed_out", "approve the next attempt"),
    ):
        check = login_check(state_of(log), api_listening=False)
        assert check.status is CheckStatus.FAIL and words in check.fix, log


def test_a_log_without_ibc_lines_is_unknown_not_guessed() -> None:
    state = read_login_state(["hello\n", "2026-12-01 10:00:00 something else\n"])
    assert state.phase is LoginPhase.UNKNOWN and state.since is None
