"""Where the gateway's login stands, read from IBC's log. Pure: lines in, a verdict out.

The API socket cannot say why a gateway is not ready; IBC's log can. IBC writes one line per
step, ``yyyy-MM-dd HH:mm:ss:SSS IBC: <message>`` (its ``Utils.formatMessage``), and the
messages below are IBC's own (the source that writes each is named next to it), so a phase is
recognised by what IBC says, never guessed. The last start in the log ("Starting Gateway" /
"Starting TWS") opens the session that counts; what came before it is history.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final


class LoginPhase(StrEnum):
    UNKNOWN = "unknown"  # no IBC line in the log
    STARTING = "starting"  # IBC started the gateway; no login result yet
    AWAITING_2FA = "awaiting_2fa"  # second-factor authentication initiated, not completed
    TWO_FA_TIMED_OUT = "two_fa_timed_out"  # IBC gave up waiting for the second factor
    LOGIN_REFUSED = "login_refused"  # wrong credentials, or an account-side refusal
    TOO_MANY_ATTEMPTS = "too_many_attempts"
    EXISTING_SESSION = "existing_session"  # the username is logged in elsewhere
    LOGGED_IN = "logged_in"


@dataclass(frozen=True, slots=True)
class LoginState:
    phase: LoginPhase
    since: datetime | None  # when the log entered this phase
    detail: str  # what IBC said
    restart_at: str | None = None  # "11:45 PM": IBC's auto restart (or logoff) time, if set


_LINE: Final = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d):\d{3} IBC: (.*)$")

# (phase, message prefix or fragment) in IBC's words; first match per line wins
_SIGNS: Final = (
    # IbcTws.java: a (re)start of the gateway or TWS opens a new session
    (LoginPhase.STARTING, "Starting Gateway"),
    (LoginPhase.STARTING, "Starting TWS"),
    # LoginManager.java
    (LoginPhase.AWAITING_2FA, "Second Factor Authentication initiated"),
    (LoginPhase.LOGGED_IN, "Login has completed"),
    (LoginPhase.TWO_FA_TIMED_OUT, "IBC closing because login has not completed after Second"),
    (LoginPhase.TWO_FA_TIMED_OUT, "If login has not completed, IBC will exit in"),
    # LoginFailedDialogHandler.java, LoginErrorDialogHandler.java
    (LoginPhase.LOGIN_REFUSED, "Login failed"),
    (LoginPhase.LOGIN_REFUSED, "Login error message:"),
    # TooManyFailedLoginAttemptsDialogHandler.java
    (LoginPhase.TOO_MANY_ATTEMPTS, "Too many failed login attempts"),
    # ExistingSessionDetectedDialogHandler.java: the scenarios in which this session gives way
    (LoginPhase.EXISTING_SESSION, "User must choose whether to continue with this session"),
    (LoginPhase.EXISTING_SESSION, "End this session and let the other session proceed"),
    (LoginPhase.EXISTING_SESSION, "so end this session and let the other one proceed"),
)
# ConfigureAutoLogoffOrRestartTimeTask.java: "Auto restart time set to 11:45 PM" (also
# "already set to", "changed from X to Y"); "Auto logoff" the same
_RESTART: Final = re.compile(
    r"^Auto (?:restart|logoff) time (?:set to|already set to|changed from .+ to) "
    r"(\d\d:\d\d [AP]M)$"
)


def read_login_state(lines: Iterable[str]) -> LoginState:
    """The login phase of the newest session in an IBC log."""
    phase, since, detail = LoginPhase.UNKNOWN, None, "no IBC messages in the log"
    restart_at: str | None = None
    pending_error = False
    for raw in lines:
        m = _LINE.match(raw.rstrip("\n"))
        if m is None:
            if pending_error and raw.strip():
                detail = f"{detail} {raw.strip()}".strip()  # the error dialog's text follows
            continue
        pending_error = False
        when = datetime.strptime(m[1], "%Y-%m-%d %H:%M:%S")
        message = m[2].strip()
        if restart := _RESTART.match(message):
            restart_at = restart[1]
            continue
        for sign_phase, text in _SIGNS:
            if text in message:
                if sign_phase is LoginPhase.STARTING:
                    restart_at = None  # a new session: its settings are logged again
                if sign_phase is LoginPhase.LOGIN_REFUSED and phase is LoginPhase.TOO_MANY_ATTEMPTS:
                    break  # the dialog's follow-up line; the cause is already known
                phase, since, detail = sign_phase, when, message
                pending_error = message.startswith("Login error message:")
                break
    return LoginState(phase=phase, since=since, detail=detail, restart_at=restart_at)


# what a person does about each phase
FIXES: Final = {
    LoginPhase.UNKNOWN: "point --gateway-log at IBC's log (the gateway container's stdout, or "
    "IBC's logs folder); without IBC lines the login state cannot be read",
    LoginPhase.STARTING: "wait for the login to finish (a first login takes a minute or two); "
    "if it stays here, look at the gateway's screen or IBC's config.ini",
    LoginPhase.AWAITING_2FA: "approve the login in IBKR Mobile (IB Key) now; IBC gives up after "
    "SecondFactorAuthenticationTimeout (180 s by default)",
    LoginPhase.TWO_FA_TIMED_OUT: "the second factor was not approved in time; approve the next "
    "attempt (ReloginAfterSecondFactorAuthenticationTimeout=yes makes IBC retry by itself)",
    LoginPhase.LOGIN_REFUSED: "check TWS_USERID / TWS_PASSWORD (a paper login has its own "
    "username) and that the account is not locked; IBC restarts the gateway after a refusal",
    LoginPhase.TOO_MANY_ATTEMPTS: "stop retrying until IB's wait is over, then fix the "
    "credentials before the next attempt",
    LoginPhase.EXISTING_SESSION: "the username is logged in elsewhere (TWS, the mobile app, "
    "another gateway): give the gateway a dedicated username, or set "
    "ExistingSessionDetectedAction=primary in IBC's config",
    LoginPhase.LOGGED_IN: "",
}
