"""Wall Street Horizon corporate-event calendar: reqWshMetaData (the event types and filters
offered, as JSON) and reqWshEventData (a small deterministic calendar per instrument: the
quarterly earnings dates), and their cancels (answered at once, nothing to cancel)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from typing import Final

from ibgateway_sim.engine import Engine, EngineError
from ibgateway_sim.gateway.handlers.base import Handler, ignore
from ibgateway_sim.gateway.session import Session
from ibgateway_sim.wire import messages as m

WSH_NO_DATA: Final = 10276  # TWS's "News feed is not allowed"-family code for WSH requests
TEXT_WSH_NO_DATA: Final = "WSH event data request failed: no data for the given filter"
META: Final = {
    "event_types": [
        {"tag": "wshe_ed", "name": "Earnings Date"},
        {"tag": "wshe_div", "name": "Dividend"},
    ],
    "filters": [
        {"tag": "watchlist", "name": "Watchlist"},
        {"tag": "portfolio", "name": "Portfolio"},
    ],
}


class WshHandlers:
    def __init__(self, engine: Engine, *, clock: Callable[[], float]) -> None:
        self._engine = engine
        self._clock = clock

    @property
    def handlers(self) -> Mapping[type, Handler]:
        return {
            m.ReqWshMetaData: self._on_meta,
            m.CancelWshMetaData: ignore,
            m.ReqWshEventData: self._on_events,
            m.CancelWshEventData: ignore,
        }

    def forget(self, session: Session) -> None:
        """Nothing is kept per connection."""

    def _on_meta(self, s: Session, msg: m.ReqWshMetaData) -> None:
        s.send(m.WshMetaData(req_id=msg.req_id, data_json=json.dumps(META)))

    def _on_events(self, s: Session, msg: m.ReqWshEventData) -> None:
        try:
            spec = self._engine.contract(msg.con_id or 0)
        except EngineError:
            s.send_error(msg.req_id, WSH_NO_DATA, TEXT_WSH_NO_DATA)
            return
        year = dt.datetime.fromtimestamp(self._clock(), dt.UTC).year
        events = [
            {"conid": spec.con_id, "event_type": "wshe_ed", "symbol": spec.symbol,
             "data": {"earnings_date": f"{year}{month:02d}28", "time_of_day": "AMC"}}
            for month in (1, 4, 7, 10)
        ]  # fmt: skip
        if msg.total_limit:
            events = events[: msg.total_limit]
        s.send(m.WshEventData(req_id=msg.req_id, data_json=json.dumps(events)))
