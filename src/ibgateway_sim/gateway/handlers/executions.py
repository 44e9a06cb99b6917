"""Executions: reqExecutions, the day's executions (corrections included) that pass the
client's filter, each followed by its commission report."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from ibgateway_sim.engine import Engine, ExecFilter
from ibgateway_sim.gateway.handlers.base import Handler
from ibgateway_sim.gateway.mapping import TimeFormatter, commission_report, exec_details
from ibgateway_sim.gateway.session import Session
from ibgateway_sim.wire import messages as m

log = logging.getLogger(__name__)


class ExecutionHandlers:
    def __init__(self, engine: Engine, *, times: TimeFormatter) -> None:
        self._engine = engine
        self._times = times

    @property
    def handlers(self) -> Mapping[type, Handler]:
        return {m.ReqExecutions: self._on_executions}

    def forget(self, session: Session) -> None:
        """Nothing is kept per connection."""

    def _on_executions(self, s: Session, msg: m.ReqExecutions) -> None:
        flt = ExecFilter(
            client_id=msg.client_id,
            account=msg.acct_code,
            time=msg.time,
            symbol=msg.symbol,
            sec_type=msg.sec_type,
            exchange=msg.exchange,
            side=msg.side,
        )
        try:
            rows = self._engine.executions(flt)
        except ValueError as exc:  # an unreadable filter time
            log.warning("bad execution filter", extra={"reason": str(exc)})
            rows = []
        for ex, cr in rows:
            s.send(exec_details(ex, msg.req_id, self._times))
            s.send(commission_report(cr))
        s.send(m.ExecDetailsEnd(req_id=msg.req_id))
