"""What every area of request handlers offers the gateway core."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from ibgateway_sim.gateway.session import Session

Handler = Callable[[Session, Any], None]


class Area(Protocol):
    """A group of request handlers and the per-connection state they keep."""

    @property
    def handlers(self) -> Mapping[type, Handler]:
        """Request type -> its handler; each request type belongs to one area."""
        ...

    def forget(self, session: Session) -> None:
        """The connection is gone: drop what was kept for it."""
        ...


def ignore(session: Session, msg: Any) -> None:
    """For requests TWS answers with nothing the simulator models (a cancel of nothing)."""
