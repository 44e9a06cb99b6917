"""What a process that *is* the simulator does to CPython's garbage collector.

The engine keeps the session's history (every order placed, three records a fill) for as long
as the process lives, and a fill allocates a few dozen short-lived containers. With the
default thresholds a young collection runs every 700 allocations and each full collection
walks everything kept, start-up included: the collector's share of a fill grows with the run
(about 22 -> 31 us a fill over ten rounds of 10,000 fills, against a flat 21 us with it off).
Freezing what start-up made (the universe, the codec's generated functions, the modules) and
collecting the young generation every 10,000 allocations keeps a fill near 22 us.

Only for the simulator's own process (`horizon-ibkr sim`, the benchmarks' host): the
simulator embedded in a test run or an application never touches its host's collector.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 10_000  # allocations between young collections (CPython's default: 700)


def tune_collector(young: int = YOUNG_THRESHOLD) -> None:
    """Move every object alive now to the collector's permanent generation and collect the
    young generation every `young` allocations; the older generations' thresholds are kept."""
    if young < 1:
        raise ValueError(f"young must be >= 1, got {young!r}")
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(young, middle, old)
