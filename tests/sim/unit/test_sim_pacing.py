"""The pacing window, pure: IB's one-second sliding window per client, error 100 for a plain
client, the +PACEAPI backlog for a paced one. Time is a number the test passes in."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ibgateway_sim.gateway.pacing import Admission, PacingWindow


def offer_all(window: PacingWindow[int], n: int, now: float) -> list[tuple[Admission, int]]:
    return [window.offer(i, now) for i in range(n)]


def test_within_the_limit_every_message_is_admitted_and_counted() -> None:
    window: PacingWindow[int] = PacingWindow(3, max_backlog=10)
    assert offer_all(window, 3, 0.0) == [(Admission.NOW, 1), (Admission.NOW, 2), (Admission.NOW, 3)]
    assert window.count == 3 and window.refused == 0 and window.held == 0


def test_a_plain_client_over_the_limit_is_refused_and_the_refused_still_count() -> None:
    window: PacingWindow[int] = PacingWindow(2, max_backlog=10)
    offer_all(window, 2, 0.0)
    assert window.offer(2, 0.1) == (Admission.REFUSED, 3)
    assert window.offer(3, 0.2) == (Admission.REFUSED, 4)  # flooding keeps it refused
    assert window.refused == 2 and window.held == 0


def test_the_window_slides_a_message_leaves_exactly_one_span_later() -> None:
    window: PacingWindow[int] = PacingWindow(2, max_backlog=10)
    window.offer(0, 0.0)
    window.offer(1, 0.5)
    assert window.offer(2, 0.999)[0] is Admission.REFUSED
    assert window.offer(3, 1.0) == (Admission.REFUSED, 3)  # 0.0 left; 0.5, 0.999, 1.0 remain
    assert window.offer(4, 2.0) == (Admission.NOW, 1)  # everything before 1.0 has left


def test_no_limit_admits_everything_and_still_counts_the_busiest_second() -> None:
    window: PacingWindow[int] = PacingWindow(None, max_backlog=1)
    assert offer_all(window, 500, 0.0)[-1] == (Admission.NOW, 500)
    assert window.offer(500, 1.0) == (Admission.NOW, 1)


def test_a_paced_client_is_queued_in_order_and_worked_off_at_the_limit() -> None:
    window: PacingWindow[str] = PacingWindow(2, max_backlog=10, paced=True)
    assert window.offer("a", 0.0) == (Admission.NOW, 1)
    assert window.offer("b", 0.2) == (Admission.NOW, 2)
    assert window.offer("c", 0.4) == (Admission.QUEUED, 2)  # not counted: its slot stays free
    assert window.held == 1 and window.refused == 0
    assert window.take_due(0.5) is None  # the window is full
    assert window.next_slot(0.5) == 1.0  # when "a" leaves
    assert window.offer("d", 1.1) == (Admission.QUEUED, 2)  # queued behind "c", room or not
    assert window.take_due(1.1) == "c"
    assert window.take_due(1.1) is None  # "b" (0.2) and "c" (1.1) fill it
    assert window.next_slot(1.1) == pytest.approx(1.2)
    assert window.take_due(1.2) == "d"
    assert window.held == 0 and window.take_due(5.0) is None


def test_a_full_backlog_overflows_and_keeps_nothing_more() -> None:
    window: PacingWindow[int] = PacingWindow(1, max_backlog=2, paced=True)
    assert [a for a, _ in offer_all(window, 4, 0.0)] == [
        Admission.NOW, Admission.QUEUED, Admission.QUEUED, Admission.OVERFLOW,
    ]  # fmt: skip
    assert window.held == 2
    window.drop_backlog()
    assert window.held == 0 and window.take_due(9.0) is None


def test_next_slot_of_an_empty_window_is_now() -> None:
    assert PacingWindow[int](5, max_backlog=1).next_slot(42.0) == 42.0


@given(
    limit=st.integers(1, 8),
    paced=st.booleans(),
    # binary fractions: sums stay exact, so "one span later" means exactly that
    gaps=st.lists(st.sampled_from([0.0, 0.0, 0.0625, 0.25, 0.9375, 1.0, 1.75]), max_size=120),
)
def test_no_span_ever_admits_more_than_the_limit_and_paced_order_is_kept(
    limit: int, paced: bool, gaps: list[float]
) -> None:
    """The law: in any interval shorter than the span at most `limit` messages are handled
    (admitted now or taken from the backlog); a paced client's messages are handled in the
    order they arrived, and none is lost while the backlog has room."""
    window: PacingWindow[int] = PacingWindow(limit, max_backlog=1_000, paced=paced)
    handled: list[tuple[float, int]] = []
    now = 0.0

    def drain(at: float) -> None:
        while (msg := window.take_due(at)) is not None:
            handled.append((at, msg))

    for i, gap in enumerate(gaps):
        now += gap
        drain(now)
        admission, _ = window.offer(i, now)
        assert admission is not Admission.OVERFLOW
        if admission is Admission.NOW:
            handled.append((now, i))
        elif admission is Admission.QUEUED:
            assert paced
        else:
            assert not paced
    for _ in range(len(gaps)):  # each slot that frees up takes at least one held message
        if not window.held:
            break
        now = window.next_slot(now)
        drain(now)
    assert not window.held
    times = [t for t, _ in handled]
    for k, start in enumerate(times):
        assert sum(1 for t in times[k:] if t - start < 1.0) <= limit
    if paced:
        assert [msg for _, msg in handled] == list(range(len(gaps)))
