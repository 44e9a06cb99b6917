"""A recorded connection as a gateway script, and one replayed conversation. Sans-IO.

`ReplayScript.of(recording, conn)` cuts a recorded connection into steps: each request the
client sent, with the answers the gateway sent after it and before the next request (its
*block*). `ReplaySession` plays that script against a new client: bytes in, bytes out.

* Requests are matched **by message type and position**: the new client's third
  reqContractDetails is the recorded third reqContractDetails, whatever its ids.
* Ids are **remapped**: each matched request teaches which recorded request id, order id and
  client id the new client uses instead, and every answer carries the new client's ids
  (`req_id`, `order_id`, `parent_id`, `client_id`, in place: every other byte as recorded).
* Blocks leave **in recorded order**: a block goes out once its request and every request
  recorded before it have arrived, so a client that sends the same requests sees the same
  conversation even if it sends a concurrent burst in another order.
* A request the recording has no counterpart for is answered with nothing and listed in
  `unmatched`. If the gateway closed the recorded connection, the replay closes after the last
  block.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from horizon.tap.decode import EventKind
from horizon.tap.recording import RecordedFrame, Recording
from horizon.tap.wire import (
    BadMessage,
    Direction,
    GatewayConnection,
    Hello,
    Message,
    ProtocolError,
    StartApi,
    UnknownMessage,
    decode_payload,
    field_positions,
    frame,
    negotiate,
    replace_fields,
)

__all__ = ["ReplayScript", "ReplaySession", "Reply", "Step"]

# request fields that say which id the client chose, and the id space each belongs to
_LEARNED: Final = (("req_id", "req"), ("order_id", "order"))
# answer fields that echo a client's id: field -> the id spaces to look in, in order
_ECHOED: Final[Mapping[str, tuple[str, ...]]] = {
    "req_id": ("req", "order"),  # an error's reqId is a request's or an order's
    "order_id": ("order",),
    "parent_id": ("order",),
    "client_id": ("client",),
}
# answers whose id fields are the gateway's own, not an echo of the client's
_NOT_ECHOES: Final = frozenset({"NextValidId"})


@dataclass(frozen=True, slots=True)
class Answer:
    """One recorded answer: its exact bytes and, if it decoded, its row (for remapping)."""

    raw: bytes
    message: Message | None
    version: int


@dataclass(frozen=True, slots=True)
class Step:
    """One recorded request and the answers recorded after it."""

    key: int | None  # the request's message id (None: bytes that never framed)
    name: str
    request: Message | None
    answers: tuple[Answer, ...]


@dataclass(frozen=True, slots=True)
class ReplayScript:
    """What one recorded connection said: the hello reply, the opening answers (sent before
    any request; normally none) and the steps."""

    conn: int
    version: int
    reply: bytes  # the recorded [version, connection time] frame, as recorded
    opening: tuple[Answer, ...]
    steps: tuple[Step, ...]
    gateway_closed: bool

    @classmethod
    def of(cls, recording: Recording, conn: int) -> ReplayScript:
        frames = recording.of(conn)
        reply = next((f for f in frames if f.kind is EventKind.VERSION), None)
        if reply is None:
            raise ValueError(f"connection {conn} of the recording has no version reply")
        opening: list[Answer] = []
        steps: list[tuple[RecordedFrame, list[Answer]]] = []
        for f in frames:
            if f.kind in (EventKind.HELLO, EventKind.VERSION):
                continue
            if f.direction is Direction.IN:
                if f.kind is EventKind.MESSAGE:
                    steps.append((f, []))
                continue
            (steps[-1][1] if steps else opening).append(_answer(f))
        return cls(
            conn=conn,
            version=reply.version,
            reply=reply.raw,
            opening=tuple(opening),
            steps=tuple(_step(f, answers) for f, answers in steps),
            gateway_closed=recording.closed_by.get(conn) == "gateway",
        )

    @classmethod
    def all_of(cls, recording: Recording) -> list[ReplayScript]:
        """One script per recorded connection that got past the handshake, in order."""
        return [
            cls.of(recording, conn)
            for conn in recording.connections()
            if any(f.kind is EventKind.VERSION for f in recording.of(conn))
        ]


def _decode(f: RecordedFrame) -> Message | None:
    if not f.decoded:
        return None
    return decode_payload(f.direction, f.payload, f.version).message


def _answer(f: RecordedFrame) -> Answer:
    return Answer(f.raw, _decode(f), f.version)


def _step(f: RecordedFrame, answers: list[Answer]) -> Step:
    return Step(f.msg_id, f.name, _decode(f), tuple(answers))


@dataclass(frozen=True, slots=True)
class Reply:
    data: bytes
    close: bool = False


@dataclass(slots=True)
class _Ids:
    spaces: dict[str, dict[int, int]] = field(
        default_factory=lambda: {"req": {}, "order": {}, "client": {}}
    )

    def learn(self, space: str, recorded: Any, live: Any, into: dict[str, dict[int, int]]) -> None:
        if isinstance(recorded, int) and isinstance(live, int):
            self.spaces[space][recorded] = live
            into.setdefault(space, {})[recorded] = live


class ReplaySession:
    """One client's conversation with a script: `receive_data(bytes) -> Reply`."""

    def __init__(self, script: ReplayScript) -> None:
        self.script = script
        self.unmatched: list[str] = []  # requests the recording has no counterpart for
        self._conn = GatewayConnection(script.version, script.version)
        self._ids = _Ids()
        self._local: list[dict[str, dict[int, int]]] = [{} for _ in script.steps]
        self._matched = [False] * len(script.steps)
        self._by_key: dict[int | None, list[int]] = {}
        for i, step in enumerate(script.steps):
            self._by_key.setdefault(step.key, []).append(i)
        self._seen: dict[int | None, int] = {}
        self._cursor = 0
        self._closed = False

    @property
    def finished(self) -> bool:
        """Every recorded block has been sent."""
        return self._cursor == len(self.script.steps)

    def receive_data(self, data: bytes) -> Reply:
        if self._closed:
            return Reply(b"", close=True)
        self._conn.receive_data(data)
        out: list[bytes] = []
        while True:
            try:
                event = self._conn.next_event()
            except ProtocolError:
                self._closed = True
                return Reply(b"".join(out), close=True)
            if event is None:
                break
            if isinstance(event, Hello):
                if negotiate(event, self.script.version, self.script.version) is None:
                    self._closed = True
                    return Reply(b"", close=True)
                self._conn.accept(self.script.version, "")
                out.append(self.script.reply)
                out.extend(self._render(a, {}) for a in self.script.opening)
                continue
            self._request(event, out)
        done = self.finished and self.script.gateway_closed
        self._closed = done
        return Reply(b"".join(out), close=done)

    def _request(self, event: Message | UnknownMessage | BadMessage, out: list[bytes]) -> None:
        key = event.msg_id if not isinstance(event, Message) else event.MSG_ID
        nth = self._seen.get(key, 0)
        candidates = self._by_key.get(key, [])
        if nth >= len(candidates):
            self.unmatched.append(type(event).__name__ if isinstance(event, Message)
                                  else f"msg{key}")
            return
        self._seen[key] = nth + 1
        index = candidates[nth]
        self._matched[index] = True
        recorded = self.script.steps[index].request
        if recorded is not None and isinstance(event, Message):
            self._learn(recorded, event, self._local[index])
        while self._cursor < len(self._matched) and self._matched[self._cursor]:
            local = self._local[self._cursor]
            out.extend(self._render(a, local) for a in self.script.steps[self._cursor].answers)
            self._cursor += 1

    def _learn(self, recorded: Message, live: Message, local: dict[str, dict[int, int]]) -> None:
        for name, space in _LEARNED:
            self._ids.learn(space, getattr(recorded, name, None), getattr(live, name, None), local)
        if isinstance(recorded, StartApi) and isinstance(live, StartApi):
            self._ids.learn("client", recorded.client_id, live.client_id, local)

    def _render(self, answer: Answer, local: Mapping[str, Mapping[int, int]]) -> bytes:
        msg = answer.message
        if msg is None or type(msg).__name__ in _NOT_ECHOES:
            return answer.raw
        changes: dict[str, int] = {}
        for name, spaces in _ECHOED.items():
            value = getattr(msg, name, None)
            if not isinstance(value, int) or isinstance(value, bool):
                continue
            new = self._lookup(value, spaces, local)
            if new is not None and new != value:
                changes[name] = new
        if not changes:
            return answer.raw
        where = field_positions(msg, answer.version, changes)
        payload = replace_fields(
            answer.raw[4:], {i: str(changes[name]).encode() for name, i in where.items()}
        )
        return frame(payload)

    def _lookup(
        self, value: int, spaces: Sequence[str], local: Mapping[str, Mapping[int, int]]
    ) -> int | None:
        for table in (local, self._ids.spaces):
            for space in spaces:
                found = table.get(space, {}).get(value)
                if found is not None:
                    return found
        return None
