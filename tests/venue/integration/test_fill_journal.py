"""Exactly-once across a process crash: SIGKILL a venue process, restart it on its journal."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from ibgateway_sim import GatewaySimulator

CHILD = r"""
import json, sys
from decimal import Decimal
from horizon.core import OrderAction
from horizon.venues.ibkr import Ibkr

port, journal = int(sys.argv[1]), sys.argv[2]
venue = Ibkr(port=port, paper=True, client_id=21, fill_journal=journal, commission_grace=0.2)
venue.connect()
print("ready", flush=True)
for line in sys.stdin:
    cmd, _, arg = line.strip().partition(" ")
    if cmd == "buy":
        ids = [venue.submit(OrderAction(market_id="AAPL", side="buy", quantity=Decimal(1)))
               for _ in range(int(arg))]
        for oid in ids:
            venue.wait_for_status(oid, timeout=10)
        print("bought", flush=True)
    elif cmd == "capture":
        # "bought" waited for each order's final status, which comes after its execution:
        # the fills are captured (journaled) by now, and NOT drained
        print("captured" if venue.pending_fills() >= int(arg) else "missing", flush=True)
    elif cmd == "drain":
        fills = venue.wait_fills(int(arg), timeout=10)
        print(json.dumps([[f.exec_id, f.fee is not None, f.corrects] for f in fills]), flush=True)
"""


class Child:
    def __init__(self, port: int, journal: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(port), str(journal)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        assert self.read() == "ready"

    def read(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        assert line, f"child ended (rc={self.proc.poll()})"
        return line

    def ask(self, cmd: str) -> str:
        assert self.proc.stdin is not None
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()
        return self.read()

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


def test_sigkill_then_restart_on_the_journal_loses_and_repeats_nothing(
    gateway: GatewaySimulator, tmp_path: Path
) -> None:
    journal = tmp_path / "fills.sqlite"
    first = Child(gateway.port, journal)
    try:
        assert first.ask("buy 3") == "bought"
        drained_before = json.loads(first.ask("drain 3"))
        assert first.ask("buy 2") == "bought"
        assert first.ask("capture 2") == "captured"  # journaled, never handed out
        first.kill()
    finally:
        first.close()
    gateway.wait_for(lambda: 21 not in gateway.connected_client_ids(), timeout=5)

    second = Child(gateway.port, journal)
    try:
        drained_after = json.loads(second.ask("drain 2"))
    finally:
        second.close()

    ledger = [e.exec_id for e in gateway.executions()]
    handed_out = [row[0] for row in drained_before + drained_after]
    assert len(ledger) == 5
    assert sorted(handed_out) == sorted(ledger)  # nothing lost, nothing twice
    assert all(has_fee for _, has_fee, _ in drained_before + drained_after)
