"""Figure 11. The simulator's CPU per placeOrder round, in-process: no socket, no event loop.

One gateway core with one client session on a stand-in transport that keeps what it is
written. A round is one framed placeOrder handed to the session as if read from the socket,
of one of two kinds:

* accepted: a limit order for one share far from the market (a bid well below, an offer well
  above, in turn). The gateway decodes it, the engine checks and accepts it, and its openOrder
  and orderStatus replies (PreSubmitted, Submitted) are encoded and written. This is the
  issue's "CPU per placeOrder", the order figure 7's placeOrder ceiling sends: <= 100 us;
* filled: a market order for one share, buying and selling in turn, accepted and filled at
  once, so its replies are also the fill's (execDetails, the Filled openOrder and orderStatus,
  commissionReport). Its goal is the sum of the issue's two budgets: 100 us to accept an order
  and 1e6 / 30,000 = 33 us per fill out (figure 7's fills-out goal), <= 133 us.

The client's frames are encoded before the clock starts and its replies are read after it
stops, so the figure is the simulator's own CPU (`time.process_time`), nothing else.

Blocks of the two rounds alternate with blocks of the codec alone (decode the same market
placeOrder, encode its replies) and of the engine alone (a second engine placing the same
orders, their requests made beforehand), so where a round's time goes is seen in one run:
codec, engine, and the rest (mapping, dispatch, session). The median block of each round
decides its goal; the spread of the blocks is reported beside it.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from decimal import Decimal
from typing import Any

from benchmarks._harness import Figure, verdict
from ibgateway_sim.engine import Engine, OrderRequest
from ibgateway_sim.gateway.mapping import order_request
from ibgateway_sim.gateway.options import GatewayOptions
from ibgateway_sim.gateway.pacing import PacingWindow
from ibgateway_sim.gateway.server import Gateway
from ibgateway_sim.gateway.session import Session
from ibgateway_sim.wire import messages as m
from ibgateway_sim.wire.codec import ClientConnection, GatewayConnection, decode_payload

NAME = "sim_cpu"
TITLE = "simulator CPU per placeOrder round (in-process)"
GOAL_US = 100.0  # an accepted placeOrder
GOAL_FILLED_US = GOAL_US + 1e6 / 30_000  # and its fill out
ACCOUNT = "DU1234567"


class _Transport(asyncio.Transport):
    """What a session writes to, kept in memory (the socket's part is not measured)."""

    def __init__(self) -> None:
        super().__init__()
        self.chunks: list[bytes] = []
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.chunks.append(bytes(data))

    def take(self) -> bytes:
        data = b"".join(self.chunks)
        self.chunks.clear()
        return data

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default

    def get_write_buffer_size(self) -> int:
        return 0

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.closed = True


class Bench:
    """A gateway core and one started client session (clientId 9), driven by hand."""

    def __init__(self, client_id: int = 9) -> None:
        self.client_id = client_id
        options = GatewayOptions(
            accounts=(ACCOUNT,), pacing_limit=None, step_interval=None,
            account_update_interval=None, seed=7,
        )
        self.gateway = Gateway(options)
        self.transport = _Transport()
        self.conn = GatewayConnection(options.min_server_version, options.max_server_version)
        self.session = Session(
            self.gateway, self.conn,
            pacing=PacingWindow(None, max_backlog=options.limits.max_backlog),
            faults=self.gateway.faults, limits=options.limits,
        )
        self.session.connection_made(self.transport)
        self.client = ClientConnection()
        self.session.data_received(self.client.hello_bytes)
        self.client.receive_data(self.transport.take())
        assert self.client.next_event() is None and self.client.version
        self.session.data_received(self.client.send(m.StartApi(client_id=client_id)))
        self.next_id = 0
        for event in self.replies(self.transport.take()):
            if isinstance(event, m.NextValidId):
                self.next_id = event.order_id
        assert self.next_id, "no nextValidId after startApi"

    def replies(self, data: bytes) -> list[Any]:
        self.client.receive_data(data)
        out = []
        while (event := self.client.next_event()) is not None:
            out.append(event)
        return out

    def orders(self, n: int, resting: bool = False) -> list[bytes]:
        """`n` framed orders for one share of AAPL, buying and selling in turn: market orders,
        or limits far from the market that rest (`resting`)."""
        frames = []
        for i in range(n):
            buy = i % 2 == 0
            limit = (Decimal("1.00") if buy else Decimal("99999.00")) if resting else None
            frames.append(self.client.send(m.PlaceOrder(
                order_id=self.next_id, action="BUY" if buy else "SELL",
                contract=m.RequestContract(symbol="AAPL", sec_type="STK", exchange="SMART",
                                           currency="USD"),
                total_quantity=Decimal(1), order_type="LMT" if resting else "MKT",
                lmt_price=limit, tif="DAY", account=ACCOUNT,
            )))
            self.next_id += 1
        return frames

    def rounds(self, frames: list[bytes]) -> tuple[float, bytes]:
        """CPU seconds to answer `frames`, one at a time; and the bytes written back."""
        receive = self.session.data_received
        started = time.process_time()
        for frame in frames:
            receive(frame)
        took = time.process_time() - started
        return took, self.transport.take()


def _check(bench: Bench, out: bytes, n: int, resting: bool = False) -> dict[str, int]:
    """Every round was answered as a fill is (or, `resting`, as an accepted order that
    rests: two statuses, no execution): count the replies by kind."""
    kinds: dict[str, int] = {}
    for event in bench.replies(out):
        name = type(event).__name__
        kinds[name] = kinds.get(name, 0) + 1
        if isinstance(event, m.ErrorMsg) and event.code not in (399,):
            raise RuntimeError(f"the simulator refused an order: {event}")
    if resting:
        if kinds.get("ExecDetails") or kinds.get("OrderStatus", 0) != 2 * n:
            raise RuntimeError(f"{n} resting orders should be accepted, none filled: {kinds}")
        return kinds
    for name in ("OpenOrder", "OrderStatus", "ExecDetails", "CommissionReport"):
        if kinds.get(name, 0) < n:
            raise RuntimeError(f"{n} rounds but {kinds.get(name, 0)} {name}: {kinds}")
    if kinds["ExecDetails"] != n or kinds["CommissionReport"] != n:
        raise RuntimeError(f"{n} market orders should fill once each: {kinds}")
    return kinds


def codec_only(bench: Bench, frame: bytes, replies: list[Any], n: int) -> float:
    """CPU seconds for `n` times what the codec alone does in a round: decode the placeOrder
    payload, encode its replies."""
    payload = frame[4:]
    version = bench.conn.version
    send = bench.conn.send
    started = time.process_time()
    for _ in range(n):
        decode_payload(m.Direction.IN, payload, version)
        for reply in replies:
            send(reply)
    return time.process_time() - started


def engine_only(engine: Engine, requests: list[OrderRequest]) -> float:
    """CPU seconds for `engine` to place `requests` (what the gateway asks of it per round)."""
    place = engine.place
    started = time.process_time()
    for req in requests:
        place(req)
    return time.process_time() - started


def _requests(bench: Bench, frames: list[bytes]) -> list[OrderRequest]:
    """The engine requests the gateway makes of `frames` (made here, before any clock)."""
    out = []
    for frame in frames:
        msg = decode_payload(m.Direction.IN, frame[4:], bench.conn.version)
        assert isinstance(msg, m.PlaceOrder)
        out.append(order_request(msg, bench.client_id))
    return out


def measure(blocks: int, per_block: int, warmup: int = 200) -> dict[str, Any]:
    bench = Bench()
    engine = Engine(accounts=(ACCOUNT,), seed=7)
    _, out = bench.rounds(bench.orders(warmup))
    _check(bench, out, warmup)
    [sample] = bench.orders(1)  # its id is used once, here
    _, out = bench.rounds([sample])
    _check(bench, out, 1)
    sample_replies = [e for e in bench.replies(out) if not isinstance(e, m.ErrorMsg)]
    engine_only(engine, _requests(bench, bench.orders(warmup)))
    _, out = bench.rounds(bench.orders(warmup, resting=True))
    _check(bench, out, warmup, resting=True)
    round_us: list[float] = []
    accept_us: list[float] = []
    codec_us: list[float] = []
    engine_us: list[float] = []
    kinds: dict[str, int] = {}
    for _ in range(blocks):
        frames = bench.orders(per_block)
        took, out = bench.rounds(frames)
        round_us.append(1e6 * took / per_block)
        for name, count in _check(bench, out, per_block).items():
            kinds[name] = kinds.get(name, 0) + count
        took, out = bench.rounds(bench.orders(per_block, resting=True))
        accept_us.append(1e6 * took / per_block)
        _check(bench, out, per_block, resting=True)
        codec_us.append(1e6 * codec_only(bench, sample, sample_replies, per_block) / per_block)
        requests = _requests(bench, bench.orders(per_block))
        engine_us.append(1e6 * engine_only(engine, requests) / per_block)
    return {
        "round_us": _spread(round_us),
        "accept_us": _spread(accept_us),
        "codec_us": _spread(codec_us),
        "engine_us": _spread(engine_us),
        "replies_per_round": {k: round(v / (blocks * per_block), 2) for k, v in kinds.items()},
        "rounds": blocks * per_block,
    }


def _spread(xs: list[float]) -> dict[str, float]:
    s = sorted(xs)
    return {"median": round(statistics.median(s), 1), "min": round(s[0], 1),
            "max": round(s[-1], 1), "spread": round(s[-1] - s[0], 1), "blocks": len(s)}


def run(quick: bool) -> Figure:
    blocks, per_block = (9, 300) if quick else (21, 1000)
    result = measure(blocks, per_block)
    median = result["round_us"]["median"]
    accepted = result["accept_us"]["median"]
    return verdict(
        accepted <= GOAL_US and median <= GOAL_FILLED_US,
        f"simulator CPU per accepted placeOrder (decode, check, accept, encode) <= "
        f"{GOAL_US:.0f} us and per filled one (and its fill out) <= {GOAL_FILLED_US:.0f} us, "
        "median blocks",
        sim_cpu_us_per_accepted=accepted,
        sim_cpu_us_per_round=median,
        codec_us_per_round=result["codec_us"]["median"],
        engine_us_per_round=result["engine_us"]["median"],
        **result,
    )


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(run("--quick" in sys.argv), indent=2))
