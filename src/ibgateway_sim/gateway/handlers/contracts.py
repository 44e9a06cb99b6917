"""Contracts: reqContractDetails, answered from the engine's universe (every match, as TWS
does for an ambiguous query; the client decides). cancelContractData (protobuf only, from 215)
finds nothing in flight: the details are answered at once."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from ibgateway_sim.engine import Engine
from ibgateway_sim.engine.combos import TEXT_BAG_NO_DETAILS
from ibgateway_sim.gateway.codes import NO_SECURITY, TEXT_NO_SECURITY
from ibgateway_sim.gateway.handlers.base import Handler, ignore
from ibgateway_sim.gateway.mapping import contract_data, contract_query
from ibgateway_sim.gateway.session import Session
from ibgateway_sim.wire import messages as m


class ContractHandlers:
    def __init__(self, engine: Engine, *, clock: Callable[[], float]) -> None:
        self._engine = engine
        self._clock = clock

    @property
    def handlers(self) -> Mapping[type, Handler]:
        return {m.ReqContractDetails: self._on_contract_details, m.CancelContractData: ignore}

    def forget(self, session: Session) -> None:
        """Nothing is kept per connection."""

    def _on_contract_details(self, s: Session, msg: m.ReqContractDetails) -> None:
        if msg.contract.sec_type == "BAG":  # TWS refuses; a combo has no contract details
            s.send_error(msg.req_id, 321, TEXT_BAG_NO_DETAILS)
            return
        specs = self._engine.match_contracts(contract_query(msg.contract))
        if not specs:
            s.send_error(msg.req_id, NO_SECURITY, TEXT_NO_SECURITY)
            return
        now = self._clock()  # trading hours are given for the days from today
        for spec in specs:
            s.send(contract_data(spec, msg.req_id, now))
        s.send(m.ContractDataEnd(req_id=msg.req_id))
