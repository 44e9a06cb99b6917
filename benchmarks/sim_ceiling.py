"""Figure 7. The simulator's own ceiling, so no other figure is bounded by it.

A raw-socket client (the simulator's own sans-IO codec for the handshake, pre-encoded frames,
no ib_async) against a simulator process with pacing off:

* inbound ``reqCurrentTime``: N requests written as fast as the socket takes them, until N
  ``currentTime`` replies are back;
* inbound ``placeOrder``: N limit orders far from the market, until N ``Submitted`` statuses
  are back (each order costs the simulator a decode, an engine call and four replies);
* outbound fills: K resting orders filled one share per matching pass, Q passes, until K*Q
  ``commissionReport`` frames are back (each fill is execDetails, orderStatus, openOrder and
  commissionReport, plus position and account pushes).

The three run in turn, in rounds (A B C A B C ...), each round on fresh connections; a round
of placeOrder cancels its orders after it (reqGlobalCancel) and a round of fills buys and then
sells as much (Q/2 passes each), so every round finds the simulator as the first did. Each
rate is the median of its rounds, reported with its spread, and the verdict is on the
medians: one slow round on a busy machine moves the spread, not the verdict.

The verdict is the issue's goals: reqCurrentTime >= 150k msgs/s, placeOrder >= 10k/s and
fills out >= 30k/s, the simulator on one core. The figure's earlier floor, twice what the
fastest client in the other figures drives (about 1,000 orders/s in figure 1, one round trip
per millisecond; about 3,000 fills/s for raw ib_async in figure 3), is reported beside it as
`floor_pass`: below it, the simulator bounds the other figures.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from decimal import Decimal
from typing import Any

from benchmarks._harness import Figure, SimHost, verdict
from ibgateway_sim.wire import messages as m
from ibgateway_sim.wire.codec import ClientConnection

NAME = "sim_ceiling"
TITLE = "simulator ceiling (raw socket client)"
GOAL_TIME = 150_000.0
GOAL_PLACE = 10_000.0
GOAL_FILLS = 30_000.0
FLOOR_PLACE = 2000.0  # 2x what figures 1 and 3 drive
FLOOR_FILLS = 6000.0
_LEN = struct.Struct(">I")


class RawClient:
    """Handshake with the codec, then count reply frames by message id without decoding."""

    def __init__(self, port: int, client_id: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.codec = ClientConnection()
        self.sock.sendall(self.codec.hello_bytes)
        while True:
            self.codec.receive_data(self.sock.recv(65536))
            if self.codec.next_event() is None and self.codec.version:
                break
        self.sock.sendall(self.codec.send(m.StartApi(client_id=client_id)))
        self.next_id = 0
        while not self.next_id:
            self.codec.receive_data(self.sock.recv(65536))
            while (event := self.codec.next_event()) is not None:
                if isinstance(event, m.NextValidId):
                    self.next_id = event.order_id
        self._buf = bytearray()

    def blast(self, payload: bytes, until: Any, timeout: float = 300) -> float:
        """Write `payload` from a helper thread while counting replies here; seconds from the
        first byte written until `until(frame)` has returned True enough times."""
        writer = threading.Thread(target=self.sock.sendall, args=(payload,), daemon=True)
        started = time.perf_counter()
        writer.start()
        self.drain(until, timeout)
        took = time.perf_counter() - started
        writer.join(timeout=timeout)
        return took

    def drain(self, until: Any, timeout: float = 300) -> None:
        self.sock.settimeout(timeout)
        buf = self._buf
        while True:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("the simulator closed the connection")
            buf += chunk
            pos = 0
            while len(buf) - pos >= 4:
                (size,) = _LEN.unpack_from(buf, pos)
                if len(buf) - pos - 4 < size:
                    break
                frame = bytes(buf[pos + 4: pos + 4 + size])
                pos += 4 + size
                if until(frame):
                    del buf[:pos]
                    return
            del buf[:pos]

    def close(self) -> None:
        self.sock.close()


class Counter:
    def __init__(self, want: int, test: Any) -> None:
        self.want, self.test, self.seen = want, test, 0

    def __call__(self, frame: bytes) -> bool:
        if self.test(frame):
            self.seen += 1
        return self.seen >= self.want


def _order(client: RawClient, order_id: int, limit: str) -> bytes:
    return client.codec.send(m.PlaceOrder(
        order_id=order_id,
        contract=m.RequestContract(symbol="AAPL", sec_type="STK", exchange="SMART", currency="USD"),
        action="BUY", total_quantity=Decimal(1), order_type="LMT", lmt_price=Decimal(limit),
        tif="DAY", account="DU1234567",
    ))


def _submitted(frame: bytes) -> bool:
    return frame.startswith(b"3\0") and b"\0Submitted\0" in frame


def _current_time(host: SimHost, n: int, client_id: int) -> dict[str, float]:
    client = RawClient(host.port, client_id)
    try:
        payload = client.codec.send(m.ReqCurrentTime()) * n
        cpu = host.call("cpu")
        took = client.blast(payload, Counter(n, lambda f: f.startswith(b"49\0")))
        cpu = host.call("cpu") - cpu
    finally:
        client.close()
    return {"messages": n, "seconds": round(took, 3), "msgs_per_s": round(n / took),
            "sim_cpu_us_per_msg": round(1e6 * cpu / n, 1)}


def _cancelled(frame: bytes) -> bool:
    return frame.startswith(b"3\0") and b"\0Cancelled\0" in frame


def _place_orders(host: SimHost, n: int, client_id: int) -> dict[str, float]:
    client = RawClient(host.port, client_id)
    try:
        first = client.next_id
        payload = b"".join(_order(client, first + i, "100.00") for i in range(n))
        cpu = host.call("cpu")
        took = client.blast(payload, Counter(n, _submitted))
        cpu = host.call("cpu") - cpu
        # the next round finds no resting orders of this one
        client.blast(client.codec.send(m.ReqGlobalCancel()), Counter(n, _cancelled))
    finally:
        client.close()
    return {"messages": n, "seconds": round(took, 3), "msgs_per_s": round(n / took),
            "sim_cpu_us_per_msg": round(1e6 * cpu / n, 1)}


def _fills(host: SimHost, orders: int, qty: int, client_id: int) -> dict[str, float]:
    """`orders` x `qty` MSFT bought, then sold again (the round ends flat): each side limits
    that rest at 405, filled one share per pass by `qty` passes at a price that crosses them.
    Only the passes are timed."""
    client = RawClient(host.port, client_id)
    want = took = cpu = 0.0
    try:
        for action, rest, cross in (("BUY", "400.00", "399.00"), ("SELL", "410.00", "411.00")):
            host.call("set_price", symbol="MSFT", price="405.00")  # between the two: they rest
            first = client.next_id
            client.next_id += orders
            payload = b"".join(
                client.codec.send(m.PlaceOrder(
                    order_id=first + i,
                    contract=m.RequestContract(symbol="MSFT", sec_type="STK", exchange="SMART",
                                               currency="USD"),
                    action=action, total_quantity=Decimal(qty), order_type="LMT",
                    lmt_price=Decimal(rest), tif="DAY", account="DU1234567"))
                for i in range(orders))
            client.blast(payload, Counter(orders, _submitted))
            counter = Counter(orders * qty, lambda f: f.startswith(b"59\0"))

            def run_passes(price: str = cross) -> None:
                host.call("blast", symbol="MSFT", price=price, rounds=qty)

            cpu -= host.call("cpu")
            passes = threading.Thread(target=run_passes, daemon=True)
            started = time.perf_counter()
            passes.start()
            client.drain(counter)
            took += time.perf_counter() - started
            passes.join(timeout=60)
            cpu += host.call("cpu")
            want += orders * qty
    finally:
        client.close()
    return {"fills": int(want), "seconds": round(took, 3), "fills_per_s": round(want / took),
            "sim_cpu_us_per_fill": round(1e6 * cpu / want, 1)}


def _median(rounds: list[dict[str, float]], rate: str) -> dict[str, Any]:
    """The round of median `rate`, with every round's rate and their spread beside it."""
    ordered = sorted(rounds, key=lambda r: r[rate])
    rates = [r[rate] for r in rounds]
    return {**ordered[len(ordered) // 2], f"{rate}_rounds": rates,
            "spread": round(max(rates) - min(rates))}


def run(quick: bool) -> Figure:
    n_time, n_orders, (k, q) = (20_000, 2_000, (200, 10)) if quick else (100_000, 10_000,
                                                                          (1000, 20))
    rounds = 3 if quick else 5
    times: list[dict[str, float]] = []
    places: list[dict[str, float]] = []
    fill_rounds: list[dict[str, float]] = []
    with SimHost("--no-pacing", "--liquidity", "1", log_name="sim_ceiling-sim") as host:
        for r in range(rounds):  # a fresh client id per connection: none waits on a close
            times.append(_current_time(host, n_time, 100 + 3 * r))
            places.append(_place_orders(host, n_orders, 101 + 3 * r))
            fill_rounds.append(_fills(host, k, q // 2, 102 + 3 * r))
    current_time = _median(times, "msgs_per_s")
    place = _median(places, "msgs_per_s")
    fills = _median(fill_rounds, "fills_per_s")
    return verdict(
        current_time["msgs_per_s"] >= GOAL_TIME
        and place["msgs_per_s"] >= GOAL_PLACE
        and fills["fills_per_s"] >= GOAL_FILLS,
        f"reqCurrentTime >= {GOAL_TIME:,.0f} msgs/s, placeOrder >= {GOAL_PLACE:,.0f}/s and "
        f"fills out >= {GOAL_FILLS:,.0f}/s (the issue's goals)",
        floor_pass=place["msgs_per_s"] >= FLOOR_PLACE and fills["fills_per_s"] >= FLOOR_FILLS,
        floor=f"placeOrder >= {FLOOR_PLACE:,.0f}/s and fills out >= {FLOOR_FILLS:,.0f}/s "
        "(2x what the other figures drive)",
        req_current_time_msgs_per_s=current_time["msgs_per_s"],
        place_order_msgs_per_s=place["msgs_per_s"],
        fills_out_per_s=fills["fills_per_s"],
        req_current_time=current_time,
        place_order=place,
        fills=fills,
    )
