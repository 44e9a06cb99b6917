"""`horizon-ibkr tap | tap check | replay` usage mistakes: one line on stderr, exit code 2."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from horizon.cli import main
from horizon.tap.recorder import Recorder
from horizon.tap.wire import Direction
from horizon.venues.ibkr.simulator import messages as m
from horizon.venues.ibkr.simulator.codec import encode, encode_hello, frame_fields


@pytest.fixture
def empty(tmp_path: Path) -> Path:
    path = tmp_path / "empty.jsonl"
    path.write_text('{"type":"header","format":"horizon-tap","format_version":1}\n')
    return path


@pytest.fixture
def recording(tmp_path: Path) -> Path:
    """A connection's opening: the hello, the version reply, startApi."""
    path = tmp_path / "session.jsonl"
    recorder = Recorder(record=path)
    conn = recorder.connection(1)
    conn.data(Direction.IN, encode_hello(157, 178))
    conn.data(Direction.OUT, frame_fields(["178", "20250115 09:30:00 EST"]))
    conn.data(Direction.IN, encode(m.StartApi(client_id=1)))
    conn.closed("client")
    recorder.close()
    return path


@pytest.fixture
def free_port() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    yield port


def fails(args: list[str], said: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        raise SystemExit(main(args))
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert said in err and err.count("\n") == 1 and "Traceback" not in err, err


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["tap", "--listen", "4012"], "'4012' is not HOST:PORT (e.g. 127.0.0.1:4002)"),
        (["tap", "--upstream", "127.0.0.1:70000"], "70000 is not a port"),
        (["tap", "--upstream", "127.0.0.1:x"], "'x' is not a port number"),
        (["tap", "--upstream", "127.0.0.1:4001"], "port 4001 is a known IBKR LIVE port"),
        (["tap", "--upstream", "127.0.0.1:7496"], "pass --allow-live"),
        (["tap", "--record", "/no/such/dir/s.jsonl"], "cannot write /no/such/dir/s.jsonl"),
        (["tap", "frob"], "invalid choice: 'frob'"),
        (["tap", "check", "missing.jsonl"], "no such recording file: missing.jsonl"),
        (["replay", "missing.jsonl"], "no such recording file: missing.jsonl"),
        (["replay", "--port", "-1", "missing.jsonl"], "-1 is not a port"),
    ],
)
def test_bad_values_are_one_line(
    args: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    fails(args, said, capsys)


def test_a_file_that_is_not_a_recording(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "notes.txt"
    bad.write_text("hello\n")
    fails(["tap", "check", str(bad)], "notes.txt:1: not JSON", capsys)
    fails(["replay", str(bad)], "give a file written by `horizon-ibkr tap --record`", capsys)


def test_check_refuses_live_ports_and_says_when_nothing_listens(
    recording: Path, free_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    fails(["tap", "check", str(recording), "--port", "4001"], "known IBKR LIVE port", capsys)
    fails(["tap", "check", str(recording), "--port", str(free_port)],
          f"nothing accepted a connection on 127.0.0.1:{free_port}", capsys)


def test_an_empty_recording_or_a_busy_port(
    empty: Path, recording: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fails(["replay", str(empty)], "holds no connection that got past the handshake", capsys)
    fails(["tap", "check", str(empty)], "holds no connection that sent a hello", capsys)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        fails(["replay", str(recording), "--port", str(port)],
              f"cannot listen on 127.0.0.1:{port}", capsys)
        kept = recording.read_text()
        fails(["tap", "--listen", f"127.0.0.1:{port}", "--record", str(recording)],
              f"cannot listen on 127.0.0.1:{port}", capsys)
        assert recording.read_text() == kept  # a port typo does not cost a recording


def test_help_shows_the_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["tap", "--help"])
    assert done.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "(default: 127.0.0.1:4012)" in out and "(default: 127.0.0.1:4002)" in out
    assert "--allow-live" in out and "check" in out
    with pytest.raises(SystemExit):
        main(["replay", "--help"])
    assert "(default: 4002)" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "{sim,doctor,demo,tap,replay}" in capsys.readouterr().out
