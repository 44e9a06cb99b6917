"""`python -m benchmarks.profile_table`: where Horizon's own time goes, from the profiles that
`python -m benchmarks --profile submit_latency,fill_ingestion` writes.

For each profile, the own time (tottime) of every function in Horizon's source, grouped by
module and function, divided by the number of orders (calls of `OrderTracker.submit`) or fills
(calls of `FillCapture._on_execution`), and the same for ib_async's and the standard library's
code, so the shares can be compared. cProfile inflates every call (about threefold): read the
shares, not the microseconds.
"""

from __future__ import annotations

import pstats
import sys
from collections import defaultdict
from pathlib import Path

from horizon.venues.ibkr.fast_decode import PARSER_FILE

RESULTS = Path(__file__).resolve().parent / "results"
_PER = {
    "submit_latency": ("order_tracker.py", "submit", "per submit -> ACCEPTED"),
    "fill_ingestion": ("fill_capture.py", "_on_execution", "per fill"),
}

_BLOCKING = frozenset({
    "<method 'poll' of 'select.epoll' objects>",
    "<method 'readline' of '_io.TextIOWrapper' objects>",
    "<built-in method time.sleep>",
})  # fmt: skip


# Horizon's cheaper forms of ib_async's own work (reprs for its log lines, its decoder's
# field conversion and handlers, its client's encoding, its Trade bookkeeping): raw ib_async
# pays the same work in its own code
_IB_ASYNC_WORK = (
    "/venues/ibkr/mapping/fast_repr.py", "/venues/ibkr/fast_decode.py",
    "/venues/ibkr/fast_encode.py", "/venues/ibkr/fast_trades.py",
)  # fmt: skip


def _where(filename: str) -> str:
    if filename.endswith(_IB_ASYNC_WORK) or filename.startswith(f"<{PARSER_FILE} "):
        return "ib_async_work"
    if "/src/horizon/" in filename:
        return "horizon"
    if "/ib_async/" in filename or "/eventkit/" in filename:
        return "ib_async"
    return "python"


def table(name: str, rows: int = 12) -> str:
    stats = pstats.Stats(str(RESULTS / f"{name}.prof"))
    anchor_file, anchor_func, label = _PER[name]
    raw = stats.stats  # type: ignore[attr-defined]
    units = sum(
        cc for (file, _, func), (cc, *_) in raw.items()
        if file.endswith(anchor_file) and func == anchor_func
    )  # fmt: skip
    if not units:
        raise SystemExit(f"{name}.prof has no calls of {anchor_func}: profile it again")
    own: dict[str, float] = defaultdict(float)
    totals: dict[str, float] = defaultdict(float)
    for (file, _line, func), (_cc, _nc, tottime, _ct, _callers) in raw.items():
        if func in _BLOCKING:
            continue  # waiting for the other side, not work
        where = _where(file)
        totals[where] += tottime
        if where == "horizon":
            module = file.split("/src/horizon/")[1].removesuffix(".py").replace("/", ".")
            # a comprehension or lambda counts as its module's
            what = "(comprehensions)" if func.startswith("<") else func
            own[f"`{module}` {what}"] += tottime
    lines = [f"| {name}: Horizon's own code, {label} (profiled) | µs |", "|---|---|"]
    for key, seconds in sorted(own.items(), key=lambda kv: -kv[1])[:rows]:
        lines.append(f"| {key} | {1e6 * seconds / units:.1f} |")
    per = {where: f"{1e6 * seconds / units:.1f}" for where, seconds in totals.items()}
    lines += [
        f"| **all of Horizon's own code** | **{per.get('horizon', '0')}** |",
        f"| ib_async's work in Horizon's cheaper forms (reprs, field parsing) | "
        f"{per.get('ib_async_work', '0')} |",
        f"| ib_async and eventkit, both clients together | {per.get('ib_async', '0')} |",
        f"| the standard library, loop and sockets, both clients | {per.get('python', '0')} |",
    ]
    return "\n".join(lines) + f"\n\n({units} Horizon orders or fills profiled, as many raw.)\n"


def main() -> None:
    names = sys.argv[1:] or list(_PER)
    for name in names:
        print(table(name))


if __name__ == "__main__":
    main()
