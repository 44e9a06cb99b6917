"""Figure 6. Resilience soak: continuous trading through gateway restarts and half-open freezes,
then one SIGKILL of the process running the venue, and the fills reconciled to the simulator's
own execution ledger.

Phase 1 (one venue, no journal): a trader submits small market orders about ten times a
second and keeps one resting limit order; a drainer calls `drain_fills_async()` five times a
second. The driver restarts the gateway N times (sockets dropped, connects refused for the
downtime; while it is down the resting order is filled, so its fill must come back through
reconciliation) and freezes it N times (the venue's periodic health check must notice, drop the
socket and reconnect once thawed). At the end every fill handed out is compared with the
ledger: same exec ids, quantities, prices, fees and currencies; none twice, none missing.

Phase 2 (fill journal): a child process runs a venue with `fill_journal=` and trades and drains
continuously, printing each fill it hands out; it is SIGKILLed mid-stream, a second child starts
on the same journal and runs until told to stop. The union of what both printed must equal the
ledger of that client id, with no duplicates.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from benchmarks._harness import REPO, Figure, SimHost, summary, verdict
from horizon.core import OrderAction, OrderStatus, VenueFill
from horizon.errors import HorizonError
from horizon.venues.ibkr import Bar, Ibkr, Quote
from horizon.venues.ibkr.resilience import ConnectionEvent, ConnectionState

NAME = "soak"
TITLE = "soak: restarts, freezes and a SIGKILL, fills reconciled to the ledger"
CLIENT = 61
KILL_CLIENT = 62
PRICE, DIP = "185.00", "183.50"  # the market, and where it dips while the gateway is down
RESTING_LIMIT = "184.00"
LOST = "lost before the gateway acknowledged it"
QUOTE_RESTORE_S = 3.0  # a quote stream must deliver again this soon after a reconnect


# ---------------------------------------------------------------------------- reconciliation


def reconcile(handed_out: list[dict[str, Any]], ledger: list[list[Any]]) -> dict[str, Any]:
    """Fold the fills in hand-out order (a record with `corrects` replaces the one it names)
    and compare with the ledger rows [exec_id, client_id, order_id, shares, price, fee, ccy]."""
    final: dict[str, dict[str, Any]] = {}
    duplicates = []
    for f in handed_out:
        if f["corrects"]:
            final.pop(f["corrects"], None)
        elif f["exec_id"] in final:
            duplicates.append(f["exec_id"])
            continue
        final[f["exec_id"]] = f
    truth = {row[0]: row for row in ledger}
    lost = sorted(set(truth) - set(final))
    extra = sorted(set(final) - set(truth))
    mismatched = []
    for exec_id in set(truth) & set(final):
        _, _, _, shares, price, fee, ccy = truth[exec_id]
        f = final[exec_id]
        if (
            Decimal(f["quantity"]) != Decimal(shares)
            or Decimal(f["price"]) != Decimal(price)
            or f["fee"] is None
            or Decimal(f["fee"]) != Decimal(fee)
            or f["fee_currency"] != ccy
        ):
            mismatched.append(exec_id)
    return {
        "ledger_fills": len(truth),
        "records_handed_out": len(handed_out),
        "fills_reconciled": len(truth) - len(lost) - len(mismatched),
        "duplicates": len(duplicates),
        "lost": len(lost),
        "extra": len(extra),
        "mismatched": len(mismatched),
        "examples": {
            "lost": lost[:3],
            "extra": extra[:3],
            "mismatched": sorted(mismatched)[:3],
            "duplicates": duplicates[:3],
        },
    }


def as_row(f: VenueFill) -> dict[str, Any]:
    return {
        "exec_id": f.exec_id,
        "quantity": str(f.quantity),
        "price": str(f.price),
        "fee": None if f.fee is None else str(f.fee),
        "fee_currency": f.fee_currency,
        "corrects": f.corrects,
    }


# ------------------------------------------------------------------- phase 1: restarts, freezes


class Events:
    """Connection events with their monotonic time; awaitable by kind and count."""

    def __init__(self) -> None:
        self.seen: list[tuple[ConnectionState, float]] = []
        self.changed = asyncio.Event()

    def __call__(self, event: ConnectionEvent) -> None:
        self.seen.append((event.state, time.monotonic()))
        self.changed.set()

    def count(self, state: ConnectionState) -> int:
        return sum(s is state for s, _ in self.seen)

    async def wait(self, state: ConnectionState, count: int, timeout: float) -> float | None:
        """Time of the `count`-th `state` event, or None after `timeout`."""
        deadline = time.monotonic() + timeout
        while self.count(state) < count:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), left)
            except TimeoutError:
                return None
        return [t for s, t in self.seen if s is state][count - 1]


class Streams:
    """A live 5-second midpoint bar stream and a quote stream of AAPL, kept through every
    fault: what each delivered, compared with history (bars) and the reconnects (quotes)."""

    def __init__(self) -> None:
        self.since = datetime.now(UTC)
        self.bars: list[Bar] = []
        self.quotes: list[tuple[float, datetime | None]] = []  # (monotonic, quote time)

    def on_bar(self, bar: Bar) -> None:
        self.bars.append(bar)

    def on_quote(self, quote: Quote) -> None:
        self.quotes.append((time.monotonic(), quote.timestamp))

    async def check(self, venue: Ibkr, reconnected_at: list[float]) -> dict[str, Any]:
        """Bars: each once, in order, and the same as history's for the same periods (a
        period history has and the stream lacks is a gap). Quotes: flowing again after every
        reconnect, never going back in time."""
        starts = [b.start for b in self.bars]
        out: dict[str, Any] = {"bars": len(starts)}
        if starts:
            span = timedelta(seconds=(starts[-1] - starts[0]).total_seconds() + 30)
            history = await venue.bars_async("AAPL", span, "5 secs", what="midpoint", rth=False)
            wanted = {h.start: h for h in history if starts[0] <= h.start <= starts[-1]}
            live = {b.start: b for b in self.bars}
            out["bar_gaps"] = sorted(str(t) for t in set(wanted) - set(live))
            out["bars_history_lacks"] = sorted(str(t) for t in set(live) - set(wanted))
            out["bars_differing_from_history"] = sorted(
                str(t) for t in set(live) & set(wanted)
                if _ohlcv(live[t]) != _ohlcv(wanted[t])
            )  # fmt: skip
        else:
            out["bar_gaps"] = out["bars_history_lacks"] = out["bars_differing_from_history"] = []
        # the ends too: the first bar within two periods of the subscription, the last within
        # two periods (plus the bar in progress) of now
        now = datetime.now(UTC)
        out["bar_ends_missing"] = (not starts) or (
            starts[0] > self.since + timedelta(seconds=10)
            or starts[-1] < now - timedelta(seconds=15)
        )
        out["bar_duplicates"] = len(starts) - len(set(starts))
        out["bars_out_of_order"] = sum(b <= a for a, b in itertools.pairwise(starts))
        arrivals = [t for t, _ in self.quotes]
        out["quotes"] = len(arrivals)
        out["quote_streams_not_restored"] = sum(
            not any(at < t <= at + QUOTE_RESTORE_S for t in arrivals) for at in reconnected_at
        )
        stamps = [q for _, q in self.quotes if q is not None]
        out["quotes_back_in_time"] = sum(b < a for a, b in itertools.pairwise(stamps))
        return out


def _ohlcv(bar: Bar) -> tuple[Any, ...]:
    return (bar.open, bar.high, bar.low, bar.close, bar.volume)


class Trader:
    def __init__(self, venue: Ibkr) -> None:
        self.venue = venue
        self.stop = False
        self.submitted = 0
        self.refused = 0
        self.order_ids: list[str] = []
        self.resting: str | None = None
        self.fills: list[dict[str, Any]] = []

    async def trade(self) -> None:
        i = 0
        while not self.stop:
            i += 1
            try:
                resting = self.resting
                if resting is None or (await self.venue.order_async(resting)).status.is_terminal:
                    self.resting = await self.venue.submit_async(
                        OrderAction(
                            market_id="AAPL",
                            side="buy",
                            quantity=Decimal(2),
                            order_type="limit",
                            limit_price=RESTING_LIMIT,
                        )
                    )
                    self.order_ids.append(self.resting)
                side = "buy" if i % 2 else "sell"
                oid = await self.venue.submit_async(
                    OrderAction(market_id="AAPL", side=side, quantity=Decimal(1 + i % 3))
                )
                self.order_ids.append(oid)
                self.submitted += 1
            except HorizonError:
                self.refused += 1  # down longer than reconnect_wait: try again shortly
            await asyncio.sleep(0.1)

    async def drain(self) -> None:
        while not self.stop:
            self.fills += [as_row(f) for f in await self.venue.drain_fills_async()]
            await asyncio.sleep(0.2)


async def _settle(venue: Ibkr, trader: Trader, host: SimHost, timeout: float) -> list[list[Any]]:
    """Stop trading, cancel what rests, and drain until the venue agrees with the ledger or
    `timeout` passes."""
    await venue.cancel_all_async()
    deadline = time.monotonic() + timeout
    for oid in trader.order_ids:
        left = max(0.1, deadline - time.monotonic())
        with contextlib.suppress(HorizonError):  # reported below as still open
            await venue.wait_for_status_async(oid, timeout=left)
    ledger: list[list[Any]] = []
    while time.monotonic() < deadline:
        trader.fills += [as_row(f) for f in await venue.drain_fills_async()]
        ledger = await host.acall("ledger", client_id=CLIENT)
        done = reconcile(trader.fills, ledger)
        if not (done["lost"] or done["mismatched"]) and venue.pending_fills() == 0:
            break
        await asyncio.sleep(0.25)
    return ledger


async def _phase1(restarts: int, freezes: int, downtime: float, gap: float) -> dict[str, Any]:
    # IB's pacing limit (50/s) enforced; the market moves (quotes, trades, bars to stream)
    with SimHost("--step-interval", "0.25", log_name="soak-sim") as host:
        await host.acall("set_price", symbol="AAPL", price=PRICE)
        venue = Ibkr(
            port=host.port,
            paper=True,
            client_id=CLIENT,
            health_check_interval=0.5,
            health_timeout=0.5,
            connect_timeout=1.0,
            reconnect_initial_delay=0.05,
            reconnect_max_delay=0.5,
            reconnect_wait=10,
            commission_grace=0.5,
            gateway_pacing=False,
        )  # the venue's own pacing must hold, unaided
        events = Events()
        venue.add_listener(events)
        await venue.connect_async()
        trader = Trader(venue)
        streams = Streams()
        bar_sub = await venue.subscribe_bars_async(
            "AAPL", "5 secs", what="midpoint", callback=streams.on_bar
        )  # every period has a midpoint bar; a period without trades has no TRADES bar
        quote_sub = await venue.subscribe_quotes_async(["AAPL"], callback=streams.on_quote)
        tasks = [asyncio.ensure_future(trader.trade()), asyncio.ensure_future(trader.drain())]
        restart_s: list[float] = []
        detect_s: list[float] = []
        freeze_recover_s: list[float] = []
        failures: list[str] = []
        try:
            for i in range(restarts):
                await asyncio.sleep(gap)
                downs, ups = (
                    events.count(ConnectionState.DISCONNECTED),
                    events.count(ConnectionState.RECONNECTED),
                )
                await host.acall("restart", downtime=downtime)
                down_at = await events.wait(ConnectionState.DISCONNECTED, downs + 1, 10)
                # while the gateway is down the resting buy fills: reconciliation must find it
                await host.acall("set_price", symbol="AAPL", price=DIP)
                await host.acall("set_price", symbol="AAPL", price=PRICE)
                up_at = await events.wait(ConnectionState.RECONNECTED, ups + 1, 30)
                if down_at is None or up_at is None:
                    failures.append(f"restart {i + 1}: down={down_at} up={up_at}")
                    continue
                restart_s.append(up_at - down_at)
            for i in range(freezes):
                await asyncio.sleep(gap)
                downs, ups = (
                    events.count(ConnectionState.DISCONNECTED),
                    events.count(ConnectionState.RECONNECTED),
                )
                frozen_at = time.monotonic()
                await host.acall("freeze")
                down_at = await events.wait(ConnectionState.DISCONNECTED, downs + 1, 10)
                await host.acall("thaw")
                thawed_at = time.monotonic()
                up_at = await events.wait(ConnectionState.RECONNECTED, ups + 1, 30)
                if down_at is None or up_at is None:
                    failures.append(f"freeze {i + 1}: down={down_at} up={up_at}")
                    continue
                detect_s.append(down_at - frozen_at)
                freeze_recover_s.append(up_at - thawed_at)
            await asyncio.sleep(max(gap, QUOTE_RESTORE_S))  # the last reconnect's quotes, bars
        finally:
            trader.stop = True
            await asyncio.gather(*tasks, return_exceptions=True)
        await venue.unsubscribe_bars_async(bar_sub)
        await venue.unsubscribe_async(quote_sub)
        reconnected_at = [t for s, t in events.seen if s is ConnectionState.RECONNECTED]
        stream_check = await streams.check(venue, reconnected_at)
        ledger = await _settle(venue, trader, host, timeout=20)
        stats = await host.acall("stats")
        statuses = [await venue.order_async(o) for o in trader.order_ids]
        lost_orders = sum(r.status is OrderStatus.REJECTED and r.reason == LOST for r in statuses)
        still_open = sum(not r.status.is_terminal for r in statuses)
        pacing_errors, reconnects = venue.pacing_errors, venue.reconnects
        await venue.close_async()
    result = reconcile(trader.fills, ledger)
    return {
        "restarts": restarts,
        "restarts_survived": len(restart_s),
        "freezes": freezes,
        "freezes_recovered": len(freeze_recover_s),
        "reconnects": reconnects,
        "reconnect_s": summary(restart_s or [0.0], digits=3),
        "freeze_detect_s": summary(detect_s or [0.0], digits=3),
        "freeze_recover_after_thaw_s": summary(freeze_recover_s or [0.0], digits=3),
        "downtime_s": downtime,
        "orders_submitted": len(trader.order_ids),
        "submits_refused_while_down": trader.refused,
        "orders_lost_before_ack_reported": lost_orders,
        "orders_still_open": still_open,
        "pacing_violations": stats["pacing_violations"],
        "max_msgs_in_any_1s": stats["max_msgs_in_window"],
        "venue_pacing_errors": pacing_errors,
        "failures": failures,
        "streams": stream_check,
        **result,
    }


# ------------------------------------------------- phase 3: compound faults, order truth


FAULT_CLIENT = 63
_FINAL = {
    "Filled": "filled",
    "Cancelled": "canceled",
    "ApiCancelled": "canceled",
    "Inactive": "rejected",
}


async def _phase3(rounds: int) -> dict[str, Any]:
    """Acknowledgements lost in a restart, submits into a freeze then a restart, and amends
    racing cancels and fills, round after round; then each order's state in the venue against
    the gateway's, and every fill against the ledger."""
    with SimHost(log_name="soak-faults-sim") as host:
        await host.acall("set_price", symbol="AAPL", price=PRICE)
        venue = Ibkr(
            port=host.port,
            paper=True,
            client_id=FAULT_CLIENT,
            health_timeout=0.5,
            connect_timeout=1.0,
            reconnect_initial_delay=0.05,
            reconnect_max_delay=0.5,
            reconnect_wait=10,
            commission_grace=0.5,
        )
        events = Events()
        venue.add_listener(events)
        await venue.connect_async()
        await venue.qualify_async("AAPL")
        submitted: dict[str, tuple[str, Decimal]] = {}  # order id -> (side, quantity) asked
        untyped: list[str] = []
        fills: list[dict[str, Any]] = []
        failures: list[str] = []

        async def submit(action: OrderAction) -> str | None:
            try:
                oid = await venue.submit_async(action)
            except HorizonError:
                return None
            if oid in submitted:
                failures.append(f"order id {oid} handed out twice")
            submitted[oid] = (action.side.value, action.quantity)
            return oid

        async def restart() -> None:
            ups = events.count(ConnectionState.RECONNECTED)
            await host.acall("restart", downtime=0.3)
            await host.acall("thaw")
            await host.acall("delay", seconds=0)
            if await events.wait(ConnectionState.RECONNECTED, ups + 1, 30) is None:
                failures.append("no reconnect after a restart")

        async def race(oid: str, price: str) -> None:
            try:
                await venue.amend_async(oid, limit_price=Decimal(price))
            except HorizonError:
                pass
            except Exception as exc:  # the promise under test: only typed errors
                untyped.append(f"{type(exc).__name__}: {exc}")

        async def cancel(oid: str) -> None:
            try:
                await venue.cancel_async(oid)
            except HorizonError:
                pass
            except Exception as exc:
                untyped.append(f"{type(exc).__name__}: {exc}")

        for i in range(rounds):
            # 1. acknowledgements lost: the gateway fills, its replies die with the socket
            known = len(await host.acall("orders", client_id=FAULT_CLIENT))
            await host.acall("delay", seconds=1.0)
            for side in ("buy", "sell"):
                await submit(OrderAction(market_id="AAPL", side=side, quantity=Decimal(1)))
            for _ in range(100):  # until the gateway holds both; its replies are held back
                if len(await host.acall("orders", client_id=FAULT_CLIENT)) >= known + 2:
                    break
                await asyncio.sleep(0.05)  # another process's state: polled
            await restart()
            # 2. submits into a freeze, then a restart: they never reach the gateway
            await host.acall("freeze")
            for _ in range(2):
                await submit(OrderAction(market_id="AAPL", side="buy", quantity=Decimal(1)))
            await restart()
            # 3. amends racing cancels and fills
            resting = [
                await submit(
                    OrderAction(
                        market_id="AAPL",
                        side="buy",
                        quantity=Decimal(1 + i % 2),
                        order_type="limit",
                        limit_price=RESTING_LIMIT,
                    )
                )
                for _ in range(4)
            ]
            work = []
            for n, oid in enumerate(o for o in resting if o is not None):
                if n % 2:  # a cancel, then an amend racing it
                    work += [cancel(oid), race(oid, "185.10")]
                else:  # an amend that makes it fill, then a cancel racing the fill
                    work += [race(oid, "185.10"), cancel(oid)]
            await asyncio.gather(*work)
            fills += [as_row(f) for f in await venue.drain_fills_async()]

        await venue.cancel_all_async()
        deadline = time.monotonic() + 20
        for oid in submitted:
            with contextlib.suppress(HorizonError):
                left = max(0.1, deadline - time.monotonic())
                await venue.wait_for_status_async(oid, timeout=left)
        truth = await host.acall("orders", client_id=FAULT_CLIENT)
        ledger: list[list[Any]] = []
        while time.monotonic() < deadline:
            fills += [as_row(f) for f in await venue.drain_fills_async()]
            ledger = await host.acall("ledger", client_id=FAULT_CLIENT)
            done = reconcile(fills, ledger)
            if not (done["lost"] or done["mismatched"]) and venue.pending_fills() == 0:
                break
            await asyncio.sleep(0.25)
        views = {oid: await venue.order_async(oid) for oid in submitted}
        await venue.close_async()

    open_unseen, mismatched, reused_at_gateway = [], [], []
    for oid, view in views.items():
        row = truth.get(oid)
        if row is not None and (row["action"].lower(), Decimal(row["quantity"])) != (
            submitted[oid][0],
            submitted[oid][1],
        ):
            reused_at_gateway.append(oid)
        if not view.status.is_terminal and (row is None or row["status"] in _FINAL):
            open_unseen.append(oid)  # the venue says open, the gateway does not
        expected = _FINAL.get(row["status"]) if row is not None else "rejected"
        if view.status.is_terminal and expected is not None and view.status.value != expected:
            mismatched.append(f"{oid}: venue {view.status.value}, gateway {expected}")
    result = reconcile(fills, ledger)
    return {
        "rounds": rounds,
        "orders": len(submitted),
        "order_ids_reused": len([f for f in failures if "twice" in f]) + len(reused_at_gateway),
        "orders_open_the_gateway_does_not_show": len(open_unseen),
        "order_states_differing_from_the_gateway": mismatched,
        "untyped_errors": untyped,
        "failures": [f for f in failures if "twice" not in f],
        **result,
    }


# ---------------------------------------------------------------- phase 2: SIGKILL and journal


async def _child(port: int, journal: str) -> None:
    """A venue process: trade and drain continuously, print every fill handed out as a JSON
    line; on "stop", finish the orders, drain everything and print "done"."""
    logging.basicConfig(level=logging.ERROR)
    venue = Ibkr(
        port=port, paper=True, client_id=KILL_CLIENT, fill_journal=journal, commission_grace=0.3
    )
    await venue.connect_async()
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    threading.Thread(
        target=lambda: (sys.stdin.readline(), loop.call_soon_threadsafe(stop.set)), daemon=True
    ).start()
    print("ready", flush=True)
    order_ids = []

    def emit(fills: list[VenueFill]) -> None:
        if fills:
            print("\n".join(json.dumps(as_row(f)) for f in fills), flush=True)

    async def trade() -> None:
        i = 0
        while not stop.is_set():
            i += 1
            side = "buy" if i % 2 else "sell"
            order_ids.append(
                await venue.submit_async(
                    OrderAction(market_id="AAPL", side=side, quantity=Decimal(1))
                )
            )
            await asyncio.sleep(0.05)

    async def drain() -> None:
        while not stop.is_set():
            emit(await venue.drain_fills_async())
            await asyncio.sleep(0.1)

    await asyncio.gather(trade(), drain())
    for oid in order_ids:
        await venue.wait_for_status_async(oid, timeout=10)
    deadline = time.monotonic() + 10
    while venue.pending_fills() and time.monotonic() < deadline:
        emit(await venue.drain_fills_async())
        await asyncio.sleep(0.1)
    emit(await venue.drain_fills_async())
    await venue.close_async()
    print("done", flush=True)


class Child:
    def __init__(self, port: int, journal: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.soak", "--child", str(port), str(journal)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=str(REPO),
        )
        self.fills: list[dict[str, Any]] = []
        self.ready = threading.Event()
        self.done = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            text = line.strip()
            if text == "ready":
                self.ready.set()
            elif text == "done":
                self.done.set()
            elif text.startswith("{"):
                self.fills.append(json.loads(text))

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self._reader.join(timeout=10)

    def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("stop\n")
        self.proc.stdin.flush()
        self.done.wait(timeout=60)
        self.proc.wait(timeout=30)
        self._reader.join(timeout=10)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


def _phase2(run_s: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp, SimHost(log_name="soak-kill-sim") as host:
        host.call("set_price", symbol="AAPL", price=PRICE)
        journal = Path(tmp) / "fills.sqlite"
        first = Child(host.port, journal)
        second: Child | None = None
        try:
            if not first.ready.wait(timeout=30):
                raise RuntimeError("first venue process did not connect")
            time.sleep(run_s)  # let it trade and drain; then kill it mid-stream
            first.kill()
            host.call("wait_gone", client_id=KILL_CLIENT)
            second = Child(host.port, journal)
            if not second.ready.wait(timeout=30):
                raise RuntimeError("second venue process did not connect")
            time.sleep(run_s / 2)
            second.stop()
            ledger = host.call("ledger", client_id=KILL_CLIENT)
        finally:
            first.close()
            if second is not None:
                second.close()
    result = reconcile(first.fills + second.fills, ledger)
    return {
        "before_kill": len(first.fills),
        "after_restart": len(second.fills),
        "second_finished": second.done.is_set(),
        **result,
    }


def run(quick: bool) -> Figure:
    restarts, freezes, gap = (3, 3, 0.6) if quick else (10, 10, 1.0)
    phase1 = asyncio.run(_phase1(restarts, freezes, downtime=0.5, gap=gap))
    phase2 = _phase2(run_s=1.5 if quick else 3.0)
    phase3 = asyncio.run(_phase3(rounds=2 if quick else 6))
    clean = {k: phase1[k] for k in ("duplicates", "lost", "extra", "mismatched")}
    st = phase1["streams"]
    streams_clean = (
        st["bars"] > 0
        and st["quotes"] > 0
        and not st["bar_gaps"]
        and not st["bar_duplicates"]
        and not st["bars_out_of_order"]
        and not st["bar_ends_missing"]
        and not st["bars_history_lacks"]
        and not st["bars_differing_from_history"]
        and not st["quote_streams_not_restored"]
        and not st["quotes_back_in_time"]
    )
    ok = (
        phase1["restarts_survived"] == restarts
        and phase1["freezes_recovered"] == freezes
        and not any(clean.values())
        and phase1["pacing_violations"] == 0
        and phase1["venue_pacing_errors"] == 0
        and phase1["ledger_fills"] > 0
        and not any(phase2[k] for k in ("duplicates", "lost", "extra", "mismatched"))
        and phase2["second_finished"]
        and phase2["before_kill"] > 0
        and phase3["order_ids_reused"] == 0
        and phase3["orders_open_the_gateway_does_not_show"] == 0
        and not phase3["order_states_differing_from_the_gateway"]
        and not phase3["untyped_errors"]
        and not phase3["failures"]
        and not any(phase3[k] for k in ("duplicates", "lost", "extra", "mismatched"))
        and phase3["ledger_fills"] > 0
        and streams_clean
    )
    return verdict(
        ok,
        f">= {restarts} restarts and {freezes} freezes survived; drained fills == ledger "
        "(ids, qty, price, fee), 0 duplicates, 0 lost, 0 pacing violations; same across a "
        "SIGKILL with the journal; under lost acks, frozen submits and amend/cancel races: "
        "0 order ids reused, 0 orders open that the gateway does not show, 0 states differing "
        "from the gateway's, 0 untyped errors, every fill once with its fee; a 5 s bar stream "
        "and a quote stream through the restarts and freezes: 0 bar gaps, 0 duplicates, bars "
        "as history has them, quotes flowing again after every reconnect",
        restarts=phase1["restarts"],
        restarts_survived=phase1["restarts_survived"],
        freezes=phase1["freezes"],
        freezes_recovered=phase1["freezes_recovered"],
        reconnect_s=phase1["reconnect_s"],
        fills_reconciled=phase1["fills_reconciled"],
        ledger_fills=phase1["ledger_fills"],
        duplicates=phase1["duplicates"],
        lost=phase1["lost"],
        order_ids_reused=phase3["order_ids_reused"],
        orders_open_the_gateway_does_not_show=phase3["orders_open_the_gateway_does_not_show"],
        untyped_errors=len(phase3["untyped_errors"]),
        bar_gaps=len(st["bar_gaps"]),
        bar_duplicates=st["bar_duplicates"],
        bars_live=st["bars"],
        quote_streams_not_restored=st["quote_streams_not_restored"],
        restarts_and_freezes=phase1,
        kill_and_journal=phase2,
        compound_faults=phase3,
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak")
    parser.add_argument("--child", nargs=2, metavar=("PORT", "JOURNAL"), required=True)
    args = parser.parse_args()
    port, journal = args.child
    asyncio.run(_child(int(port), journal))


if __name__ == "__main__":
    main()
