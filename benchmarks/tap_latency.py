"""Figure 8. What the tap adds: `reqCurrentTime` round trips through `horizon-ibkr tap` vs
straight to the same simulator, interleaved in one run.

Processes besides this one: the simulator (`benchmarks.simhost`, pacing off), the tap as
users run it (`python -m horizon.cli tap --record ...`: decoding both directions, redacting,
writing the recording and the live trace, which a thread here drains), and the same proxy
with no recorder (`RelayProcess`), which tells the hop (one process more to wake each way,
what any proxy costs) from what the tap's work adds to it. Three raw ib_async clients in this
process, direct (D), through the relay (R) and through the tap (T), ib_async's own 45/s queue
off on all; round trips rotate over the three (D R T, R T D, T D R, ...).

Two phases. **Paced** (the verdict): one round trip every `GAP_S`, 500 a second, ten times
what IB lets a client send; the tap forwards each chunk at once and decodes once the wire is
quiet, so this is what a client sees. **Back to back** (reported, not judged): the next
request as soon as the answer is in, so the tap's decoding competes with the forwarding for
the CPU: the worst case. Each gives p50/p99 per path and the added p50/p99 and median
per-round differences; the tap's CPU per round trip is from the back-to-back phase.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO

from ib_async import IB

from benchmarks._harness import LOGS, REPO, Figure, SimHost, summary, verdict

NAME = "tap_latency"
TITLE = "reqCurrentTime round trip: through the tap vs direct"
GOAL_RECORDING_US_P50 = 100.0
GAP_S = 0.002


class TapProcess:
    """`horizon-ibkr tap` in a child process, recording to `record`; stdout drained."""

    def __init__(self, upstream_port: int, record: Path) -> None:
        LOGS.mkdir(parents=True, exist_ok=True)
        self._stderr = open(LOGS / f"{NAME}-tap.log", "a")  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen(
            self.command(upstream_port, record),
            stdout=subprocess.PIPE, stderr=self._stderr, text=True, cwd=str(REPO),
        )
        assert self.proc.stdout is not None
        first = self.proc.stdout.readline()
        if not first.startswith("tap listening on "):
            self.close()
            raise RuntimeError(f"the tap did not start: {first!r}")
        self.port = int(first.split()[3].rsplit(":", 1)[1])
        self.trace_lines = 0
        threading.Thread(target=self._drain, args=(self.proc.stdout,), daemon=True).start()

    def command(self, upstream_port: int, record: Path) -> list[str]:
        return [sys.executable, "-m", "horizon.cli", "tap", "--listen", "127.0.0.1:0",
                "--upstream", f"127.0.0.1:{upstream_port}", "--record", str(record)]

    def _drain(self, stream: IO[str]) -> None:
        for _ in stream:
            self.trace_lines += 1

    def cpu_s(self) -> float:
        """User + system CPU of the tap process so far (Linux /proc; clock-tick resolution)."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._stderr.close()


class RelayProcess(TapProcess):
    """The same proxy with no recorder (`python -m benchmarks.tap_latency relay PORT`): the
    hop alone, to tell what the hop costs from what the recording adds to it."""

    def command(self, upstream_port: int, record: Path) -> list[str]:
        return [sys.executable, "-m", "benchmarks.tap_latency", "relay", str(upstream_port)]


async def _relay(upstream_port: int) -> None:
    from horizon.tap import TapProxy

    async with TapProxy("127.0.0.1", upstream_port) as proxy:
        print(f"tap listening on {proxy.host}:{proxy.port} -> relay", flush=True)
        await asyncio.Event().wait()  # until terminated


async def _round_trip(ib: IB) -> float:
    started = time.perf_counter()
    await ib.reqCurrentTimeAsync()
    return time.perf_counter() - started


def rotations(n: int, names: str) -> list[str]:
    """n rounds of every name, each round starting one further along: ABC, BCA, CAB, ..."""
    k = len(names)
    return [names[(i + j) % k] for i in range(n) for j in range(k)]


async def _phase(runs: dict[str, IB], rounds: int, gap: float) -> dict[str, list[float]]:
    """`rounds` rotations over the paths; with `gap`, each round trip starts `gap` s after
    the previous one started (a schedule, so a slow trip does not push the rest back)."""
    times: dict[str, list[float]] = {who: [] for who in runs}
    loop = asyncio.get_running_loop()
    due = loop.time()
    for who in rotations(rounds, "".join(runs)):
        if gap:
            due += gap
            await asyncio.sleep(max(0.0, due - loop.time()))
        times[who].append(await _round_trip(runs[who]))
    return times


def _added(base: list[float], other: list[float]) -> dict[str, float]:
    b, o = summary(base, 1e6, 1), summary(other, 1e6, 1)
    diffs = sorted(y - x for x, y in zip(base, other, strict=True))
    return {
        "us_p50": round(o["p50"] - b["p50"], 1),
        "us_p99": round(o["p99"] - b["p99"], 1),
        "median_pair_us": round(1e6 * diffs[len(diffs) // 2], 1),
        "ratio_p50": round(o["p50"] / b["p50"], 3),
    }


def _compare(times: dict[str, list[float]]) -> dict[str, object]:
    """D direct, R the bare relay, T the tap."""
    return {
        "direct": summary(times["D"], 1e6, 1),
        "relay": summary(times["R"], 1e6, 1),
        "tapped": summary(times["T"], 1e6, 1),
        "tap_vs_direct": _added(times["D"], times["T"]),
        "relay_vs_direct": _added(times["D"], times["R"]),
        "tap_vs_relay": _added(times["R"], times["T"]),
    }


async def _run(quick: bool) -> Figure:
    paced, busy, warmup = (900, 600, 100) if quick else (3000, 3000, 300)
    with tempfile.TemporaryDirectory() as tmp, SimHost("--no-pacing", log_name=f"{NAME}-sim") \
            as host:
        record = Path(tmp) / "session.jsonl"
        tap, relay = TapProcess(host.port, record), RelayProcess(host.port, record)
        runs = {"D": IB(), "R": IB(), "T": IB()}
        try:
            for (who, ib), port in zip(runs.items(), (host.port, relay.port, tap.port),
                                       strict=True):
                await ib.connectAsync("127.0.0.1", port, clientId=" DRT".index(who))
                ib.client.MaxRequests = 0  # pacing is not what this figure measures
            await _phase(runs, warmup, 0.0)
            paced_times = await _phase(runs, paced, GAP_S)
            cpu0 = tap.cpu_s()
            busy_times = await _phase(runs, busy, 0.0)
            tap_cpu = tap.cpu_s() - cpu0
        finally:
            for ib in runs.values():
                ib.disconnect()
            tap.close()
            relay.close()
        recorded_bytes = record.stat().st_size
    result = _compare(paced_times)
    recording = result["tap_vs_relay"]["us_p50"]  # type: ignore[index]
    return verdict(
        recording <= GOAL_RECORDING_US_P50,
        f"decoding, redaction, recording and trace add <= {GOAL_RECORDING_US_P50:.0f} us to the "
        f"p50 round trip over the same proxy without them (paced, {1 / GAP_S:.0f} round "
        "trips/s); the hop's own cost and the total vs direct are reported beside it",
        unit="us",
        **result,
        back_to_back=_compare(busy_times),
        tap_cpu_us_per_round_trip=round(1e6 * tap_cpu / busy, 1),
        recorded_bytes=recorded_bytes,
        samples_per_path=paced,
    )


def run(quick: bool) -> Figure:
    return asyncio.run(_run(quick))


if __name__ == "__main__":  # the bare relay process
    if sys.argv[1:2] == ["relay"]:
        asyncio.run(_relay(int(sys.argv[2])))
