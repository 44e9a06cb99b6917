"""`horizon-ibkr`: sim | doctor | demo (| tap | replay, from horizon.tap.cli). The only module,
with horizon.tap.cli, that prints or exits."""

from __future__ import annotations

import argparse
import re
import signal
import sys
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from horizon.tap.cli import register as register_tap

if TYPE_CHECKING:
    from horizon.venues.ibkr.doctor import DoctorReport


def _cmd_sim(args: argparse.Namespace) -> int:
    from ibgateway_sim import GatewaySimulator
    from ibgateway_sim.process import tune_collector

    version = args.max_server_version
    pinned: dict[str, Any] = {} if version is None else {"max_server_version": version}
    if args.market_data is not None:
        from ibgateway_sim.clock import ShiftedClock
        from ibgateway_sim.engine.replay import ReplayError, ReplaySetup

        replay = ReplaySetup.of(args.market_data, max_gap=args.max_gap)
        try:
            start = args.replay_start if args.replay_start is not None else replay.start_time()
        except ReplayError as exc:
            return _fail("sim", str(exc))
        pinned.update(market_data=replay, clock=ShiftedClock(start))
    try:
        sim = GatewaySimulator(
            host=args.host,
            port=args.port,
            accounts=args.accounts,
            seed=args.seed,
            timezone=args.timezone,
            pacing_limit=None if args.no_pacing else args.pacing_limit,
            **pinned,
        )
    except ValueError as exc:  # a replay file's ReplayError names the file and line
        return _fail("sim", str(exc))
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        sim.start()
    except OSError as exc:  # busy port, an address this host does not have, ...
        reason = exc.strerror or str(exc)
        return _fail("sim", f"cannot listen on {args.host}:{args.port}: {reason}")
    tune_collector()  # this process is the simulator: its history is what the collector walks
    print(f"listening on {sim.host}:{sim.port}", flush=True)
    print(f"API server versions up to {sim.options.max_server_version}", flush=True)
    print(f"accounts: {','.join(args.accounts)}  (Ctrl-C to stop)", flush=True)
    try:
        stop.wait()
    finally:
        sim.stop()
    print("simulator stopped", flush=True)
    return 0


def _fail(command: str, message: str) -> int:
    """One line on stderr and exit code 2: a usage mistake, not a crash."""
    print(f"horizon-ibkr {command}: error: {message}", file=sys.stderr)
    return 2


# ---- argument types: each refuses a bad value with one sentence ------------------------------

_ACCOUNT = re.compile(r"[A-Z]{1,3}[0-9]{1,12}")


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port (0..65535; 0 = any free port)")
    return port


def _server_version(text: str) -> int:
    from ibgateway_sim.wire.thresholds import SPOKEN, is_spoken

    spoken = " or ".join(f"{r.start}..{r.stop - 1}" for r in SPOKEN)
    try:
        version = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a server version") from None
    if not is_spoken(version):
        raise argparse.ArgumentTypeError(f"{version} is not spoken by the simulator ({spoken})")
    return version


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _accounts(text: str) -> list[str]:
    parts = [p.strip() for p in text.split(",")]
    if not any(parts):
        raise argparse.ArgumentTypeError("give at least one account id, e.g. DU1234567")
    if not all(parts):
        raise argparse.ArgumentTypeError(f"{text!r} has an empty account id between commas")
    bad = [p for p in parts if not _ACCOUNT.fullmatch(p)]
    if bad:
        raise argparse.ArgumentTypeError(
            f"{', '.join(map(repr, bad))}: not an IB account id (letters then digits, "
            "e.g. DU1234567)"
        )
    return parts


def _instant(text: str) -> float:
    """An ISO 8601 time (UTC unless it has an offset) as epoch seconds."""
    import datetime as dt

    try:
        stamp = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 time, e.g. 2024-07-22T13:30:00Z"
        ) from None
    return (stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)).timestamp()


def _zone(text: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a time zone name (IANA, e.g. US/Eastern or UTC)"
        ) from None
    return text


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage mistake said in one line (exit code 2) instead of the usage
    block: `horizon-ibkr sim: error: argument --port: 70000 is not a port (0..65535; ...)`."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("horizon-ibkr")
    except PackageNotFoundError:  # pragma: no cover - a source tree without metadata
        return "unknown"


def _start_demo_gateway(port: int) -> object:
    """The simulator on the quickstart's own port (7497) if free, else on any free port."""
    from ibgateway_sim import GatewaySimulator

    for candidate in (port, 0):
        sim = GatewaySimulator(host="127.0.0.1", port=candidate, accounts=["DU1234567"], seed=7)
        try:
            sim.start()
        except OSError:
            continue
        return sim
    raise SystemExit("could not start the embedded simulator")


def demo_orders() -> tuple[tuple[str, dict[str, Any]], ...]:
    """What the demo places: one of each order type the spec ships, then a few of IB's
    others (an algo, a condition, an auction order): (label, OrderAction fields)."""
    from horizon.core.algos import Adaptive
    from horizon.core.conditions import PriceCondition

    return (
        *DEMO_ORDERS,
        ("midprice buy 5 AAPL capped 191.00", {"market_id": "AAPL", "side": "buy", "quantity": 5,
                                               "order_type": "midprice", "limit_price": "191.00"}),
        ("market buy 5 AAPL, Adaptive algo", {"market_id": "AAPL", "side": "buy", "quantity": 5,
                                              "algo": Adaptive(priority="urgent")}),
        ("limit buy 5 AAPL @ 185.50 if AAPL >= 189", {
            "market_id": "AAPL", "side": "buy", "quantity": 5, "order_type": "limit",
            "limit_price": "185.50", "conditions": [PriceCondition("AAPL", "189.00")]}),
        ("market-on-close sell 5 AAPL", {"market_id": "AAPL", "side": "sell", "quantity": 5,
                                         "order_type": "market_on_close"}),
    )  # fmt: skip


# One of each order type the spec ships: (label, OrderAction fields).
DEMO_ORDERS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("market buy 10 AAPL", {"market_id": "AAPL", "side": "buy", "quantity": 10}),
    ("limit buy 5 AAPL @ 185.00 GTC", {"market_id": "AAPL", "side": "buy", "quantity": 5,
                                       "order_type": "limit", "limit_price": "185.00",
                                       "tif": "GTC"}),
    ("stop sell 5 AAPL @ 180.00", {"market_id": "AAPL", "side": "sell", "quantity": 5,
                                   "order_type": "stop", "stop_price": "180.00"}),
    ("stop-limit buy 5 AAPL 200.00/201.00", {"market_id": "AAPL", "side": "buy", "quantity": 5,
                                             "order_type": "stop_limit", "stop_price": "200.00",
                                             "limit_price": "201.00"}),
    ("trailing stop sell 5 AAPL 2%", {"market_id": "AAPL", "side": "sell", "quantity": 5,
                                      "order_type": "trailing_stop", "trail_percent": "2"}),
    ("market buy 1 ES future", {"market_id": "FUT:ES:202503:CME", "side": "buy", "quantity": 1}),
    ("market buy 20,000 EUR.USD", {"market_id": "FX:EUR.USD", "side": "buy", "quantity": 20000}),
)  # fmt: skip
_RULE = "-" * 72


def _show_balances(ibkr: Any) -> None:
    print(">>> print(ibkr.balance())")
    for b in ibkr.balance():
        extra = "".join(
            f"  {name} {value:,.2f}"
            for name, value in (("net liq", b.net_liquidation), ("buying power", b.buying_power))
            if value is not None
        )
        print(f"  {b.account} {b.currency:<4}: cash {b.cash:,.2f}{extra}")


def _show_fills_and_positions(ibkr: Any, filled_orders: int) -> None:
    print("fills (drain_fills):")
    for f in ibkr.wait_fills(filled_orders, timeout=10) + ibkr.drain_fills():
        print(
            f"  {f.timestamp:%H:%M:%S}Z {f.market_id:<18} {f.side.value:<4} "
            f"{f.quantity:>7} @ {f.price:<10} fee {f.fee} {f.fee_currency}  {f.exec_id}"
        )
    print("positions:")
    for p in ibkr.positions():
        print(f"  {p.account} {p.market_id:<18} {p.quantity:>8} avg cost {p.avg_cost}")


def _trade_every_order_type(ibkr: Any) -> int:
    """Place, amend and cancel the demo's orders; how many of them filled."""
    from decimal import Decimal

    from horizon.core import OrderAction, OrderStatus

    ids: dict[str, str] = {}
    for label, fields in demo_orders():
        oid = ibkr.submit(OrderAction(**fields))
        ids[oid] = label
        status = ibkr.wait_for_status(
            oid, OrderStatus.ACCEPTED, OrderStatus.FILLED, OrderStatus.REJECTED, timeout=10
        )
        print(f"  submit {label:<40} -> order {oid:>4}: {status.value}")
    limit_id = next(o for o, label in ids.items() if label.startswith("limit"))
    ibkr.amend(limit_id, limit_price=Decimal("186.00"))
    print(f"  amend order {limit_id} limit -> 186.00")
    print(f"  cancel_all('AAPL') -> {ibkr.cancel_all('AAPL')}")
    for oid in ids:
        ibkr.wait_for_status(oid, timeout=10)
    print(_RULE)
    print("order statuses:")
    for oid, label in ids.items():
        print(f"  {oid:>4} {label:<40} {ibkr.order_status(oid).value}")
    return sum(1 for oid in ids if ibkr.order_status(oid) is OrderStatus.FILLED)


def _demo_metrics(ibkr: Any) -> Any:
    """A private Prometheus registry with the demo venue in it, if the extra is installed."""
    try:
        from prometheus_client import CollectorRegistry
    except ImportError:
        return None
    from horizon.venues.ibkr import metrics

    registry = CollectorRegistry()
    metrics.register(ibkr, registry)
    return registry


def _show_metrics(registry: Any) -> None:
    if registry is None:
        print("metrics: pip install 'horizon-ibkr[metrics]' to see them")
        return
    from prometheus_client import generate_latest

    print("metrics (what /metrics serves, a few of them):")
    wanted = ("orders_submitted", "orders_final", "fills_total", "fees_total", "connected",
              "submit_ack_seconds_count", "requests_total")  # fmt: skip
    for line in generate_latest(registry).decode().splitlines():
        if not line.startswith("#") and any(w in line for w in wanted):
            print(f"  {line}")


def _cmd_demo(args: argparse.Namespace) -> int:
    import logging
    from decimal import Decimal

    from horizon.venues.ibkr import Ibkr

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    sim: Any = _start_demo_gateway(args.port)
    try:
        print(f"embedded IB Gateway simulator listening on {sim.host}:{sim.port}")
        sim.set_price("AAPL", Decimal("190.00"))
        print(_RULE)
        print(f">>> ibkr = Ibkr(host='127.0.0.1', port={sim.port}, client_id=1, paper=True)")
        print(">>> ibkr.connect()")
        with Ibkr(host="127.0.0.1", port=sim.port, client_id=1, paper=True) as ibkr:
            registry = _demo_metrics(ibkr)
            healthy = ibkr.health_check()
            rtt_ms = 1000 * (ibkr.last_health.rtt_s if ibkr.last_health else 0)
            print(
                f"connected: accounts {ibkr.managed_accounts()}, health {healthy}, "
                f"rtt {rtt_ms:.2f} ms"
            )
            _show_balances(ibkr)
            print(_RULE)
            filled = _trade_every_order_type(ibkr)
            _show_fills_and_positions(ibkr, filled)
            _show_metrics(registry)
        print(_RULE)
        print("disconnected; demo done")
    finally:
        sim.stop()
    return 0


# ---------------------------------------------------------------------------------------------
# doctor

_BOLD, _DIM, _RESET = "\x1b[1m", "\x1b[2m", "\x1b[0m"


def _paint(text: str, style: str, color: bool) -> str:
    return f"{style}{text}{_RESET}" if color else text


def render_doctor(report: DoctorReport, *, color: bool = False, width: int | None = None) -> str:
    """The doctor's table for people: a row per check, its fix under it. Pure.

    `color` adds ANSI colours (the caller decides: a TTY and no NO_COLOR); `width` wraps
    details and fixes to a terminal (None never wraps, so log lines stay greppable)."""
    import textwrap

    from horizon.venues.ibkr.doctor import CHECK_NAMES, CheckStatus

    ansi = {
        CheckStatus.OK: "\x1b[32m",
        CheckStatus.WARN: "\x1b[33m",
        CheckStatus.FAIL: "\x1b[1;31m",
        CheckStatus.SKIP: _DIM,
    }
    o = report.options
    name_w = max(len(n) for n in CHECK_NAMES)
    indent = " " * (2 + 4 + 2 + name_w + 2)
    room = None if width is None else max(20, width - len(indent))

    def lines(text: str) -> list[str]:
        return [text] if room is None else textwrap.wrap(text, room) or [""]

    out = [
        f"horizon-ibkr doctor: {o.host}:{o.port}, {o.mode}, clientId {o.client_id}, "
        f"timeout {o.timeout:g} s",
        "",
        _paint(f"  {'':4}  {'CHECK':<{name_w}}  DETAIL", _DIM, color),
    ]
    for c in report.checks:
        label = _paint(f"{c.status.value.upper():<4}", ansi[c.status], color)
        detail = lines(c.detail)
        out.append(f"  {label}  {c.name:<{name_w}}  {detail[0]}")
        out.extend(indent + rest for rest in detail[1:])
        if c.fix and c.status is not CheckStatus.OK:
            out.extend(indent + _paint(part, _BOLD, color) for part in lines(f"fix: {c.fix}"))
    count = {s: sum(c.status is s for c in report.checks) for s in CheckStatus}
    summary = (
        f"{count[CheckStatus.OK]} ok, {count[CheckStatus.WARN]} warn, "
        f"{count[CheckStatus.FAIL]} fail, {count[CheckStatus.SKIP]} skipped"
    )
    failed = [c.name for c in report.checks if c.status is CheckStatus.FAIL]
    tail = f" (failed: {', '.join(failed)})" if failed else ""
    verdict = CheckStatus.OK if report.ok else CheckStatus.FAIL
    end = f"{summary}{tail} in {report.elapsed_s:.2f} s"
    out += ["", f"{_paint(verdict.name, ansi[verdict], color)}: {end}"]
    return "\n".join(out)


def _wants_color(stream: Any) -> bool:
    """https://no-color.org: NO_COLOR set and non-empty turns colour off; so do pipes and
    TERM=dumb."""
    import os

    isatty = getattr(stream, "isatty", None)
    return bool(
        isatty
        and isatty()
        and not os.environ.get("NO_COLOR")
        and os.environ.get("TERM", "") != "dumb"
    )


def _cmd_doctor(args: argparse.Namespace) -> int:
    import asyncio
    import json
    import logging
    import shutil

    from horizon.errors import ConfigurationError
    from horizon.venues.ibkr.doctor import DoctorOptions, report_to_dict, run_doctor

    if args.verbose:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    else:
        # the doctor reports what ib_async would log (326, timeouts); keep stderr quiet
        logging.getLogger("ib_async").addHandler(logging.NullHandler())
    try:
        options = DoctorOptions(
            host=args.host,
            port=args.port,
            paper=not args.live,
            client_id=args.client_id,
            timeout=args.timeout,
            probe_symbol=args.probe_symbol or None,
            gateway_log=args.gateway_log,
        )
    except ConfigurationError as exc:
        print(f"horizon-ibkr doctor: error: {exc}", file=sys.stderr)
        return 2
    report = asyncio.run(run_doctor(options))
    if args.json:
        print(json.dumps(report_to_dict(report), indent=2))
    else:
        color = _wants_color(sys.stdout)
        width = shutil.get_terminal_size().columns if color else None
        print(render_doctor(report, color=color, width=width))
    return 0 if report.ok else 1


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="horizon-ibkr",
        description="Horizon's Interactive Brokers tools: a gateway simulator, a deployment "
        "doctor and a demo.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="{sim,doctor,demo,tap,replay}", parser_class=_Parser
    )
    defaults = argparse.ArgumentDefaultsHelpFormatter

    sim = sub.add_parser(
        "sim", help="run the IB Gateway simulator (TWS API over TCP)", formatter_class=defaults
    )
    sim.add_argument("--host", default="127.0.0.1", help="address to bind")
    sim.add_argument("--port", type=_port, default=4002, help="port to bind (0 = any free port)")
    sim.add_argument(
        "--accounts", type=_accounts, default="DU1234567", help="comma-separated account ids"
    )
    sim.add_argument("--seed", type=int, default=7, help="seed of the price paths")
    sim.add_argument(
        "--timezone", type=_zone, default="UTC", help="the gateway's zone, e.g. US/Eastern"
    )
    sim.add_argument(
        "--pacing-limit", type=_positive_int, default=50, help="messages/s before error 100"
    )
    sim.add_argument("--no-pacing", action="store_true", help="do not enforce pacing")
    sim.add_argument(
        "--max-server-version",
        type=_server_version,
        default=None,
        help="newest API version to negotiate (default: the newest at which every message "
        "has its protobuf form); "
        "178 keeps every client on text, 203..212 mixes text and protobuf, 213+ is protobuf",
    )
    sim.add_argument(
        "--market-data",
        metavar="FILE",
        default=None,
        help="CSV of bars (time,symbol,open,high,low,close,volume) or ticks "
        "(time,symbol,price,size) to replay instead of generated prices",
    )
    sim.add_argument(
        "--replay-start",
        type=_instant,
        default=None,
        help="where in the file the clock starts (ISO 8601; earlier rows are history; "
        "default: the first row)",
    )
    sim.add_argument(
        "--max-gap",
        type=float,
        default=None,
        help="refuse a file with more trading seconds than this between two rows",
    )
    sim.set_defaults(func=_cmd_sim)

    doc = sub.add_parser(
        "doctor",
        formatter_class=defaults,
        help="check a TWS / IB Gateway (or simulator) before Horizon uses it",
        description="Checks TCP, the API handshake, the port vs --paper/--live, the clientId, "
        "the managed accounts, the clock, the market-data farms and data permissions; each "
        "OK / WARN / FAIL with a fix. Exit code 0 only when no check FAILs.",
    )
    doc.add_argument("--host", default="127.0.0.1", help="gateway host")
    doc.add_argument("--port", type=_port, default=4002, help="API socket port")
    mode = doc.add_mutually_exclusive_group()
    mode.add_argument("--paper", action="store_true", help="expect a paper gateway (default)")
    mode.add_argument("--live", action="store_true", help="expect a live gateway")
    doc.add_argument(
        "--client-id",
        type=int,
        default=99,
        help="clientId of the probe; use one no other process uses",
    )
    doc.add_argument(
        "--timeout", type=float, default=4.0, help="seconds each step may wait"
    )
    doc.add_argument(
        "--probe-symbol",
        default="AAPL",
        help="US stock whose market-data permission to check; '' skips",
    )
    doc.add_argument(
        "--gateway-log",
        default=None,
        metavar="PATH",
        help="IBC's log file: read the gateway's login state from it (2FA, refused, ...)",
    )
    doc.add_argument("--json", action="store_true", help="print one JSON object instead")
    doc.add_argument("-v", "--verbose", action="store_true", help="log the probe to stderr")
    doc.set_defaults(func=_cmd_doctor)

    demo = sub.add_parser(
        "demo", help="run the quickstart against the embedded simulator", formatter_class=defaults
    )
    demo.add_argument(
        "--port", type=_port, default=7497,
        help="the embedded simulator's port (taken if free, else any free port; 0: any)",
    )  # fmt: skip
    demo.set_defaults(func=_cmd_demo)
    register_tap(sub, defaults, _Parser, _port)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
