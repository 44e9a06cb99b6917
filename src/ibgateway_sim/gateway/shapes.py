"""The frames of the rows an order's life sends most (openOrder, orderStatus, execDetails),
made from `codec.Shape`s: one encoding per shape of row with the fields that differ between
rows of that shape left open, filled in per frame. ~250 fields of openOrder are encoded once
per kind of order a client sends, not three times per fill.

Every frame is the bytes `encode` makes of the row `mapping` makes (tests hold them to it);
where no shape can be made (the row travels as protobuf at the session's version) the
row is encoded whole (for openOrder, by the caller, which keeps its rows for that).
"""

from __future__ import annotations

from typing import Any

from ibgateway_sim.engine import Commission, Execution, OrderState
from ibgateway_sim.gateway.mapping import (
    COMMISSION_REPORT_OPEN_FIELDS,
    EXEC_DETAILS_OPEN_FIELDS,
    OPEN_ORDER_OPEN_FIELDS,
    ORDER_STATUS_FIELDS,
    TimeFormatter,
    commission_report,
    commission_report_values,
    exec_details,
    only_status_changed,
    open_order,
    open_order_shape,
    open_order_values,
    order_status,
)
from ibgateway_sim.wire import messages as m
from ibgateway_sim.wire.codec import Shape, encode, shape

SHAPES_KEPT = 1_000  # openOrder and execDetails shapes kept (a client's orders have a few)
LAST_FRAMES_KEPT = 10_000  # the last openOrder frames of live orders kept to be sent again


class ShapedFrames:
    """The shapes made so far, by version and by what else the row is made of."""

    def __init__(self, times: TimeFormatter) -> None:
        self._times = times
        # (version, open_order_shape) -> (the contract it was made for, its shape)
        self._open: dict[tuple[int, tuple[Any, ...]], tuple[object, Shape | None]] = {}
        # (clientId, orderId, version) -> the order's last openOrder frame there and the
        # snapshot it was made of: a partial fill's openOrder is its last one again
        self._last_open: dict[tuple[int, int, int], tuple[OrderState, bytes]] = {}
        self._status: dict[int, Shape | None] = {}  # by version
        self._commission: dict[int, Shape | None] = {}  # by version
        # (version, conId, exchange) -> (the contract it was made for, its shape)
        self._exec: dict[tuple[int, int, str], tuple[object, Shape | None]] = {}

    def open_order(self, st: OrderState, version: int) -> bytes | None:
        """`encode(open_order(st), version)`; None where no shape can be made. Only for
        snapshots without a margin answer. The frame of an order's last snapshot is sent
        again while nothing `open_order` reads has changed (`only_status_changed`, the same
        status): so is every partial fill's but the first."""
        order = (st.client_id, st.order_id, version)
        last = self._last_open.get(order)
        if last is not None and last[0].status == st.status and only_status_changed(st, last[0]):
            frame = last[1]
        else:
            at = (version, open_order_shape(st))
            made = self._open.get(at)
            if made is None or made[0] is not st.contract:
                if len(self._open) >= SHAPES_KEPT:
                    self._open.clear()
                made = self._open[at] = (
                    st.contract, shape(open_order(st), version, OPEN_ORDER_OPEN_FIELDS))
            if made[1] is None:
                return None
            frame = made[1].fill(open_order_values(st))
        if st.is_done:
            self._last_open.pop(order, None)
        else:
            if len(self._last_open) >= LAST_FRAMES_KEPT and order not in self._last_open:
                self._last_open.clear()
            self._last_open[order] = (st, frame)
        return frame

    def order_status(self, st: OrderState, values: tuple[Any, ...], version: int) -> bytes:
        """`encode(order_status(st), version)`, `values` being `order_status_values(st)`:
        every field open, so the row itself is made only where no shape is (protobuf)."""
        if version not in self._status:
            self._status[version] = shape(m.OrderStatus(), version, ORDER_STATUS_FIELDS)
        made = self._status[version]
        return encode(order_status(st), version) if made is None else made.fill(values)

    def commission_report(self, cr: Commission, version: int) -> bytes:
        """`encode(commission_report(cr), version)`: no row made but where no shape is."""
        if version not in self._commission:
            self._commission[version] = shape(
                m.CommissionReport(), version, COMMISSION_REPORT_OPEN_FIELDS)
        made = self._commission[version]
        if made is None:
            return encode(commission_report(cr), version)
        return made.fill(commission_report_values(cr))

    def exec_details(self, ex: Execution, values: tuple[Any, ...], version: int) -> bytes:
        """`encode(exec_details(ex, -1, times), version)`, `values` being
        `exec_details_values(ex, -1, times)`: the contract block is the shape's."""
        at = (version, ex.contract.con_id, ex.exchange)
        made = self._exec.get(at)
        if made is None or made[0] is not ex.contract:
            if len(self._exec) >= SHAPES_KEPT:
                self._exec.clear()
            made = self._exec[at] = (
                ex.contract,
                shape(exec_details(ex, -1, self._times), version, EXEC_DETAILS_OPEN_FIELDS))
        if made[1] is None:
            return encode(exec_details(ex, -1, self._times), version)
        return made[1].fill(values)

