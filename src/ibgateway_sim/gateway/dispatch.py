"""Engine events -> messages, to the sessions that hear about them.

What a real gateway does that shapes this module:
* order traffic goes only to the session whose clientId owns the order; orders typed into
  TWS (clientId 0) also go to clientId-0 sessions that bound them with reqAutoOpenOrders;
* a live fill is execDetails (reqId -1), then the order's status, then its commissionReport;
* after fills, subscribers hear about the positions and account values that changed.

The execution faults (duplicate, commission first, commission lost, a correction) bite here,
where TWS would make them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from ibgateway_sim.engine import (
    Commission,
    Engine,
    Event,
    ExecutionMade,
    OrderError,
    OrderState,
    OrderUpdated,
)
from ibgateway_sim.faults import FaultPlan, OneShot
from ibgateway_sim.gateway.mapping import (
    TimeFormatter,
    exec_details_values,
    only_status_changed,
    open_order,
    order_status_values,
)
from ibgateway_sim.gateway.session import Session
from ibgateway_sim.gateway.shapes import ShapedFrames
from ibgateway_sim.wire import messages as m
from ibgateway_sim.wire.codec import encode

OPEN_ROWS_KEPT = 10_000  # the openOrder rows of live orders kept to be sent again


@dataclass(slots=True)
class _OpenRow:
    """An order's openOrder row and the snapshot it was made from, kept while the order
    lives for the frames no `Shape` makes (protobuf, margin answers): its next statuses
    re-make only the status (`only_status_changed`)."""

    state: OrderState
    row: m.OpenOrder

    def frame(self, status: str, version: int) -> bytes:
        """The frame of `open_order` of a snapshot with `status`, at `version`."""
        row = self.row if self.row.status == status else m.evolve(self.row, status=status)
        return encode(row, version)


class EventDispatcher:
    def __init__(
        self,
        sessions: Collection[Session],
        engine: Engine,
        *,
        faults: FaultPlan,
        times: TimeFormatter,
        after_fills: Callable[[set[tuple[str, int]]], None],  # (account, conId)s
    ) -> None:
        self._sessions = sessions  # the gateway's live view of its connections
        self._engine = engine
        self._faults = faults
        self._times = times
        self._after_fills = after_fills
        self._manual_orders_to: set[Session] = set()  # clientId-0 sessions with auto-bind
        # each live order's openOrder row and the snapshot it was made from: the next status
        # of the order re-makes only what changed (`only_status_changed`)
        self._open_rows: dict[tuple[int, int], _OpenRow] = {}
        self._shaped = ShapedFrames(times)  # openOrder, orderStatus, execDetails frames

    def bind_manual_orders(self, session: Session, bound: bool) -> None:
        """reqAutoOpenOrders: `session` hears (or stops hearing) about TWS-entered orders."""
        if bound:
            self._manual_orders_to.add(session)
        else:
            self._manual_orders_to.discard(session)

    def forget(self, session: Session) -> None:
        self._manual_orders_to.discard(session)

    def audience(self, client_id: int) -> list[Session]:
        """Who hears about an order of `client_id`."""
        manual = self._manual_orders_to if client_id == 0 else ()
        return [
            s
            for s in self._sessions
            if s.started and not s.closed and (s.client_id == client_id or s in manual)
        ]

    def everyone(self) -> list[Session]:
        return [s for s in self._sessions if s.started and not s.closed]

    def _open_order(self, st: OrderState) -> _OpenRow:
        key = (st.client_id, st.order_id)
        kept = self._open_rows.get(key)
        if kept is None or not only_status_changed(st, kept.state):
            kept = _OpenRow(st, open_order(st))
        if st.is_done or st.margin is not None:
            self._open_rows.pop(key, None)
        else:
            if len(self._open_rows) >= OPEN_ROWS_KEPT and key not in self._open_rows:
                self._open_rows.clear()
            self._open_rows[key] = kept
        return kept

    def dispatch(self, events: Sequence[Event]) -> None:
        """Turn engine events into messages, in order; commission reports follow the order
        status of their execution, as TWS sends them."""
        faults = self._faults
        shaped = self._shaped
        heard: dict[int, list[Session]] = {}  # client id -> its audience, for this batch
        queue: deque[Event] = deque(events)
        later: list[tuple[list[Session], Commission]] = []
        touched: set[tuple[str, int]] = set()
        while queue:
            ev = queue.popleft()
            if isinstance(ev, OrderUpdated):
                st = ev.order
                audience = heard.get(st.client_id)
                if audience is None:
                    audience = heard[st.client_id] = self.audience(st.client_id)
                shaped_rows = st.margin is None  # a margin answer's rows are not shaped
                status = order_status_values(st) if shaped_rows else None
                row: _OpenRow | None = None
                for s in audience:
                    if not ev.status_only:
                        version = s.conn.version
                        made = shaped.open_order(st, version) if shaped_rows else None
                        if made is None:
                            row = row or self._open_order(st)
                            made = row.frame(st.status, version)
                        s.send_frame(made)
                    if status is not None:
                        s.send_frame(shaped.order_status(st, status, s.conn.version))
            elif isinstance(ev, ExecutionMade):
                ex, cr = ev.execution, ev.commission
                if ex.contract.sec_type != "BAG":  # a combo's positions are its legs'
                    touched.add((ex.account, ex.contract.con_id))
                # IB's forced liquidation belongs to no client: every session hears of it
                if ex.liquidation:
                    audience = self.everyone()
                else:
                    audience = heard.get(ex.client_id)
                    if audience is None:
                        audience = heard[ex.client_id] = self.audience(ex.client_id)
                details = exec_details_values(ex, -1, self._times)
                if faults.armed:  # none armed is one test, not three
                    first = faults.take(OneShot.COMMISSION_FIRST)
                    twice = faults.take(OneShot.DUPLICATE_EXEC)
                    drop = faults.take(OneShot.DROP_COMMISSION)
                else:
                    first = twice = drop = False
                for s in audience:
                    if first and not drop:
                        s.send_frame(shaped.commission_report(cr, s.conn.version))
                    framed = shaped.exec_details(ex, details, s.conn.version)
                    s.send_frame(framed)
                    if twice:
                        s.send_frame(framed)
                if not (first or drop):
                    later.append((audience, cr))
                correction = faults.take_correction() if faults.corrections else None
                if correction is not None:
                    queue.extend(
                        self._engine.correct_execution(
                            ex.exec_id, shares=correction.shares, price=correction.price
                        )
                    )
            elif isinstance(ev, OrderError):
                for s in self.audience(ev.client_id):
                    s.send_error(ev.order_id, ev.code, ev.text)
        for audience, cr in later:
            for s in audience:
                s.send_frame(shaped.commission_report(cr, s.conn.version))
        if touched:
            self._after_fills(touched)
