"""Figure 2. Pacing efficiency: a burst of orders through the venue right after connecting.

IBKR allows 50 client messages per second; the simulator enforces that and records the most
messages it admitted in any one-second window. A client that connected with ``+PACEAPI`` (the
venue's default, `gateway_pacing=True`) has its excess held back and worked off at the limit,
as TWS does; any other client gets error 100 per excess message (a pacing violation, and the
request is dropped). The venue paces with a token bucket (rate 45/s, burst 10 by default) and
ib_async adds its own queue (requests per sliding second: TWS's 50 with ``+PACEAPI``, else
ib_async's 45). Four runs, each on a fresh simulator:

* ``defaults``: the venue as shipped (``+PACEAPI``, bucket 45/10, ib_async's queue at 50);
* ``no_gateway_pacing``: the same without ``+PACEAPI`` (ib_async's queue at 45), so the client
  side alone must keep under the limit (what a gateway that ignores the option would see);
* ``bucket_only``: also ib_async's queue off, so the venue's bucket alone paces;
* ``single_40_5``: one limiter only (ib_async's queue off), rate 40, burst 5: a tenth of
  headroom for delivery jitter, which the gateway counts and the client cannot see.

Achieved rate is measured on the wire (when ib_async hands each placeOrder to the socket), over
the orders after the initial burst, against the configured rate; ``client_side_max_in_any_1s``
is the same window count taken at the client's socket.
"""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from typing import Any

from benchmarks._harness import Figure, SimHost, verdict
from horizon.core import OrderAction
from horizon.venues.ibkr import Ibkr

NAME = "pacing"
TITLE = "order burst at the venue's default pacing"
IB_LIMIT = 50
GOAL_EFFICIENCY = 0.97


def max_in_window(times: list[float], window: float = 1.0) -> int:
    """Most events in any half-open window [t, t + window)."""
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while t - times[lo] >= window:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


async def _burst(orders: int, *, rate: float, burst: int, ib_queue: bool,
                 gateway_pacing: bool) -> dict[str, Any]:
    with SimHost(log_name="pacing-sim") as host:
        venue = Ibkr(port=host.port, paper=True, client_id=1, rate=rate, burst=burst,
                     gateway_pacing=gateway_pacing)
        await venue.connect_async()
        try:
            if not ib_queue:
                venue.ib.client.MaxRequests = 0
            conn = venue.ib.client.conn
            wire: list[float] = []
            send = conn.sendMsg

            def timed_send(msg: bytes) -> None:
                wire.append(time.perf_counter())
                send(msg)  # type: ignore[no-untyped-call]

            conn.sendMsg = timed_send  # type: ignore[method-assign]
            await venue.qualify_async("AAPL")
            action = OrderAction(market_id="AAPL", side="buy", quantity=Decimal(1),
                                 order_type="limit", limit_price="100.00")
            started = time.perf_counter()
            returned = []
            for _ in range(orders):
                await venue.submit_async(action)
                returned.append(time.perf_counter())
            # ib_async may still hold some in its queue: wait until the gateway has seen them
            # all (an order refused with error 100 is dropped, so it counts as seen)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                stats = await host.acall("stats")
                if stats["open_orders"] + stats["pacing_violations"] >= orders:
                    break
                await asyncio.sleep(0.05)
            pacing_errors = venue.pacing_errors
        finally:
            await venue.close_async()
    order_wire = wire[-orders:]
    steady = order_wire[burst:]
    achieved = (len(steady) - 1) / (steady[-1] - steady[0]) if len(steady) > 1 else 0.0
    return {
        "orders": orders,
        "rate": rate,
        "burst": burst,
        "ib_async_queue": ib_queue,
        "gateway_pacing": gateway_pacing,
        "max_msgs_in_any_1s": stats["max_msgs_in_window"],
        "client_side_max_in_any_1s": max_in_window(wire),
        "pacing_violations": stats["pacing_violations"],
        "venue_pacing_errors": pacing_errors,
        "orders_at_gateway": stats["open_orders"],
        "achieved_rate": round(achieved, 2),
        "achieved_over_configured": round(achieved / rate, 4),
        "submit_calls_s": round(returned[-1] - started, 2),
        "wire_s": round(order_wire[-1] - order_wire[0], 2),
        "pass": (stats["max_msgs_in_window"] <= IB_LIMIT and stats["pacing_violations"] == 0
                 and achieved / rate >= GOAL_EFFICIENCY),
    }


async def _run(quick: bool) -> Figure:
    orders = 120 if quick else 1000
    defaults = await _burst(orders, rate=45, burst=10, ib_queue=True, gateway_pacing=True)
    no_gateway = await _burst(orders, rate=45, burst=10, ib_queue=True, gateway_pacing=False)
    bucket_only = await _burst(orders, rate=45, burst=10, ib_queue=False, gateway_pacing=False)
    single = await _burst(orders, rate=40, burst=5, ib_queue=False, gateway_pacing=False)
    return verdict(
        defaults["pass"],
        f"defaults: <= {IB_LIMIT} msgs in any 1 s at the gateway, 0 pacing violations, "
        f"achieved/configured >= {GOAL_EFFICIENCY}",
        defaults=defaults,
        no_gateway_pacing=no_gateway,
        bucket_only=bucket_only,
        single_40_5=single,
    )


def run(quick: bool) -> Figure:
    return asyncio.run(_run(quick))
