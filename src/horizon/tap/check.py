"""The shape check: replay a recording's requests against a gateway and compare answer shapes.

Each recorded connection is played in turn: its hello, then its requests in the recorded
order, each sent once the target has sent as many answers of each kind as the recording holds
before that request (or has been quiet for `settle` seconds: a target that answers less must
not stall the check). The target's answers are decoded by the tap's own decoder and compared
with the recorded ones by `shape.compare`.

The target is the simulator, started in-process with the recording's (stand-in) accounts, or
a gateway at `port`. Against a gateway the requests are adapted the way a client would adapt:
the recorded accounts become the gateway's (by position in managedAccounts) and order ids
move by the difference between the recorded and the gateway's nextValidId. Placing the
recorded orders again is what a check does, so known live ports are refused, with no override.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Final

from horizon.tap.decode import ConnectionDecoder, EventKind, WireEvent
from horizon.tap.errors import LivePortRefused, UpstreamUnavailable
from horizon.tap.proxy import LIVE_PORTS
from horizon.tap.recording import RecordedFrame, Recording
from horizon.tap.redact import AccountSwap
from horizon.tap.shape import Sample, ShapeReport, compare
from horizon.tap.wire import (
    Direction,
    decode_payload,
    field_positions,
    frame,
    replace_fields,
    simulator,
)

__all__ = ["CheckResult", "check_recording"]

_ORDER_ID_FIELDS: Final = ("order_id", "parent_id")
_DEFAULT_ACCOUNTS: Final = ("DU1234567",)


@dataclass(frozen=True, slots=True)
class CheckResult:
    report: ShapeReport
    target: str  # "the simulator" or "host:port"
    connections: int
    recorded_answers: int
    live_answers: int

    @property
    def ok(self) -> bool:
        return self.report.ok


def _recorded_sample(f: RecordedFrame) -> Sample:
    if f.kind is not EventKind.MESSAGE:
        return Sample(f.name, 0)
    decoded = decode_payload(f.direction, f.payload, f.version)
    return Sample(f.name, len(decoded.fields), decoded.message, f.version)


def _live_sample(e: WireEvent) -> Sample:
    return Sample(e.name, len(e.fields), e.message, e.version)


def recorded_accounts(recording: Recording) -> list[str]:
    """The accounts the recording's first managedAccounts names (stand-ins if redacted)."""
    for f in recording.frames:
        if f.name == "ManagedAccounts" and f.direction is Direction.OUT:
            value = f.fields.get("accounts", "")
            accounts = [a.strip() for a in str(value).split(",") if a.strip()]
            if accounts:
                return accounts
    return list(_DEFAULT_ACCOUNTS)


def _first(frames: list[RecordedFrame], name: str, field: str) -> Any:
    for f in frames:
        if f.name == name and f.direction is Direction.OUT:
            return f.fields.get(field)
    return None


class _Conversation:
    """One recorded connection replayed against the target."""

    def __init__(self, frames: list[RecordedFrame], settle: float) -> None:
        self.frames = frames
        self.settle = settle
        self.decoder = ConnectionDecoder()
        self.answers: list[WireEvent] = []
        self.eof = False
        self._news = asyncio.Event()
        self._accounts: AccountSwap | None = None
        self._shift = 0
        self._adapted = False

    async def run(self, host: str, port: int) -> None:
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError as exc:
            raise UpstreamUnavailable(host, port, exc.strerror or "") from exc
        pump = asyncio.create_task(self._read(reader))
        try:
            await self._play(writer)
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
            await pump

    async def _read(self, reader: asyncio.StreamReader) -> None:
        loop = asyncio.get_running_loop()
        try:
            while data := await reader.read(65536):
                for event in self.decoder.feed(Direction.OUT, data, loop.time()):
                    if event.kind is not EventKind.VERSION:
                        self.answers.append(event)
                self._notify()
        except ConnectionError:
            pass
        finally:
            self.eof = True
            self._notify()

    def _notify(self) -> None:
        self._news.set()
        self._news = asyncio.Event()

    def _has(self, expected: Counter[str]) -> bool:
        got = Counter(e.name for e in self.answers)
        return all(got[name] >= n for name, n in expected.items())

    async def _until(self, expected: Counter[str]) -> None:
        """Until as many answers of each kind as recorded so far have come, the stream ended,
        or it was quiet for `settle` s (a target that answers less must not stall the check)."""
        while not self.eof and not self._has(expected):
            news = self._news
            try:
                await asyncio.wait_for(news.wait(), self.settle)
            except TimeoutError:
                return

    async def _play(self, writer: asyncio.StreamWriter) -> None:
        expected: Counter[str] = Counter()
        for f in self.frames:
            if f.direction is Direction.OUT:
                if f.kind is not EventKind.VERSION:
                    expected[f.name] += 1
                continue
            if f.kind is EventKind.RAW:
                continue
            if f.kind is EventKind.MESSAGE:
                await self._until(expected)
                if self.eof:
                    return
                if not self._adapted and self.answers:
                    self._adapt()
            writer.write(self._request(f))
            await writer.drain()
        await self._until(expected)

    def _adapt(self) -> None:
        """Once the target has said its accounts and next order id: how requests change."""
        live_accounts = next(
            (str(e.message.accounts).split(",") for e in self.answers  # type: ignore[attr-defined]
             if e.name == "ManagedAccounts" and e.message is not None), None)
        live_next = next((e.message.order_id for e in self.answers  # type: ignore[attr-defined]
                          if e.name == "NextValidId" and e.message is not None), None)
        if live_accounts is None or live_next is None:
            return
        self._adapted = True
        recorded = str(_first(self.frames, "ManagedAccounts", "accounts") or "").split(",")
        pairs = {r: lv for r, lv in zip(recorded, live_accounts, strict=False) if r and r != lv}
        if pairs:
            self._accounts = AccountSwap(pairs)
        recorded_next = _first(self.frames, "NextValidId", "order_id")
        if isinstance(recorded_next, int):
            self._shift = max(0, live_next - recorded_next)

    def _request(self, f: RecordedFrame) -> bytes:
        if f.kind is not EventKind.MESSAGE or (self._accounts is None and not self._shift):
            return f.raw
        payload = f.payload
        message = decode_payload(f.direction, payload, f.version).message
        if self._shift and message is not None:
            ids = {n: getattr(message, n, 0) for n in _ORDER_ID_FIELDS}
            moved = {n: v + self._shift for n, v in ids.items() if isinstance(v, int) and v > 0}
            where = field_positions(message, f.version, moved)
            payload = replace_fields(payload, {i: str(moved[n]).encode() for n, i in where.items()})
        if self._accounts is not None:
            payload = self._accounts(payload)
        return frame(payload)


@contextlib.asynccontextmanager
async def _target(
    recording: Recording, host: str, port: int | None
) -> AsyncIterator[tuple[str, int, str]]:
    if port is not None:
        app = LIVE_PORTS.get(port)
        if app is not None:
            raise LivePortRefused(port, app)
        yield host, port, f"{host}:{port}"
        return
    sim = simulator(host="127.0.0.1", port=0, accounts=recorded_accounts(recording), seed=7,
                    step_interval=None)
    async with sim:
        yield "127.0.0.1", sim.port, "the simulator"


async def check_recording(
    recording: Recording,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    settle: float = 0.5,
    on_connection: Callable[[int], None] | None = None,
) -> CheckResult:
    """Replay `recording`'s requests against the simulator (`port=None`) or `host:port` and
    compare the shapes of the answers."""
    conversations = [c for c in recording.connections()
                     if any(f.kind is EventKind.HELLO for f in recording.of(c))]
    if not conversations:
        raise ValueError("the recording holds no connection that sent a hello: nothing to check")
    recorded: list[Sample] = []
    live: list[Sample] = []
    played = 0
    async with _target(recording, host, port) as (h, p, target):
        for conn in conversations:
            frames = recording.of(conn)
            if on_connection is not None:
                on_connection(conn)
            talk = _Conversation(frames, settle)
            await talk.run(h, p)
            played += 1
            recorded += [_recorded_sample(f) for f in frames
                         if f.direction is Direction.OUT and f.kind is not EventKind.VERSION]
            live += [_live_sample(e) for e in talk.answers]
    return CheckResult(compare(recorded, live), target, played, len(recorded), len(live))
