"""`horizon-ibkr doctor` without sockets: the verdicts, the table and the JSON object."""

from __future__ import annotations

import io
import json
import re

import pytest

from horizon.cli import _wants_color, build_parser, render_doctor
from horizon.errors import ConfigurationError
from horizon.venues.ibkr.doctor import (
    CHECK_NAMES,
    Check,
    CheckStatus,
    DoctorOptions,
    DoctorReport,
    MarketDataProbe,
    accounts_check,
    clock_check,
    farms_check,
    handshake_check,
    market_data_check,
    port_mode_check,
    report_to_dict,
)

OK, WARN, FAIL, SKIP = CheckStatus.OK, CheckStatus.WARN, CheckStatus.FAIL, CheckStatus.SKIP
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def report(*statuses: CheckStatus, elapsed: float = 0.25) -> DoctorReport:
    """A report whose i-th check has statuses[i] (OK for the rest)."""
    checks = []
    for i, name in enumerate(CHECK_NAMES):
        status = statuses[i] if i < len(statuses) else OK
        fix = "" if status is OK else f"do something about {name}"
        checks.append(Check(name=name, status=status, detail=f"{name} detail", fix=fix))
    return DoctorReport(
        options=DoctorOptions(host="gw.example", port=4002, client_id=99, timeout=4),
        checks=tuple(checks),
        elapsed_s=elapsed,
        server_version=178,
        accounts=("DU1234567",),
    )


# ---- verdicts ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("port", "paper", "status", "words"),
    [
        (4002, True, OK, "IB Gateway paper port"),
        (7496, False, OK, "TWS live port"),
        (7496, True, FAIL, "--paper was given"),
        (4002, False, FAIL, "PAPER port, but --live"),
        (4004, True, WARN, "not a known IBKR port"),
    ],
)
def test_port_mode_is_the_safety_valve(port: int, paper: bool, status: CheckStatus, words: str):
    check = port_mode_check(port, paper)
    assert check.status is status
    assert words in check.detail
    if status is FAIL:
        assert ("--live" if paper else "--paper") in check.fix


def test_accounts_must_match_the_mode() -> None:
    assert accounts_check(["DU1234567", "DF7654321"], paper=True).status is OK
    assert accounts_check(["U1234567"], paper=False).status is OK
    live_on_paper = accounts_check(["U1234567"], paper=True)
    assert live_on_paper.status is FAIL
    assert "LIVE" in live_on_paper.detail and "U1234567" in live_on_paper.detail
    assert "real money" in live_on_paper.fix
    paper_on_live = accounts_check(["DU1234567"], paper=False)
    assert paper_on_live.status is FAIL and "PAPER" in paper_on_live.detail
    mixed = accounts_check(["DU1", "U2"], paper=True)
    assert mixed.status is FAIL and "U2" in mixed.detail and "DU1" not in mixed.detail
    empty = accounts_check(["", " "], paper=True)
    assert empty.status is FAIL and "no managed accounts" in empty.detail


def test_clock_in_step_skewed_and_slow() -> None:
    # gateway says 1000 (i.e. 1000.0-1000.999); host midpoint 1000.4: in step
    in_step = clock_check(1000, sent_at=1000.39, received_at=1000.41)
    assert in_step.status is OK and "in step" in in_step.detail and "20.0 ms" in in_step.detail
    ahead = clock_check(1030, sent_at=1000.0, received_at=1000.01)
    assert ahead.status is WARN and "ahead of" in ahead.detail and "NTP" in ahead.fix
    behind = clock_check(990, sent_at=1000.0, received_at=1000.01)
    assert behind.status is WARN and "behind" in behind.detail
    slow = clock_check(1001, sent_at=1000.0, received_at=1001.6)
    assert slow.status is WARN and "slowly" in slow.fix
    # 2 s is the line: 2.4 s off warns, 1.4 s off does not
    assert clock_check(1002, sent_at=1000.1, received_at=1000.1).status is WARN
    assert clock_check(1001, sent_at=1000.1, received_at=1000.1).status is OK


def test_farms_last_notice_wins() -> None:
    fine = [
        (2104, "Market data farm connection is OK:usfarm"),
        (2106, "HMDS data farm connection is OK:ushmds"),
        (2158, "Sec-def data farm connection is OK:secdefnj"),
    ]
    ok = farms_check(fine)
    assert ok.status is OK
    assert "usfarm OK" in ok.detail and "secdefnj OK" in ok.detail
    broken = farms_check([*fine, (2103, "Market data farm connection is broken:usfarm")])
    assert broken.status is WARN and "usfarm broken" in broken.detail
    assert "market data usfarm" in broken.fix
    healed = farms_check([(2103, "...broken:usfarm"), (2104, "...is OK:usfarm")])
    assert healed.status is OK
    on_demand = farms_check([(2108, "inactive but should be available upon demand.:usfarm")])
    assert on_demand.status is OK
    assert farms_check([(2119, "Market data farm is connecting:usfarm")]).status is WARN
    none = farms_check([(2100, "something else")])
    assert none.status is WARN and "no market-data farm notices" in none.detail
    lost = farms_check([*fine, (1100, "Connectivity between IB and TWS has been lost.")])
    assert lost.status is WARN and "1100" in lost.detail
    back = farms_check([*fine, (1100, "lost"), (1102, "restored - data maintained")])
    assert back.status is OK


@pytest.mark.parametrize(
    ("live", "delayed", "status", "words"),
    [
        (MarketDataProbe(tick_types=frozenset({1, 2, 4})), None, OK, "real-time data permitted"),
        (MarketDataProbe(tick_types=frozenset({66, 67})), None, WARN, "only delayed"),
        (MarketDataProbe(errors=(10167,)), None, WARN, "only delayed"),
        (
            MarketDataProbe(errors=(354,)),
            MarketDataProbe(errors=(10167,), tick_types=frozenset({68})),
            WARN,
            "delayed data works",
        ),
        (
            MarketDataProbe(errors=(354,)),
            MarketDataProbe(errors=(10168,)),
            WARN,
            "neither real-time (error 354) nor delayed data (error 10168)",
        ),
        (
            MarketDataProbe(errors=(10197,)),
            MarketDataProbe(errors=(10197,)),
            WARN,
            "competing live session",
        ),
        (MarketDataProbe(errors=(200,)), None, WARN, "no such US stock"),
        (MarketDataProbe(), None, WARN, "no market data answer"),
    ],
)
def test_market_data_permissions(
    live: MarketDataProbe, delayed: MarketDataProbe | None, status: CheckStatus, words: str
) -> None:
    check = market_data_check("AAPL", live, delayed)
    assert check.status is status
    assert words in check.detail
    if words in ("only delayed", "delayed data works"):
        assert "Market Data" in check.fix and "reqMarketDataType(3)" in check.fix


def test_market_data_without_a_probe_symbol_is_skipped() -> None:
    assert market_data_check(None, None).status is SKIP
    assert market_data_check("", MarketDataProbe()).status is SKIP


def test_handshake_reply() -> None:
    ok, version = handshake_check(["178", "20250115 09:30:00 EST"], 0.002)
    assert ok.status is OK and version == 178 and "server version 178" in ok.detail
    old, version = handshake_check(["150", "20250115 09:30:00 EST"], 0.002)
    assert old.status is FAIL and version == 150 and "157" in old.detail
    junk, version = handshake_check(["HTTP/1.1 400 Bad Request"], 0.0)
    assert junk.status is FAIL and version is None and "not a TWS API handshake" in junk.detail


def test_farms_and_market_data_are_advisory() -> None:
    with pytest.raises(ValueError, match="advisory"):
        Check(name="farms", status=FAIL, detail="x", fix="y")
    with pytest.raises(ValueError, match="unknown check"):
        Check(name="disk", status=OK, detail="x")
    assert Check(name="tcp", status=OK, detail="x").required
    assert not Check(name="market_data", status=WARN, detail="x", fix="y").required


def test_report_is_ok_unless_something_failed() -> None:
    assert report().ok
    assert report(OK, OK, WARN, OK, OK, WARN, WARN, WARN).ok
    assert not report(OK, FAIL).ok
    assert not report(FAIL, SKIP, WARN, SKIP, SKIP, SKIP, SKIP, SKIP).ok


def test_options_are_validated() -> None:
    with pytest.raises(ConfigurationError):
        DoctorOptions(port=0)
    with pytest.raises(ConfigurationError):
        DoctorOptions(client_id=1000)
    with pytest.raises(ConfigurationError):
        DoctorOptions(timeout=0)
    o = DoctorOptions()
    assert (o.client_id, o.paper, o.timeout, o.budget) == (99, True, 4.0, 9.5)


# ---- the table ---------------------------------------------------------------------------


def test_plain_table_has_every_check_and_fixes_only_for_problems() -> None:
    text = render_doctor(report(OK, FAIL, WARN))
    assert "\x1b[" not in text
    lines = text.splitlines()
    assert lines[0] == "horizon-ibkr doctor: gw.example:4002, paper, clientId 99, timeout 4 s"
    for name in CHECK_NAMES:
        row = re.compile(rf"  (OK|WARN|FAIL|SKIP)\s+{name}\s+{name} detail$")
        assert any(row.match(line) for line in lines), name
    assert "fix: do something about handshake" in text
    assert "fix: do something about port_mode" in text
    assert text.count("fix:") == 2
    assert lines[-1] == "FAIL: 7 ok, 1 warn, 1 fail, 0 skipped (failed: handshake) in 0.25 s"


def test_passing_table_ends_ok() -> None:
    assert render_doctor(report(OK, OK, WARN)).splitlines()[-1].startswith("OK: 8 ok, 1 warn")


def test_colour_is_only_decoration() -> None:
    r = report(OK, FAIL, WARN, OK, OK, OK, OK, SKIP)
    plain = render_doctor(r)
    coloured = render_doctor(r, color=True)
    assert "\x1b[32mOK  \x1b[0m" in coloured
    assert "\x1b[1;31mFAIL\x1b[0m" in coloured
    assert "\x1b[33mWARN\x1b[0m" in coloured
    assert ANSI.sub("", coloured) == plain


def test_width_wraps_long_details_under_their_column() -> None:
    long = Check(name="port_mode", status=WARN, detail="word " * 40, fix="fix " * 30)
    r = report()
    r = DoctorReport(
        options=r.options,
        checks=tuple(long if c.name == "port_mode" else c for c in r.checks),
        elapsed_s=1.0,
    )
    text = render_doctor(r, width=60)
    assert all(len(line) <= 60 for line in text.splitlines()[1:])
    wrapped = [ln for ln in text.splitlines() if ln.startswith(" " * 21) and ln.strip()]
    assert len(wrapped) > 4  # continuation lines sit under the DETAIL column
    unwrapped = render_doctor(r)
    assert any(len(line) > 100 for line in unwrapped.splitlines())


# ---- JSON --------------------------------------------------------------------------------


def test_json_object_shape() -> None:
    data = json.loads(json.dumps(report_to_dict(report(OK, OK, WARN, FAIL))))
    assert data["ok"] is False
    assert (data["host"], data["port"], data["mode"], data["client_id"]) == (
        "gw.example",
        4002,
        "paper",
        99,
    )
    assert data["server_version"] == 178
    assert data["accounts"] == [{"id": "DU1234567", "paper": True}]
    assert [c["name"] for c in data["checks"]] == list(CHECK_NAMES)
    assert {tuple(sorted(c)) for c in data["checks"]} == {
        ("detail", "fix", "name", "required", "status")
    }
    by_name = {c["name"]: c for c in data["checks"]}
    assert by_name["port_mode"]["status"] == "warn"
    assert by_name["client_id"]["status"] == "fail"
    assert by_name["client_id"]["fix"] == "do something about client_id"
    assert by_name["farms"]["required"] is False


# ---- the command line --------------------------------------------------------------------


class Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


def test_colour_only_on_a_terminal_without_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    assert _wants_color(Stream(tty=True))
    assert not _wants_color(Stream(tty=False))
    monkeypatch.setenv("NO_COLOR", "1")
    assert not _wants_color(Stream(tty=True))
    monkeypatch.setenv("NO_COLOR", "")  # no-color.org: an empty value does not count
    assert _wants_color(Stream(tty=True))
    monkeypatch.setenv("TERM", "dumb")
    assert not _wants_color(Stream(tty=True))


def test_doctor_arguments() -> None:
    args = build_parser().parse_args(["doctor", "--port", "4001", "--live", "--json"])
    assert (args.host, args.port, args.live, args.client_id, args.timeout) == (
        "127.0.0.1",
        4001,
        True,
        99,
        4.0,
    )
    assert args.json and args.probe_symbol == "AAPL"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["doctor", "--paper", "--live"])
