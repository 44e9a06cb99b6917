"""Reading replay files: the layouts, the time forms, and every mistake as a typed error that
names the file and the line; the replayed path's history and live feed."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from ibgateway_sim import GatewaySimulator
from ibgateway_sim.clock import ShiftedClock
from ibgateway_sim.engine.replay import (
    Kind,
    ReplayError,
    ReplayFormatError,
    ReplayGapError,
    ReplayOrderError,
    ReplaySetup,
    ReplayUnknownSymbol,
    parse_time,
    read_file,
)

FIXTURES = Path(__file__).parents[2] / "fixtures" / "replay"
T = dt.datetime(2024, 7, 22, 13, 30, tzinfo=dt.UTC).timestamp()
BAR_HEADER = "time,symbol,open,high,low,close,volume\n"


def write(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "zone"),
    [
        ("2024-07-22T13:30:00Z", ""),
        ("2024-07-22 09:30:00-04:00", ""),
        ("2024-07-22 09:30:00", "America/New_York"),
        ("20240722 09:30:00 America/New_York", ""),
        ("20240722 13:30:00", ""),
        ("20240722-13:30:00", "America/New_York"),  # IB's dash form is UTC whatever the zone
        ("1721655000", ""),
    ],
)
def test_every_time_form_reads_as_the_same_instant(text: str, zone: str) -> None:
    assert parse_time(text, zone, "f.csv", 2) == T


def test_both_layouts_and_their_symbols() -> None:
    (bars,) = read_file(str(FIXTURES / "aapl_1min.csv"))
    assert (bars.symbol, bars.kind, len(bars.rows)) == ("AAPL", Kind.BARS, 8)
    assert bars.rows[0].prices == tuple(Decimal(x) for x in ("227.01", "227.80", "226.90",
                                                              "227.55"))  # fmt: skip
    aapl, msft = read_file(str(FIXTURES / "ticks.csv"))
    assert (aapl.symbol, msft.symbol, aapl.kind) == ("AAPL", "MSFT", Kind.TICKS)
    assert msft.rows[1].time == T + 3 and msft.rows[1].line == 6  # a Z time next to zoned ones
    (one,) = read_file(str(FIXTURES / "msft_ticks.csv"), "MSFT")
    assert one.symbol == "MSFT"


@pytest.mark.parametrize(
    ("body", "line", "cls", "words"),
    [
        ("2024-07-22T13:30:00Z,AAPL,1,2,x,1,10\n", 2, ReplayFormatError, "low 'x' is not a number"),
        ("2024-07-22T13:30:00Z,AAPL,1,2,1,1,NaN\n", 2, ReplayFormatError, "not a finite"),
        ("2024-07-22T13:30:00Z,AAPL,3,2,1,1,10\n", 2, ReplayFormatError, "within low"),
        ("2024-07-22T13:30:00Z,AAPL,1,2,1,1,-5\n", 2, ReplayFormatError, "volume must be >= 0"),
        ("yesterday,AAPL,1,2,1,1,5\n", 2, ReplayFormatError, "is not ISO 8601"),
        ("2024-07-22T13:30:00Z,AAPL,1,2,1\n", 2, ReplayFormatError, "5 fields"),
        ("2024-07-22T13:31:00Z,AAPL,1,2,1,1,5\n2024-07-22T13:30:00Z,AAPL,1,2,1,1,5\n", 3,
         ReplayOrderError, "sort the file by time"),
        ("2024-07-22T13:31:00Z,AAPL,1,2,1,1,5\n2024-07-22T13:31:00Z,AAPL,1,2,1,1,5\n", 3,
         ReplayOrderError, "comes after"),
    ],
)
def test_bad_rows_are_typed_errors_naming_file_and_line(
    tmp_path: Path, body: str, line: int, cls: type[ReplayError], words: str
) -> None:
    path = write(tmp_path, BAR_HEADER + body)
    with pytest.raises(cls) as err:
        read_file(str(path))
    assert (err.value.file, err.value.line) == (str(path), line)
    assert words in str(err.value) and str(path) in str(err.value)


def test_a_header_without_the_columns_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ReplayFormatError, match="line 1: the header needs time"):
        read_file(str(write(tmp_path, "time,symbol,last\n1,AAPL,2\n")))
    with pytest.raises(ReplayFormatError, match="no symbol column"):
        read_file(str(write(tmp_path, "time,price,size\n1,2,3\n")))
    with pytest.raises(ReplayFormatError, match="cannot read the file"):
        read_file(str(tmp_path / "missing.csv"))


def test_the_simulator_refuses_unknown_symbols_and_off_grid_prices(tmp_path: Path) -> None:
    unknown = write(tmp_path, "time,symbol,price,size\n1721655000,AAPL,1,1\n"
                    "1721655001,NOPE,1.00,5\n")  # fmt: skip
    with pytest.raises(ReplayUnknownSymbol) as err:
        GatewaySimulator(market_data=unknown, clock=lambda: T)
    assert err.value.line == 3 and "'NOPE' names no instrument" in str(err.value)
    off_grid = write(tmp_path, "time,symbol,price,size\n1721655000,AAPL,227.005,1\n")
    with pytest.raises(ReplayFormatError, match=r"line 2: price 227.005 is not a multiple"):
        GatewaySimulator(market_data=off_grid, clock=lambda: T)


def test_gaps_are_measured_in_trading_time(tmp_path: Path) -> None:
    # Friday's last bar of the post market (19:59 New York) and Monday's first of the pre
    # market (04:00), then one ten minutes later
    path = write(tmp_path, BAR_HEADER + "2024-07-19T23:59:00Z,AAPL,1,1,1,1,5\n"
                 "2024-07-22T08:00:00Z,AAPL,1,1,1,1,5\n2024-07-22T08:10:00Z,AAPL,1,1,1,1,5\n")
    setup = ReplaySetup.of(path, max_gap=300, bar_seconds=60)
    with pytest.raises(ReplayGapError) as err:  # trading hours off: the weekend is trading time
        GatewaySimulator(market_data=setup, clock=lambda: T)
    assert err.value.line == 3
    with pytest.raises(ReplayGapError) as err:  # on: the weekend is closed, nine minutes not
        GatewaySimulator(market_data=setup, clock=lambda: T, trading_hours=True)
    assert err.value.line == 4 and "540 s of trading time since line 3" in str(err.value)
    GatewaySimulator(market_data=ReplaySetup.of(path), clock=lambda: T)  # any gap: it holds


def test_the_path_prints_each_bar_as_four_trades_and_feeds_the_rest_live() -> None:
    sim = GatewaySimulator(market_data=FIXTURES / "aapl_1min.csv", clock=lambda: T + 120)
    inst = sim.engine.market.instrument(sim.resolve("AAPL"))
    replay = sim.engine.market.replayed(inst.spec.con_id)
    assert replay is not None and replay.bar_seconds == 60
    prints = inst.trades(T, T + 60)
    assert [(p.time - T, p.price) for p in prints] == [
        (0, Decimal("227.01")), (15, Decimal("226.90")), (30, Decimal("227.80")),
        (45, Decimal("227.55")),
    ]  # a rising bar goes to its low first
    assert sum(p.size for p in prints) == 120400
    assert inst.trades(T + 120, T + 600) == []  # not printed yet: the clock is at 13:32
    due = replay.due(T + 150)
    assert [t.time - T for t in due] == [120, 135, 150]
    assert replay.due(T + 150) == [] and not replay.exhausted


def test_the_shifted_clock_starts_where_asked_and_runs() -> None:
    clock = ShiftedClock(T)
    first = clock()
    assert T <= first < T + 5 and clock() >= first
