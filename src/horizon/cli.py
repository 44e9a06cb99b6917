"""`horizon-ibkr`: sim | doctor | demo. The only module that prints or exits."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence


def _cmd_sim(args: argparse.Namespace) -> int:
    from horizon.venues.ibkr.simulator import GatewaySimulator

    accounts = [a.strip() for a in args.accounts.split(",") if a.strip()]
    sim = GatewaySimulator(
        host=args.host,
        port=args.port,
        accounts=accounts,
        seed=args.seed,
        timezone=args.timezone,
        pacing_limit=None if args.no_pacing else args.pacing_limit,
    )
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    sim.start()
    print(f"listening on {sim.host}:{sim.port}", flush=True)
    print(f"accounts: {','.join(accounts)}  (Ctrl-C to stop)", flush=True)
    try:
        stop.wait()
    finally:
        sim.stop()
    print("simulator stopped", flush=True)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="horizon-ibkr",
        description="Horizon's Interactive Brokers tools: a gateway simulator, a deployment "
        "doctor and a demo.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="{sim,doctor,demo}")

    sim = sub.add_parser("sim", help="run the IB Gateway simulator (TWS API over TCP)")
    sim.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    sim.add_argument("--port", type=int, default=4002, help="port to bind (0 = any free port)")
    sim.add_argument("--accounts", default="DU1234567", help="comma-separated account ids")
    sim.add_argument("--seed", type=int, default=7, help="seed of the price paths")
    sim.add_argument("--timezone", default="UTC", help="the gateway's zone, e.g. US/Eastern")
    sim.add_argument("--pacing-limit", type=int, default=50, help="messages/s before error 100")
    sim.add_argument("--no-pacing", action="store_true", help="do not enforce pacing")
    sim.set_defaults(func=_cmd_sim)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
