"""Recordings: written as JSON lines, read back as the same frames; the live trace."""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from pathlib import Path

import pytest

from horizon.tap.decode import EventKind
from horizon.tap.errors import RecordingError
from horizon.tap.recorder import Recorder
from horizon.tap.recording import RecordedFrame, read_recording, write_recording
from horizon.tap.trace import format_frame
from horizon.tap.wire import Direction
from horizon.venues.ibkr.simulator import messages as m
from horizon.venues.ibkr.simulator.codec import encode, encode_hello, frame_fields

IN, OUT = Direction.IN, Direction.OUT
AAPL = m.Contract12(con_id=265598, symbol="AAPL", sec_type="STK", exchange="SMART",
                    currency="USD")


class Clock:
    def __init__(self) -> None:
        self.now = 1_736_951_400.0  # 2025-01-15 14:30:00 UTC

    def __call__(self) -> float:
        self.now += 0.001
        return self.now


def a_session(path: Path | None = None, *, redact: bool = True) -> list[RecordedFrame]:
    """One connection's worth of frames through a Recorder, every kind of frame in it."""
    seen: list[RecordedFrame] = []
    recorder = Recorder(record=path, redact=redact, upstream="127.0.0.1:4002",
                        on_frame=seen.append, clock=Clock())
    conn = recorder.connection(1)
    conn.data(IN, encode_hello(157, 178))
    conn.data(OUT, frame_fields(["178", "20250115 09:30:00 EST"]))
    conn.data(IN, encode(m.StartApi(client_id=7)))
    conn.data(OUT, encode(m.ManagedAccounts(accounts="DU1234567")))
    conn.data(IN, encode(m.PlaceOrder(order_id=6, contract=AAPL, action="BUY",
                                      total_quantity=Decimal(10), order_type="LMT",
                                      lmt_price=Decimal("190.05"), account="DU1234567")))
    conn.data(OUT, frame_fields(["999", "1", "hello"]) + frame_fields(["abc", "2"]))
    conn.data(IN, b"\xff\xff\xff\xff junk")
    conn.closed("client")
    recorder.close()
    return seen


def test_a_recording_reads_back_as_the_frames_written(tmp_path: Path) -> None:
    path = tmp_path / "session.jsonl"
    written = a_session(path)
    recording = read_recording(path)
    assert recording.frames == tuple(written)
    assert recording.redacted and recording.header["upstream"] == "127.0.0.1:4002"
    assert recording.closed_by == {1: "client"} and recording.connections() == [1]
    assert [f.kind for f in written] == [
        EventKind.HELLO, EventKind.VERSION, EventKind.MESSAGE, EventKind.MESSAGE,
        EventKind.MESSAGE, EventKind.MESSAGE, EventKind.MESSAGE, EventKind.RAW,
    ]
    again = tmp_path / "again.jsonl"
    write_recording(again, recording.frames, redacted=True)
    assert read_recording(again).frames == recording.frames


def test_each_line_holds_time_direction_ids_raw_and_fields(tmp_path: Path) -> None:
    path = tmp_path / "session.jsonl"
    a_session(path)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["type"] for line in lines[:2]] == ["header", "open"]
    assert lines[-1] == {"type": "close", "ts": lines[-1]["ts"], "conn": 1, "by": "client"}
    order = next(line for line in lines if line.get("name") == "PlaceOrder")
    assert order["ts"].startswith("2025-01-15T14:30:00.") and order["ts"].endswith("Z")
    assert (order["direction"], order["conn"], order["client_id"]) == ("in", 1, 7)
    assert order["fields"]["lmt_price"] == "190.05"  # Decimals as strings
    assert order["fields"]["contract"]["symbol"] == "AAPL"
    assert order["fields"]["account"] == "DU0000001"
    assert "fa_profile" not in order["fields"]  # not on the wire at 178
    assert b"DU0000001" in base64.b64decode(order["raw"])
    unknown = next(line for line in lines if line.get("name") == "msg999")
    assert unknown["unknown"] is True and unknown["values"] == ["999", "1", "hello"]
    bad = next(line for line in lines if line.get("values") == ["abc", "2"])
    assert "not an integer" in bad["error"]
    raw = next(line for line in lines if line.get("kind") == "raw")
    assert raw["direction"] == "in" and "exceeds" in raw["error"]


def test_without_redaction_the_recording_is_as_sent(tmp_path: Path) -> None:
    path = tmp_path / "session.jsonl"
    a_session(path, redact=False)
    assert "DU1234567" in path.read_text() and not read_recording(path).redacted


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (None, "no such file"),
        ("", "is empty"),
        ('{"type": "frame"}\n', "does not start with a horizon-tap header"),
        ('{"type":"header","format":"horizon-tap","format_version":1}\nnot json\n',
         "session.jsonl:2: not JSON"),
        ('{"type":"header","format":"horizon-tap","format_version":9}\n', "format version 9"),
        ('{"type":"header","format":"horizon-tap","format_version":1}\n{"type":"frame"}\n',
         "session.jsonl:2: bad frame line"),
    ],
)
def test_a_file_that_is_not_a_recording_is_said_so(
    tmp_path: Path, text: str | None, said: str
) -> None:
    path = tmp_path / "session.jsonl"
    if text is not None:
        path.write_text(text)
    with pytest.raises(RecordingError) as caught:
        read_recording(path)
    assert said in str(caught.value) and "horizon-ibkr tap --record" in str(caught.value)


def test_the_trace_shows_arrow_client_name_ids_and_key_fields() -> None:
    frames = a_session()
    lines = [format_frame(f) for f in frames]
    assert lines[0].endswith("#1 c? -> hello              v157..178")
    assert lines[1].endswith("<- version            178 20250115 09:30:00 EST")
    assert lines[0].startswith("14:30:00.001000")
    assert "#1 c7 -> StartApi" in lines[2]
    assert "<- ManagedAccounts    accounts=DU0000001" in lines[3]
    assert lines[4].endswith(
        "-> PlaceOrder         order_id=6 action=BUY total_quantity=10 contract.symbol=AAPL "
        "order_type=LMT lmt_price=190.05 account=DU0000001"
    )
    assert lines[5].endswith("<- msg999             [999 1 hello]  (unknown message)")
    assert "<- ?" in lines[6] and "! not an integer: 'abc'" in lines[6]
    assert "-> raw" in lines[7] and "! length prefix" in lines[7]
    full = format_frame(frames[4], full=True)
    assert "contract.con_id=265598" in full and "outside_rth=0" in full and "tif=\"\"" in full
