"""Is the venue ready to trade? A pure verdict from what the venue knows, for `/readyz`.

Ready means: connected (and synchronised), the last health check recent, the account mode
verified in-band, and the clock outside the gateway's daily restart window (during it the
gateway goes away on purpose: an orchestrator should not restart the strategy for that, and a
router should not send it work).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from horizon.errors import ConfigurationError


@dataclass(frozen=True, slots=True)
class RestartWindow:
    """The daily window in which the gateway restarts, in the gateway's zone. It may wrap
    midnight (23:45-00:15). IB Gateway's auto restart time is set in IBC (AutoRestartTime)."""

    start: time
    end: time
    zone: str = "US/Eastern"

    @classmethod
    def parse(cls, text: str, zone: str = "US/Eastern") -> RestartWindow:
        """From ``"23:45-00:15"``."""
        try:
            a, b = (part.strip() for part in text.split("-"))
            start, end = time.fromisoformat(a), time.fromisoformat(b)
            ZoneInfo(zone)
        except (ValueError, ZoneInfoNotFoundError) as exc:
            raise ConfigurationError(
                f"restart window {text!r} in {zone!r}: write 'HH:MM-HH:MM' and an IANA zone"
            ) from exc
        return cls(start=start, end=end, zone=zone)

    def contains(self, when: datetime) -> bool:
        local = when.astimezone(ZoneInfo(self.zone)).time()
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end  # wraps midnight

    def remaining(self, when: datetime) -> float:
        """Seconds from `when` to the end of the window it is in (0 outside it)."""
        if not self.contains(when):
            return 0.0
        local = when.astimezone(ZoneInfo(self.zone))
        end = local.replace(hour=self.end.hour, minute=self.end.minute, second=0, microsecond=0)
        if end <= local:
            end += timedelta(days=1)
        return (end - local).total_seconds()

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M} {self.zone}"


@dataclass(frozen=True, slots=True)
class Readiness:
    ready: bool
    checks: dict[str, dict[str, object]]  # name -> {"ok": bool, "detail": str}

    def as_dict(self) -> dict[str, object]:
        return {"ready": self.ready, "checks": self.checks}


def assess(
    *,
    connected: bool,
    lifecycle: str,
    last_health_at: datetime | None,
    health_interval: float | None,
    health_timeout: float,
    account_mode_verified: bool | None,
    mode: str,
    window: RestartWindow | None,
    now: datetime,
) -> Readiness:
    """The verdict. `account_mode_verified` None means the check is switched off
    (verify_account_mode=False): the operator's choice, reported, not blocking."""
    checks: dict[str, dict[str, object]] = {}
    checks["connected"] = {"ok": connected, "detail": f"lifecycle {lifecycle}"}
    if health_interval:
        max_age = 2 * health_interval + health_timeout + 5
        if last_health_at is None:
            fresh, detail = False, "no health check has succeeded yet"
        else:
            age = (now - last_health_at).total_seconds()
            fresh, detail = age <= max_age, f"last one {age:.1f} s ago (at most {max_age:g} s)"
        checks["health_fresh"] = {"ok": fresh, "detail": detail}
    else:
        checks["health_fresh"] = {"ok": True, "detail": "background health check turned off"}
    if account_mode_verified is None:
        checks["account_mode"] = {"ok": True, "detail": f"{mode}; not verified (turned off)"}
    else:
        checks["account_mode"] = {
            "ok": account_mode_verified,
            "detail": f"{mode} accounts verified" if account_mode_verified else "not verified",
        }
    if window is None:
        checks["restart_window"] = {"ok": True, "detail": "no restart window configured"}
    else:
        inside = window.contains(now)
        checks["restart_window"] = {
            "ok": not inside,
            "detail": f"{'inside' if inside else 'outside'} {window}",
        }
    return Readiness(ready=all(bool(c["ok"]) for c in checks.values()), checks=checks)

