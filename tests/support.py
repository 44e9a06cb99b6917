"""Helpers tests share: waiting on venue events, and making files unwritable."""

from __future__ import annotations

import contextlib
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from horizon.venues.ibkr.resilience import ConnectionEvent, ConnectionState


class Events:
    """Collects connection events; waits on a threading.Condition, never sleeps."""

    def __init__(self) -> None:
        self.seen: list[ConnectionEvent] = []
        self._cond = threading.Condition()

    def __call__(self, event: ConnectionEvent) -> None:
        with self._cond:
            self.seen.append(event)
            self._cond.notify_all()

    def count(self, state: ConnectionState) -> int:
        with self._cond:
            return sum(e.state is state for e in self.seen)

    def wait(self, state: ConnectionState, count: int = 1, timeout: float = 10) -> None:
        with self._cond:
            ok = self._cond.wait_for(
                lambda: sum(e.state is state for e in self.seen) >= count, timeout
            )
        assert ok, f"no {count}x {state} within {timeout} s; saw {[e.state for e in self.seen]}"


@contextlib.contextmanager
def read_only(*paths: Path) -> Iterator[None]:
    """Make files unwritable, for root too (chmod alone does not stop root: chattr +i)."""
    made: list[Path] = []
    try:
        for p in paths:
            p.chmod(0o444)
            try:
                with open(p, "ab"):
                    pass
            except PermissionError:
                continue
            chattr = subprocess.run(["chattr", "+i", str(p)], check=False, capture_output=True)
            if chattr.returncode != 0:  # a test that cannot set up its fault fails, never skips
                pytest.fail(
                    f"cannot make {p} read-only: chmod does not stop this user and chattr +i "
                    f"failed ({chattr.stderr.decode(errors='replace').strip()})"
                )
            made.append(p)
        yield
    finally:
        for p in made:
            subprocess.run(["chattr", "-i", str(p)], check=False, capture_output=True)
        for p in paths:
            p.chmod(0o644)
