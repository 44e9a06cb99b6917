"""A recorded connection replayed, sans-IO: matched by type and position, ids remapped,
answers in the recorded order."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

from horizon.tap.decode import ConnectionDecoder
from horizon.tap.recorder import Recorder
from horizon.tap.recording import RecordedFrame, Recording
from horizon.tap.script import ReplayScript, ReplaySession
from horizon.tap.wire import Direction
from horizon.venues.ibkr.simulator import messages as m
from horizon.venues.ibkr.simulator.codec import encode, encode_hello, frame_fields

IN, OUT = Direction.IN, Direction.OUT
REPLY = frame_fields(["178", "20250115 09:30:00 EST"])
AAPL = m.Contract12(symbol="AAPL", sec_type="STK", exchange="SMART", currency="USD")

# (direction, message) in the order a gateway conversation went
CONVERSATION: Sequence[tuple[Direction, m.Message]] = (
    (IN, m.StartApi(client_id=1)),
    (OUT, m.ManagedAccounts(accounts="DU1234567")),
    (OUT, m.NextValidId(order_id=5)),
    (IN, m.ReqContractDetails(req_id=5, contract=AAPL)),
    (OUT, m.ContractData(req_id=5, symbol="AAPL", con_id=265598)),
    (OUT, m.ContractDataEnd(req_id=5)),
    (IN, m.PlaceOrder(order_id=6, contract=AAPL, action="BUY", total_quantity=Decimal(10),
                      order_type="MKT")),
    (OUT, m.OrderStatus(order_id=6, status="PreSubmitted", perm_id=99, client_id=1)),
    (OUT, m.ExecDetails(req_id=-1, order_id=6, exec_id="e1", client_id=1, perm_id=99)),
    (OUT, m.ErrorMsg(req_id=6, code=399, text="Order Message: warning")),
    (IN, m.ReqCurrentTime()),
    (OUT, m.CurrentTime(time=1736951400)),
)


def recording(conversation: Sequence[tuple[Direction, m.Message]] = CONVERSATION,
              *, closed_by: str = "client") -> Recording:
    frames: list[RecordedFrame] = []
    conn = Recorder(redact=False, on_frame=frames.append).connection(1)
    conn.data(IN, encode_hello(157, 178))
    conn.data(OUT, REPLY)
    for direction, msg in conversation:
        conn.data(direction, encode(msg))
    header = {"type": "header", "started": datetime.now(UTC).isoformat()}
    return Recording(header, tuple(frames), {1: closed_by})


def answers(data: bytes) -> list[m.Message]:
    """The messages in `data` as a client reads them (after the version reply)."""
    dec = ConnectionDecoder()
    dec.feed(IN, encode_hello(157, 178), 0.0)
    dec.feed(OUT, REPLY, 0.0)
    events = dec.feed(OUT, data, 0.0)
    return [e.message for e in events if e.message is not None]


def opened(rec: Recording | None = None) -> ReplaySession:
    session = ReplaySession(ReplayScript.of(rec or recording(), 1))
    reply = session.receive_data(encode_hello(157, 178))
    assert reply.data == REPLY and not reply.close
    return session


def test_a_client_that_cannot_speak_the_recorded_version_is_closed() -> None:
    session = ReplaySession(ReplayScript.of(recording(), 1))
    reply = session.receive_data(encode_hello(100, 150))
    assert reply == type(reply)(b"", close=True)


def test_the_same_requests_get_the_recorded_answers_byte_for_byte() -> None:
    rec = recording()
    session = opened(rec)
    sent = b""
    for direction, msg in CONVERSATION:
        if direction is IN:
            sent += session.receive_data(encode(msg)).data
    recorded = b"".join(f.raw for f in rec.frames if f.direction is OUT)[len(REPLY):]
    assert sent == recorded and session.finished and session.unmatched == []


def test_ids_follow_the_new_client() -> None:
    session = opened()
    got = answers(session.receive_data(encode(m.StartApi(client_id=9))).data)
    assert got[1] == m.NextValidId(order_id=5)  # the gateway's own number: not an echo
    got = answers(session.receive_data(encode(m.ReqContractDetails(req_id=42,
                                                                   contract=AAPL))).data)
    assert [g.req_id for g in got] == [42, 42]  # type: ignore[attr-defined]
    got = answers(session.receive_data(encode(m.PlaceOrder(order_id=60, contract=AAPL))).data)
    status, execution, warning = got
    assert isinstance(status, m.OrderStatus) and (status.order_id, status.client_id) == (60, 9)
    assert isinstance(execution, m.ExecDetails)
    assert (execution.req_id, execution.order_id, execution.client_id) == (-1, 60, 9)
    assert isinstance(warning, m.ErrorMsg) and warning.req_id == 60
    assert status.perm_id == 99 and execution.exec_id == "e1"  # the rest as recorded


def test_answers_wait_for_every_request_recorded_before_theirs() -> None:
    session = opened()
    session.receive_data(encode(m.StartApi(client_id=1)))
    early = session.receive_data(encode(m.ReqCurrentTime()))
    assert early.data == b""  # recorded after the contract details and the order
    got = answers(session.receive_data(encode(m.ReqContractDetails(req_id=5,
                                                                   contract=AAPL))).data)
    assert [type(g).__name__ for g in got] == ["ContractData", "ContractDataEnd"]
    got = answers(session.receive_data(encode(m.PlaceOrder(order_id=6))).data)
    assert [type(g).__name__ for g in got] == [
        "OrderStatus", "ExecDetails", "ErrorMsg", "CurrentTime"]


def test_requests_nobody_recorded_get_nothing_and_are_listed() -> None:
    session = opened()
    session.receive_data(encode(m.StartApi(client_id=1)))
    assert session.receive_data(encode(m.ReqPositions())).data == b""
    assert session.receive_data(encode(m.ReqContractDetails(req_id=5))).data != b""
    assert session.receive_data(encode(m.ReqContractDetails(req_id=8))).data == b""
    assert session.unmatched == ["ReqPositions", "ReqContractDetails"]


def test_a_connection_the_gateway_closed_is_closed_after_its_last_answer() -> None:
    refused = ((IN, m.StartApi(client_id=1)),
               (OUT, m.ErrorMsg(req_id=-1, code=326, text="client id in use")))
    session = opened(recording(refused, closed_by="gateway"))
    reply = session.receive_data(encode(m.StartApi(client_id=1)))
    assert reply.close and [getattr(a, "code", None) for a in answers(reply.data)] == [326]
