"""Orders: placeOrder, cancelOrder, reqGlobalCancel, the open / all-open / auto-open / completed
order queries, and reqIds.

An order's own traffic (open order, status, fills) is not sent from here: the engine's events
go to the dispatcher, which knows who hears about which order. The placeOrder faults (dropped,
or the connection lost right after it) bite here, where TWS would lose them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Protocol

from ibgateway_sim.engine import Engine, Event, OrderState
from ibgateway_sim.faults import FaultPlan, OneShot
from ibgateway_sim.gateway.handlers.base import Handler
from ibgateway_sim.gateway.mapping import (
    TimeFormatter,
    completed_order,
    open_order,
    order_request,
    order_status,
)
from ibgateway_sim.gateway.session import Session
from ibgateway_sim.wire import messages as m

log = logging.getLogger(__name__)


class Dispatcher(Protocol):
    """The part that turns engine events into messages for their audience."""

    def dispatch(self, events: Sequence[Event]) -> None: ...

    def bind_manual_orders(self, session: Session, bound: bool) -> None: ...


class OrderHandlers:
    def __init__(
        self,
        engine: Engine,
        faults: FaultPlan,
        *,
        dispatcher: Dispatcher,
        clock: Callable[[], float],
        times: TimeFormatter,
    ) -> None:
        self._engine = engine
        self._faults = faults
        self._dispatcher = dispatcher
        self._clock = clock
        self._times = times

    @property
    def handlers(self) -> Mapping[type, Handler]:
        return {
            m.ReqIds: self._on_ids,
            m.PlaceOrder: self._on_place_order,
            m.CancelOrder: self._on_cancel_order,
            m.ReqGlobalCancel: self._on_global_cancel,
            m.ReqOpenOrders: self._on_open_orders,
            m.ReqAllOpenOrders: self._on_all_open_orders,
            m.ReqAutoOpenOrders: self._on_auto_open_orders,
            m.ReqCompletedOrders: self._on_completed_orders,
        }

    def forget(self, session: Session) -> None:
        """Nothing is kept per connection here (auto-open binding is the dispatcher's)."""

    def _on_ids(self, s: Session, msg: m.ReqIds) -> None:
        s.send(m.NextValidId(order_id=self._engine.next_order_id_hint()))

    def _on_place_order(self, s: Session, msg: m.PlaceOrder) -> None:
        assert s.client_id is not None
        if self._faults.take(OneShot.DROP_ORDER):
            log.warning(
                "fault: placeOrder dropped",
                extra={"client_id": s.client_id, "order_id": msg.order_id},
            )
            return
        self._dispatcher.dispatch(self._engine.place(order_request(msg, s.client_id)))
        if self._faults.take(OneShot.DROP_AFTER_ORDER):
            # the network goes between two requests: what was answered so far may or may not
            # reach the client; nothing after this placeOrder reaches the gateway
            log.warning(
                "fault: connection dropped after a placeOrder",
                extra={"client_id": s.client_id, "order_id": msg.order_id},
            )
            s.flush()
            s.close(abort=True)

    def _on_cancel_order(self, s: Session, msg: m.CancelOrder) -> None:
        assert s.client_id is not None
        self._dispatcher.dispatch(self._engine.cancel(s.client_id, msg.order_id))

    def _on_global_cancel(self, s: Session, msg: m.ReqGlobalCancel) -> None:
        self._dispatcher.dispatch(self._engine.global_cancel())

    def _send_open_orders(self, s: Session, orders: Iterable[OrderState]) -> None:
        for st in orders:
            s.send(open_order(st))
            s.send(order_status(st))
        s.send(m.OpenOrderEnd())

    def _on_open_orders(self, s: Session, msg: m.ReqOpenOrders) -> None:
        self._send_open_orders(s, self._engine.open_orders(s.client_id))

    def _on_all_open_orders(self, s: Session, msg: m.ReqAllOpenOrders) -> None:
        self._send_open_orders(s, self._engine.open_orders(None))

    def _on_auto_open_orders(self, s: Session, msg: m.ReqAutoOpenOrders) -> None:
        # only a clientId-0 session can bind the orders typed into TWS
        self._dispatcher.bind_manual_orders(s, msg.auto_bind and s.client_id == 0)

    def _on_completed_orders(self, s: Session, msg: m.ReqCompletedOrders) -> None:
        for st in self._engine.completed_orders():
            if msg.api_only and st.client_id == 0:
                continue
            s.send(completed_order(st, self._times, self._clock()))
        s.send(m.CompletedOrdersEnd())
