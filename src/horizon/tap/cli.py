"""`horizon-ibkr tap | tap check | replay`: the argument definitions and the commands.

`horizon.cli.build_parser()` calls `register(...)` once; everything else about these commands
lives here. Like `horizon.cli`, this module prints and returns exit codes (0 fine, 1 the check
found differences, 2 a usage mistake said in one line on stderr); the modules it drives do not.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from horizon.tap.proxy import TapProxy
    from horizon.tap.recorder import Recorder
    from horizon.tap.recording import RecordedFrame, Recording
    from horizon.tap.replay import ReplayGateway

__all__ = ["register"]


def _fail(command: str, message: str) -> int:
    print(f"horizon-ibkr {command}: error: {message}", file=sys.stderr)
    return 2


# ---- argument types: each refuses a bad value with one sentence ------------------------------


def _address(port: Callable[[str], int]) -> Callable[[str], tuple[str, int]]:
    """The HOST:PORT argument type, with the CLI's own port type for the port part."""

    def parse(text: str) -> tuple[str, int]:
        host, sep, port_text = text.rpartition(":")
        if not sep or not host:
            raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT (e.g. 127.0.0.1:4002)")
        return host, port(port_text)

    return parse


def _recording_path(text: str) -> Path:
    path = Path(text)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"no such recording file: {text}")
    return path


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value <= 60:
        raise argparse.ArgumentTypeError(f"must be in (0, 60] seconds, got {value:g}")
    return value


def register(
    subparsers: Any, defaults_formatter: type[argparse.HelpFormatter],
    parser_class: type[argparse.ArgumentParser], port: Callable[[str], int],
) -> None:
    """Add `tap` (with `tap check`) and `replay` to the CLI's subparsers; `port` is the
    CLI's port argument type, so every command refuses a bad port in the same words."""
    address = _address(port)
    tap = subparsers.add_parser(
        "tap",
        formatter_class=defaults_formatter,
        help="record what a client and a TWS / IB Gateway say to each other (a proxy)",
        description="A transparent proxy for the TWS API socket: clients connect to --listen, "
        "each gets its own connection to --upstream, every byte is forwarded untouched. Both "
        "directions are decoded into a live trace on stdout and, with --record, a JSON-lines "
        "recording (account ids, names and order refs redacted unless --no-redact). Live ports "
        "(7496, 4001) are refused unless --allow-live.",
    )
    tap.add_argument("--listen", type=address, default="127.0.0.1:4012",
                     metavar="HOST:PORT", help="where clients connect (port 0 = any free port)")
    tap.add_argument("--upstream", type=address, default="127.0.0.1:4002",
                     metavar="HOST:PORT", help="the gateway (or simulator) to forward to")
    tap.add_argument("--record", default=None, metavar="PATH",
                     help="write the session to this JSON-lines file")
    tap.add_argument("--full", action="store_true", help="trace every field by name")
    tap.add_argument("--no-redact", action="store_true",
                     help="record account ids, names and order refs as they are")
    tap.add_argument("--allow-live", action="store_true",
                     help="tap a known LIVE port (7496, 4001) anyway, with a warning")
    tap.add_argument("--max-version", type=int, default=None, metavar="N",
                     help="cap the server version a client may negotiate (e.g. 200: IB's "
                     "newest clients speak text instead of protobuf, every frame decoded)")
    tap.set_defaults(func=_cmd_tap)
    modes = tap.add_subparsers(dest="tap_command", metavar="{check}", parser_class=parser_class)
    check = modes.add_parser(
        "check",
        formatter_class=defaults_formatter,
        help="replay a recording's requests against the simulator and compare answer shapes",
        description="Sends the recorded requests to the simulator (started here, with the "
        "recording's accounts) or to a gateway at --port, and reports per message kind what "
        "differs between the recorded answers and the new ones: kinds present or missing, "
        "field counts, fields whose values differ in shape (not in value). Exit code 0 when "
        "the shapes match, 1 when they differ. It places the recorded orders again: paper only.",
    )
    check.add_argument("recording", type=_recording_path, help="a file from `tap --record`")
    check.add_argument("--host", default="127.0.0.1", help="gateway host (with --port)")
    check.add_argument("--port", type=port, default=None,
                       help="check against a gateway here instead of the simulator")
    check.add_argument("--settle", type=_seconds, default=0.5,
                       help="seconds of silence after which a missing answer is given up on")
    check.set_defaults(func=_cmd_check)

    replay = subparsers.add_parser(
        "replay",
        formatter_class=defaults_formatter,
        help="serve a recording as a gateway: recorded requests get the recorded answers",
        description="Listens like a gateway and plays a recording back: a client sending the "
        "recorded requests gets the recorded answers, its request ids, order ids and client id "
        "put in place of the recorded ones. The k-th client gets the k-th recorded connection "
        "(--connection N: connection N for every client).",
    )
    replay.add_argument("recording", type=_recording_path, help="a file from `tap --record`")
    replay.add_argument("--host", default="127.0.0.1", help="address to bind")
    replay.add_argument("--port", type=port, default=4002, help="port to bind (0 = any free)")
    replay.add_argument("--connection", type=int, default=None, metavar="N",
                        help="serve recorded connection N to every client")
    replay.set_defaults(func=_cmd_replay)


# ---- running until Ctrl-C ------------------------------------------------------------------


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[asyncio.Event]:
    """An event SIGINT / SIGTERM set, installed before the command says it is ready (a signal
    in between would otherwise kill it without its clean stop)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        yield stop
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


class _Trace:
    """The live trace: lines formatted as frames are recorded, written out in one piece every
    `interval` seconds together with a flush of the recording. One write per interval rather
    than one per frame on the loop that forwards the bytes (stdout may well be unbuffered, as
    with PYTHONUNBUFFERED); a killed tap loses at most that much of its recording."""

    def __init__(self, full: bool, interval: float = 0.1) -> None:
        from horizon.tap.trace import format_frame

        self.format = format_frame
        self.full = full
        self.interval = interval
        self.recorder: Recorder | None = None
        self._lines: list[str] = []
        self._handle: asyncio.TimerHandle | None = None

    def __call__(self, frame: RecordedFrame) -> None:
        self._lines.append(self.format(frame, full=self.full))

    def start(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self._handle = asyncio.get_running_loop().call_later(self.interval, self._tick)

    def _tick(self) -> None:
        self.flush()
        self._handle = asyncio.get_running_loop().call_later(self.interval, self._tick)

    def flush(self) -> None:
        if self.recorder is not None:
            self.recorder.flush()
        if self._lines:
            lines, self._lines = self._lines, []
            sys.stdout.write("\n".join(lines) + "\n")
            sys.stdout.flush()

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self.flush()


# ---- tap -----------------------------------------------------------------------------------


def _cmd_tap(args: argparse.Namespace) -> int:
    from horizon.tap.errors import LivePortRefused
    from horizon.tap.proxy import TapProxy, check_upstream

    (host, port), (up_host, up_port) = args.listen, args.upstream
    try:
        warning = check_upstream(up_port, allow_live=args.allow_live)
    except LivePortRefused as exc:
        return _fail("tap", str(exc))
    if warning:
        loud = f"\x1b[1;31m{warning}\x1b[0m" if sys.stderr.isatty() else warning
        print(loud, file=sys.stderr, flush=True)
    proxy = TapProxy(up_host, up_port, host=host, port=port, allow_live=args.allow_live,
                     max_version=args.max_version)  # fmt: skip
    return asyncio.run(_serve(proxy, args))


async def _serve(proxy: TapProxy, args: argparse.Namespace) -> int:
    from horizon.tap.recorder import Recorder

    try:
        await proxy.open()
    except OSError as exc:
        return _fail("tap", f"cannot listen on {proxy.host}:{proxy.port}: "
                     f"{exc.strerror or exc}")
    # the recording is opened once the port is ours (a typo'd port must not overwrite a
    # recording), and before the loop runs again, so no client can come before it
    trace = _Trace(args.full)
    try:
        recorder = Recorder(record=args.record, redact=not args.no_redact,
                            upstream=f"{proxy.upstream_host}:{proxy.upstream_port}",
                            on_frame=trace)
    except OSError as exc:
        await proxy.close()
        return _fail("tap", f"cannot write {args.record}: {exc.strerror or exc}")
    proxy.tap = recorder.connection
    into = ""
    if args.record:
        into = f", recording to {args.record}" + (" (not redacted)" if args.no_redact
                                                  else " (redacted)")
    trace.start(recorder)
    try:
        with _stop_on_signals() as stop:
            print(f"tap listening on {proxy.host}:{proxy.port} -> {proxy.upstream_host}:"
                  f"{proxy.upstream_port}{into}  (Ctrl-C to stop)", flush=True)
            await stop.wait()
    finally:
        await proxy.close()
        trace.stop()
        recorder.close()
    print(f"tap stopped after {proxy.connections} connection(s)", flush=True)
    return 0


# ---- tap check -----------------------------------------------------------------------------


def _read(command: str, path: Path) -> Recording | int:
    from horizon.tap.errors import RecordingError
    from horizon.tap.recording import read_recording

    try:
        return read_recording(path)
    except RecordingError as exc:
        return _fail(command, str(exc))


def _cmd_check(args: argparse.Namespace) -> int:
    from horizon.tap.check import check_recording
    from horizon.tap.errors import LivePortRefused, UpstreamUnavailable
    from horizon.tap.shape import render

    recording = _read("tap check", args.recording)
    if isinstance(recording, int):
        return recording
    try:
        result = asyncio.run(check_recording(recording, host=args.host, port=args.port,
                                             settle=args.settle))
    except (LivePortRefused, UpstreamUnavailable, ValueError) as exc:
        return _fail("tap check", str(exc))
    print(f"shape check: {args.recording} against {result.target}: {result.connections} "
          f"connection(s), {result.recorded_answers} recorded answers, {result.live_answers} "
          "new ones")
    print(render(result.report, live="new"))
    bad = result.report.differences()
    if bad:
        print(f"DIFFERENT: {len(bad)} of {len(result.report.kinds)} message kinds differ "
              f"({', '.join(k.name for k in bad)})")
        return 1
    print(f"OK: all {len(result.report.kinds)} message kinds have the recorded shapes")
    return 0


# ---- replay --------------------------------------------------------------------------------


def _cmd_replay(args: argparse.Namespace) -> int:
    from horizon.tap.replay import ReplayGateway

    recording = _read("replay", args.recording)
    if isinstance(recording, int):
        return recording
    try:
        gateway = ReplayGateway(recording, args.host, args.port, connection=args.connection)
    except ValueError as exc:
        return _fail("replay", str(exc))
    return asyncio.run(_replay(gateway, args))


async def _replay(gateway: ReplayGateway, args: argparse.Namespace) -> int:
    try:
        await gateway.open()
    except OSError as exc:
        return _fail("replay", f"cannot listen on {args.host}:{args.port}: "
                     f"{exc.strerror or exc}")
    try:
        with _stop_on_signals() as stop:
            print(f"replaying {args.recording} ({len(gateway.scripts)} connection(s)) on "
                  f"{gateway.host}:{gateway.port}  (Ctrl-C to stop)", flush=True)
            await stop.wait()
    finally:
        await gateway.close()
    unmatched = gateway.unmatched()
    tail = f"; requests with no recorded answer: {', '.join(unmatched)}" if unmatched else ""
    print(f"replay stopped after {len(gateway.sessions)} client(s){tail}", flush=True)
    return 0
