"""The gateway simulator in its own process, driven over stdin/stdout by the benchmarks.

    python -m benchmarks.simhost [--no-pacing] [--liquidity 1] [--large P,O,E --large-client C]

Prints ``listening HOST PORT`` once bound, then answers one JSON line per request line
(``{"op": ..., ...}`` -> ``{"ok": true, "result": ...}``). The simulator runs on this process's
main thread (so `--profile` sees it); requests are read on a helper thread and executed as
coroutines on the simulator's own loop, where its control API applies them directly.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import logging
import sys
import threading
import time
from collections.abc import Callable, Coroutine
from decimal import Decimal
from typing import Any

from ibgateway_sim import GatewaySimulator
from ibgateway_sim.engine import ContractQuery, ContractSpec, Engine, OrderRequest
from ibgateway_sim.process import tune_collector

SYNTH_CON_ID = 990_000_000


def synthetic_stock(i: int) -> ContractSpec:
    sym = f"ZB{i:04d}"
    return ContractSpec(
        con_id=SYNTH_CON_ID + i, symbol=sym, sec_type="STK", exchange="SMART",
        primary_exchange="NASDAQ", currency="USD", local_symbol=sym, trading_class="NMS",
        min_tick=Decimal("0.01"), multiplier="", last_trade_date="", strike=Decimal(0),
        right="", long_name=f"BENCH STOCK {i}", time_zone_id="US/Eastern",
        initial_price=Decimal("50.00"),
    )


def seed_large(engine: Engine, client_id: int, positions: int, open_orders: int,
               executions: int) -> dict[str, int]:
    """A big account's day: `executions` market buys spread over `positions` stocks (so each
    stock ends up held), then `open_orders` resting limit buys far below the market, all
    placed by `client_id` before anybody connects."""
    for i in range(positions):
        engine.add_contract(synthetic_stock(i))
    oid = 0
    for k in range(executions):
        oid += 1
        spec = synthetic_stock(k % positions)
        engine.place(OrderRequest(
            client_id=client_id, order_id=oid,
            contract=ContractQuery(con_id=spec.con_id, exchange="SMART"),
            action="BUY", quantity=Decimal(1), order_type="MKT"))
    for j in range(open_orders):
        oid += 1
        spec = synthetic_stock(j % positions)
        engine.place(OrderRequest(
            client_id=client_id, order_id=oid,
            contract=ContractQuery(con_id=spec.con_id, exchange="SMART"),
            action="BUY", quantity=Decimal(1), order_type="LMT", limit_price=Decimal("10.00"),
            tif="GTC"))
    return {
        "positions": len(engine.positions()),
        "open_orders": len(engine.open_orders(client_id)),
        "executions": len(engine.executions()),
    }


class Host:
    def __init__(self, sim: GatewaySimulator) -> None:
        self.sim = sim
        self.ops: dict[str, Callable[..., Coroutine[Any, Any, Any]]] = {
            "stats": self.stats,
            "reset_window": self.reset_window,
            "ledger": self.ledger,
            "set_price": self.set_price,
            "restart": self.restart,
            "freeze": self.freeze,
            "thaw": self.thaw,
            "wait_gone": self.wait_gone,
            "wait_connected": self.wait_connected,
            "blast": self.blast,
            "cpu": self.cpu,
            "delay": self.delay,
            "orders": self.orders,
        }

    async def cpu(self) -> float:
        """The process's CPU seconds so far, and nothing else: what a figure reads at both
        ends of what it measures (`stats` counts executions and orders, work that grows with
        the run and would land inside the measurement)."""
        return time.process_time()

    async def stats(self) -> dict[str, Any]:
        sim = self.sim
        return {
            "pacing_violations": sim.pacing_violations,
            "max_msgs_in_window": sim.max_msgs_in_window,
            "executions": len(sim.engine.executions()),
            "clients": sorted(sim.connected_client_ids()),
            "open_orders": len(sim.engine.open_orders()),
        }

    async def reset_window(self) -> None:
        self.sim.max_msgs_in_window = 0

    async def ledger(self, client_id: int | None = None) -> list[list[Any]]:
        rows = []
        for ex, cr in self.sim.engine.executions():
            if client_id is not None and ex.client_id != client_id:
                continue
            rows.append([ex.exec_id, ex.client_id, ex.order_id, str(ex.shares), str(ex.price),
                         str(cr.commission), cr.currency])
        return rows

    async def set_price(self, symbol: str, price: str) -> None:
        self.sim.set_price(symbol, Decimal(price))

    async def restart(self, downtime: float) -> None:
        self.sim.restart(downtime=downtime)

    async def freeze(self) -> None:
        self.sim.freeze()

    async def delay(self, seconds: float) -> None:
        self.sim.delay(seconds)

    async def orders(self, client_id: int) -> dict[str, dict[str, str]]:
        """Every order of the day the gateway knows for this client id: status, side, size."""
        out = {}
        for st in [*self.sim.engine.open_orders(client_id), *self.sim.engine.completed_orders()]:
            if st.client_id == client_id:
                out[str(st.order_id)] = {
                    "status": st.status,
                    "action": st.request.action,
                    "quantity": str(st.request.quantity),
                }
        return out

    async def thaw(self) -> None:
        self.sim.thaw()

    async def wait_gone(self, client_id: int, timeout: float = 10) -> None:
        await self.sim.wait_for_async(
            lambda: client_id not in self.sim.connected_client_ids(), timeout)

    async def wait_connected(self, client_id: int, timeout: float = 10) -> None:
        await self.sim.wait_for_async(
            lambda: client_id in self.sim.connected_client_ids(), timeout)

    async def blast(self, symbol: str, price: str, rounds: int) -> dict[str, float]:
        """`rounds` matching passes at a marketable price, as fast as the loop allows: with
        liquidity=1 every resting order of `symbol` fills one unit per pass."""
        started, cpu = time.perf_counter(), time.process_time()
        for _ in range(rounds):
            self.sim.set_price(symbol, Decimal(price))
            await asyncio.sleep(0)  # let the transports write and the other sockets read
        return {"seconds": time.perf_counter() - started, "cpu_s": time.process_time() - cpu}


def _json(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


def serve_requests(host: Host, loop: asyncio.AbstractEventLoop, done: asyncio.Event) -> None:
    """Read requests on this (helper) thread; run each on the simulator's loop, in order."""
    for raw in sys.stdin:
        if not raw.strip():
            continue
        req = json.loads(raw)
        op = req.pop("op")
        if op == "quit":
            print(json.dumps({"ok": True, "result": None}), flush=True)
            break
        try:
            fn = host.ops[op]
            result: Any = asyncio.run_coroutine_threadsafe(fn(**req), loop).result()
            reply = {"ok": True, "result": result}
        except Exception as exc:  # reported to the driver, which raises
            reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(reply, default=_json), flush=True)
    loop.call_soon_threadsafe(done.set)


async def run(args: argparse.Namespace) -> None:
    sim = GatewaySimulator(
        host="127.0.0.1", port=0, accounts=["DU1234567"], seed=args.seed,
        pacing_limit=None if args.no_pacing else args.pacing_limit,
        liquidity=Decimal(args.liquidity) if args.liquidity else None,
        step_interval=args.step_interval or None,
    )
    if args.large:
        positions, open_orders, executions = (int(x) for x in args.large.split(","))
        seeded = seed_large(sim.engine, args.large_client, positions, open_orders, executions)
        logging.getLogger("benchmarks.simhost").warning("seeded %s", seeded)
    async with sim:
        tune_collector()  # as the standalone simulator (`horizon-ibkr sim`) does
        loop = asyncio.get_running_loop()
        done = asyncio.Event()
        print(f"listening {sim.host} {sim.port}", flush=True)
        threading.Thread(target=serve_requests, args=(Host(sim), loop, done), daemon=True).start()
        await done.wait()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.simhost")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--pacing-limit", type=int, default=50)
    parser.add_argument("--no-pacing", action="store_true")
    parser.add_argument("--liquidity", default="")
    parser.add_argument("--step-interval", type=float, default=0.0,
                        help="seconds between price steps (0 = prices move only on set_price)")
    parser.add_argument("--large", default="", help="positions,open_orders,executions to seed")
    parser.add_argument("--large-client", type=int, default=31)
    parser.add_argument("--profile", default="", help="write a cProfile of the loop here")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        try:
            asyncio.run(run(args))
        finally:
            prof.disable()
            prof.dump_stats(args.profile)
    else:
        asyncio.run(run(args))


if __name__ == "__main__":
    main()
