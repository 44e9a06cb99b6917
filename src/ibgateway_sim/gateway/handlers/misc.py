"""The rest: reqCurrentTime (the gateway's clock, in epoch seconds)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from ibgateway_sim.gateway.handlers.base import Handler
from ibgateway_sim.gateway.session import Session
from ibgateway_sim.wire import messages as m


class MiscHandlers:
    def __init__(self, *, clock: Callable[[], float]) -> None:
        self._clock = clock

    @property
    def handlers(self) -> Mapping[type, Handler]:
        return {m.ReqCurrentTime: self._on_current_time}

    def forget(self, session: Session) -> None:
        """Nothing is kept per connection."""

    def _on_current_time(self, s: Session, msg: m.ReqCurrentTime) -> None:
        s.send(m.CurrentTime(time=int(self._clock())))
