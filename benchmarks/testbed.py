"""Figure 12. Cost of the test bed in a user's CI: what the simulator costs a suite that starts
a fresh one per test.

Part 1, in this process: `GatewaySimulator.start()` until its port accepts, and `Ibkr.connect()`
to that fresh simulator (handshake, accounts, positions, open orders, executions) next to a raw
ib_async `connectAsync` to the same kind of fresh simulator, interleaved. Part 2: a generated
suite of 1,000 tests (100 quick), each with its own simulator from the `ibkr_gateway` pytest
fixture and one ib_async round trip, run by pytest in a child process and timed end to end.

The verdict is a ratio, as every figure's: the venue's connect against raw ib_async's on the
same fresh simulators (<= 1.5 at the median of pairs), and the suite green. Absolute times are
reported, never asserted: they are what a user's CI pays per test.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ib_async import IB

from benchmarks._harness import Figure, paired, summary, verdict
from horizon.venues.ibkr import Ibkr
from ibgateway_sim import GatewaySimulator

NAME = "testbed"
TITLE = "test bed: simulator start, connect, a 1,000-test suite"
GOAL_CONNECT_RATIO = 1.5

SUITE = '''
import pytest
from ib_async import IB


@pytest.mark.parametrize("n", range({tests}))
def test_one_round_trip(ibkr_gateway, n):
    ib = IB()
    ib.connect("127.0.0.1", ibkr_gateway.port, clientId=1, timeout=10)
    try:
        assert ib.reqCurrentTime().year >= 2000
    finally:
        ib.disconnect()
'''


def _start_once() -> tuple[float, GatewaySimulator]:
    started = time.perf_counter()
    sim = GatewaySimulator(host="127.0.0.1", port=0, accounts=["DU1234567"], seed=7)
    sim.start()
    with socket.create_connection(("127.0.0.1", sim.port), timeout=5):
        pass  # accepting
    return time.perf_counter() - started, sim


async def _venue_connect(port: int) -> float:
    venue = Ibkr(port=port, paper=True, client_id=1)
    started = time.perf_counter()
    await venue.connect_async()
    took = time.perf_counter() - started
    await venue.close_async()
    return took


async def _raw_connect(port: int) -> float:
    ib = IB()
    started = time.perf_counter()
    await ib.connectAsync("127.0.0.1", port, clientId=1, timeout=10)
    took = time.perf_counter() - started
    ib.disconnect()
    return took


async def _connects(rounds: int) -> tuple[list[float], list[float], list[float]]:
    starts: list[float] = []
    venue: list[float] = []
    raw: list[float] = []
    for n in range(rounds):
        for who in (("venue", "raw") if n % 2 == 0 else ("raw", "venue")):
            took, sim = _start_once()  # a fresh simulator for every connect, as a suite has
            starts.append(took)
            try:
                if who == "venue":
                    venue.append(await _venue_connect(sim.port))
                else:
                    raw.append(await _raw_connect(sim.port))
            finally:
                sim.stop()
    return starts, venue, raw


def _suite(tests: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "test_generated_suite.py"
        path.write_text(SUITE.replace("{tests}", str(tests)))
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(path)],
            check=False, cwd=tmp, capture_output=True, text=True, timeout=1800,
        )  # fmt: skip
        took = time.perf_counter() - started
    tail = done.stdout.strip().splitlines()[-1:] or [""]
    return {"tests": tests, "passed": done.returncode == 0, "seconds": round(took, 2),
            "ms_per_test": round(1000 * took / tests, 2), "summary": tail[0]}  # fmt: skip


def run(quick: bool) -> Figure:
    rounds, tests = (10, 100) if quick else (40, 1000)
    starts, venue, raw = asyncio.run(_connects(rounds))
    suite = _suite(tests)
    ratio = paired([v / r for v, r in zip(venue, raw, strict=True)])
    return verdict(
        ratio["median"] <= GOAL_CONNECT_RATIO and bool(suite["passed"]),
        f"venue connect / raw ib_async connect on fresh simulators <= {GOAL_CONNECT_RATIO} "
        f"(median of pairs); a {tests}-test suite with a simulator per test green",
        unit="ms",
        simulator_start_ms=summary(starts, 1e3),
        venue_connect_ms=summary(venue, 1e3),
        raw_connect_ms=summary(raw, 1e3),
        connect_ratio=ratio,
        suite=suite,
    )
