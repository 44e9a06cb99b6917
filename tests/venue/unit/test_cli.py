"""`horizon-ibkr` usage mistakes: one line on stderr, exit code 2, never a traceback."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from horizon.cli import main

REPLAY = Path(__file__).parents[2] / "fixtures" / "replay"


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--port", "70000"], "70000 is not a port"),
        (["--port", "x"], "'x' is not a port number"),
        (["--timezone", "Mars/Base"], "'Mars/Base' is not a time zone name"),
        (["--accounts", ""], "give at least one account id"),
        (["--accounts", "xx,  ,DU1"], "empty account id"),
        (["--accounts", "xx,DU1"], "'xx': not an IB account id"),
        (["--pacing-limit", "0"], "must be at least 1, got 0"),
        (["--pacing-limit", "-5"], "must be at least 1, got -5"),
        (["--host", "10.255.255.1", "--port", "0"], "cannot listen on 10.255.255.1:0"),
        (["--replay-start", "soon"], "'soon' is not an ISO 8601 time"),
        (["--market-data", "no-such.csv"], "no-such.csv, line 0: cannot read the file"),
        (["--market-data", str(REPLAY / "unknown_symbol.csv")],
         "unknown_symbol.csv, line 3: 'ZZZZ' names no instrument"),
    ],
)
def test_sim_refuses_bad_values_in_one_line(
    args: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as done:
        raise SystemExit(main(["sim", *args]))
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert said in err and err.count("\n") == 1 and "Traceback" not in err


def test_sim_on_a_busy_port_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        assert main(["sim", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1:{port}" in err and err.count("\n") == 1


def test_help_shows_defaults_and_version_is_there(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["sim", "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert "(default: 4002)" in out and "(default: DU1234567)" in out
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.startswith("horizon-ibkr ")
