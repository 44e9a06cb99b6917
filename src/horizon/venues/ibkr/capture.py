"""Taps on ib_async that see every execution and commission report, whatever ib_async drops.

ib_async raises no fill event for executions fetched at connect time, drops a commission report
that arrives before its execution or whose trade it does not know, and parses
`YYYYMMDD-HH:MM:SS` execution times (UTC by IB's definition) in the host's local zone
(ib_async issue #230). The venue therefore listens one level lower:

- the decoder's execDetails handler (msg 11) is wrapped to keep the raw time text per execId;
- the wrapper's `execDetails` and `commissionReport` are wrapped (instance attributes) so the
  venue sees each call before ib_async's own bookkeeping, which then runs unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ib_async import IB, CommissionReport, Contract, Execution

EXEC_DETAILS_MSG = 11
_EXEC_ID_FIELD = 14
_TIME_FIELD = 15

ExecutionTap = Callable[[int, bool, Contract, Execution, str], None]
CommissionTap = Callable[[CommissionReport], None]


def install_taps(ib: IB, on_execution: ExecutionTap, on_commission: CommissionTap) -> None:
    """Route every execDetails / commissionReport through the venue first. Idempotent."""
    decoder = ib.client.decoder
    wrapper = ib.wrapper
    if getattr(wrapper, "_horizon_tapped", False):
        return
    raw_times: dict[str, str] = {}

    original_handler = decoder.handlers[EXEC_DETAILS_MSG]

    def exec_details_handler(fields: list[str]) -> None:
        if len(fields) > _TIME_FIELD:
            raw_times[fields[_EXEC_ID_FIELD]] = fields[_TIME_FIELD]
        original_handler(fields)

    decoder.handlers[EXEC_DETAILS_MSG] = exec_details_handler

    original_exec: Callable[..., Any] = wrapper.execDetails
    original_commission: Callable[..., Any] = wrapper.commissionReport

    def exec_details(req_id: int, contract: Contract, execution: Execution) -> None:
        # ib_async's own rule: a reply to a pending request is a replay, anything else is live
        live = req_id not in wrapper._futures
        raw = raw_times.pop(execution.execId, "")
        on_execution(req_id, live, contract, execution, raw)
        original_exec(req_id, contract, execution)

    def commission_report(report: CommissionReport) -> None:
        on_commission(report)
        original_commission(report)

    wrapper.execDetails = exec_details  # type: ignore[method-assign,assignment]
    wrapper.commissionReport = commission_report  # type: ignore[method-assign,assignment]
    wrapper._horizon_tapped = True  # type: ignore[attr-defined]
