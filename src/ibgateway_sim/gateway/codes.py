"""What the gateway layer says in error messages: TWS's codes and texts, in one table.

Clients branch on these codes (ib_async and ibapi both do), so each text is TWS's own. The
engine's order errors (rejections, unknown ids) are the engine's: see `engine/working.py`.
"""

from __future__ import annotations

from typing import Final

# sent after startApi, as TWS does once its farms are up
FARM_NOTICES: Final = (
    (2104, "Market data farm connection is OK:usfarm"),
    (2106, "HMDS data farm connection is OK:ushmds"),
    (2158, "Sec-def data farm connection is OK:secdefnj"),
)
CLIENT_ID_IN_USE: Final = 326
TEXT_CLIENT_ID_IN_USE: Final = (
    "Unable to connect as the client id is already in use. Retry with a unique client id."
)
PACING: Final = 100
READ_ERROR: Final = 320
TEXT_READ_ERROR: Final = "Server error when reading an API client request."
NOT_SUBSCRIBED: Final = 354
TEXT_NOT_SUBSCRIBED: Final = "Requested market data is not subscribed."
DELAYED_SHOWN: Final = 10167
TEXT_DELAYED_SHOWN: Final = (
    "Requested market data is not subscribed. Displaying delayed market data."
)
DELAYED_DISABLED: Final = 10168
TEXT_DELAYED_DISABLED: Final = (
    "Requested market data is not subscribed. Delayed market data is not enabled."
)
NO_SECURITY: Final = 200
TEXT_NO_SECURITY: Final = "No security definition has been found for the request"


def text_pacing(limit: int, count: int) -> str:
    """Error 100's text: the limit and how many messages the window held."""
    return f"Max rate of messages per second has been exceeded:max={limit} rec={count} (1)"
