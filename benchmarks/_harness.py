"""What every figure shares: statistics, machine facts, RSS, and the simulator in a child process.

The simulator runs in its own process (`benchmarks.simhost`) so its CPU never shares the GIL
with the client being measured; the figures drive it over a JSON-lines pipe (`SimHost.call`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
LOGS = RESULTS / "logs"
REPO = Path(__file__).resolve().parent.parent

Figure = dict[str, Any]


# ---------------------------------------------------------------------------------- statistics


def percentile(values: Sequence[float], p: float) -> float:
    """Linear-interpolated percentile (p in 0..100) of a non-empty sample."""
    if not values:
        raise ValueError("percentile of an empty sample")
    xs = sorted(values)
    k = (len(xs) - 1) * p / 100.0
    lo, hi = math.floor(k), math.ceil(k)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def summary(values: Sequence[float], scale: float = 1.0, digits: int = 3) -> dict[str, float]:
    """n, p50, p90, p99, mean, min, max of `values` times `scale`."""
    xs = [v * scale for v in values]
    return {
        "n": len(xs),
        "p50": round(percentile(xs, 50), digits),
        "p90": round(percentile(xs, 90), digits),
        "p99": round(percentile(xs, 99), digits),
        "mean": round(statistics.fmean(xs), digits),
        "min": round(min(xs), digits),
        "max": round(max(xs), digits),
    }


def paired(ratios: Sequence[float], digits: int = 3) -> dict[str, Any]:
    """The median of per-pair ratios (Horizon / raw, each pair measured back to back) and
    their spread: the figure a pass/fail is decided on, because a pooled ratio flips with
    whatever else the machine did between the two sides' samples."""
    if not ratios:
        raise ValueError("no pairs")
    xs = sorted(ratios)
    return {
        "median": round(statistics.median(xs), digits),
        "min": round(xs[0], digits),
        "max": round(xs[-1], digits),
        "spread": round(xs[-1] - xs[0], digits),
        "pairs": len(xs),
    }


def verdict(ok: bool, goal: str, **metrics: Any) -> Figure:
    return {"goal": goal, "pass": bool(ok), **metrics}


# -------------------------------------------------------------------------------- the machine


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, timeout=5, check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() or "unknown"


def machine() -> dict[str, Any]:
    from importlib.metadata import PackageNotFoundError, version

    try:
        ib_async_version = version("ib_async")
    except PackageNotFoundError:
        ib_async_version = "missing"
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cpus": os.cpu_count(),
        "ib_async": ib_async_version,
        "commit": _git_commit(),
    }


def rss_bytes() -> int:
    """Resident set size of this process now (not the peak)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


def quiet_logging(name: str) -> Path:
    """Send every log record (WARNING and up) to results/logs/<name>.log, none to the console."""
    LOGS.mkdir(parents=True, exist_ok=True)
    path = LOGS / f"{name}.log"
    handler = logging.FileHandler(path, mode="a")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    return path


# ------------------------------------------------------------------ the simulator, out of process


class SimHostError(RuntimeError):
    pass


class SimHost:
    """`python -m benchmarks.simhost ...` as a child process, driven over a JSON-lines pipe.

    Every call is answered in order; `call` is thread-safe, `acall` runs it in a worker thread
    so the caller's event loop keeps serving its sockets while the simulator works.
    """

    def __init__(self, *args: str, log_name: str = "simhost") -> None:
        LOGS.mkdir(parents=True, exist_ok=True)
        self._stderr = open(LOGS / f"{log_name}.log", "a")  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.simhost", *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, text=True,
            cwd=str(REPO),
        )
        self._lock = threading.Lock()
        first = self._readline()
        parts = first.split()
        if len(parts) != 3 or parts[0] != "listening":
            self.close()
            raise SimHostError(f"simhost did not start: {first!r}")
        self.host, self.port = parts[1], int(parts[2])

    def _readline(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise SimHostError(f"simhost ended (rc={self.proc.poll()}); see results/logs")
        return line.strip()

    def call(self, op: str, **args: Any) -> Any:
        with self._lock:
            assert self.proc.stdin is not None
            self.proc.stdin.write(json.dumps({"op": op, **args}) + "\n")
            self.proc.stdin.flush()
            reply = json.loads(self._readline())
        if not reply.get("ok"):
            raise SimHostError(f"{op}: {reply.get('error')}")
        return reply.get("result")

    async def acall(self, op: str, **args: Any) -> Any:
        return await asyncio.to_thread(self.call, op, **args)

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.call("quit")
                self.proc.wait(timeout=30)
            except (SimHostError, OSError, ValueError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._stderr.close()

    def __enter__(self) -> SimHost:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


async def wait_until(pred: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `pred` every 10 ms (for state that has no event to wait on, e.g. many trades)."""
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached within {timeout} s")
        await asyncio.sleep(0.01)


async def qualify_stock(ib: Any, symbol: str) -> Any:
    """The qualified ib_async Contract of a US stock (raw clients' one-time set-up)."""
    from ib_async import Contract, Stock

    [contract] = await ib.qualifyContractsAsync(Stock(symbol, "SMART", "USD"))
    if not isinstance(contract, Contract):
        raise SimHostError(f"could not qualify {symbol}: {contract!r}")
    return contract


def interleaved(n: int, pair: Iterable[str] = ("A", "B")) -> list[tuple[str, str]]:
    """A/B, B/A, A/B ...: each client goes first half the time, cancelling order effects."""
    a, b = tuple(pair)
    return [(a, b) if i % 2 == 0 else (b, a) for i in range(n)]


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
