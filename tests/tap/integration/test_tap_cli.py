"""The commands as users run them: `horizon-ibkr tap`, `replay` and `tap check` in their own
processes, stopped with SIGTERM, read through their stdout and exit codes."""

from __future__ import annotations

import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import ib_async
import pytest

from horizon.cli import main
from horizon.tap import read_recording
from horizon.venues.ibkr.simulator import GatewaySimulator

EXE = shutil.which("horizon-ibkr", path=str(Path(sys.executable).parent)) or "horizon-ibkr"


class Command:
    """A running `horizon-ibkr ...`; its output lines arrive on queues read by threads."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen([EXE, *args], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.out: queue.Queue[str] = queue.Queue()
        self.err: queue.Queue[str] = queue.Queue()
        self.lines: list[str] = []
        for stream, into in ((self.proc.stdout, self.out), (self.proc.stderr, self.err)):
            threading.Thread(target=self._pump, args=(stream, into), daemon=True).start()

    @staticmethod
    def _pump(stream: object, into: queue.Queue[str]) -> None:
        for line in stream:  # type: ignore[attr-defined]
            into.put(line.rstrip("\n"))

    def expect(self, pattern: str, *, err: bool = False, timeout: float = 10) -> re.Match[str]:
        """The next line (of stdout, or stderr) matching `pattern`; earlier lines are kept."""
        source = self.err if err else self.out
        while True:
            line = source.get(timeout=timeout)
            self.lines.append(line)
            found = re.search(pattern, line)
            if found:
                return found

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=10)


@pytest.fixture
def commands() -> Iterator[list[Command]]:
    started: list[Command] = []
    yield started
    for c in started:
        if c.proc.poll() is None:
            c.proc.kill()
            c.proc.wait(timeout=10)


def test_tap_then_replay_then_check_from_the_command_line(
    gateway: GatewaySimulator, tmp_path: Path, commands: list[Command]
) -> None:
    path = tmp_path / "session.jsonl"
    tap = Command("tap", "--listen", "127.0.0.1:0", "--upstream", f"127.0.0.1:{gateway.port}",
                  "--record", str(path))
    commands.append(tap)
    port = int(tap.expect(r"tap listening on 127\.0\.0\.1:(\d+) -> .*recording to .*"
                          r"\(redacted\)").group(1))
    ib = ib_async.IB()
    ib.connect("127.0.0.1", port, clientId=4, timeout=4)
    assert ib.reqCurrentTime().tzinfo is not None
    ib.disconnect()
    tap.expect(r"#1 c4 <- CurrentTime +time=\d+")
    assert any(re.search(r"#1 c\? -> hello +v157\.\.178", line) for line in tap.lines)
    assert any("<- ManagedAccounts    accounts=DU0000001" in line for line in tap.lines)
    gateway.wait_for(lambda: not gateway.connected_client_ids())
    assert tap.stop() == 0
    assert {f.name for f in read_recording(path).frames} >= {"StartApi", "CurrentTime"}

    replay = Command("replay", str(path), "--port", "0")
    commands.append(replay)
    port = int(replay.expect(r"replaying .* \(1 connection\(s\)\) on 127\.0\.0\.1:(\d+)")
               .group(1))
    ib = ib_async.IB()
    ib.connect("127.0.0.1", port, clientId=4, timeout=4)
    assert ib.managedAccounts() == ["DU0000001"] and ib.reqCurrentTime().tzinfo is not None
    ib.disconnect()
    assert replay.stop() == 0
    replay.expect(r"replay stopped after 1 client\(s\)$")

    assert main(["tap", "check", str(path)]) == 0


def test_a_live_port_is_tapped_only_when_asked_with_a_warning(commands: list[Command]) -> None:
    refused = subprocess.run([EXE, "tap", "--upstream", "127.0.0.1:4001"], capture_output=True,
                             text=True, timeout=30, check=False)
    assert refused.returncode == 2 and "known IBKR LIVE port" in refused.stderr
    live = Command("tap", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:4001",
                   "--allow-live")
    commands.append(live)
    live.expect(r"^WARNING: tapping port 4001, a known IBKR LIVE port .* real money", err=True)
    live.expect(r"tap listening on 127\.0\.0\.1:\d+ -> 127\.0\.0\.1:4001")
    assert live.stop() == 0
