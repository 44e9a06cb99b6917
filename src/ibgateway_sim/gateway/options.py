"""`GatewayOptions`: everything a gateway is configured with, as one frozen value.

Built once (by `GatewaySimulator` from its keyword arguments, or directly) and handed to the
gateway core, which reads it and never changes it. Collections given as lists or dicts are
copied into immutable ones, so a caller mutating its own list later changes nothing here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType

from ibgateway_sim.engine import ContractSpec
from ibgateway_sim.engine.market import MarketSetup
from ibgateway_sim.gateway.history_pacing import HistoricalPacingRules
from ibgateway_sim.limits import Limits
from ibgateway_sim.wire.protoforms import DEFAULT_MAX_SERVER_VERSION
from ibgateway_sim.wire.thresholds import (
    SPOKEN,
    TEXT_MIN_VERSION,
    is_spoken,
)

EXEC_TIME_FORMATS = ("zone", "utc")


@dataclass(frozen=True, slots=True, kw_only=True)
class GatewayOptions:
    host: str = "127.0.0.1"
    port: int = 0  # 0: any free port (the gateway reports the one it bound)
    accounts: tuple[str, ...] = ("DU1234567",)
    seed: int = 0  # seeds the price paths, so runs repeat
    timezone: str = "UTC"  # the gateway's zone: connection, execution and account times
    pacing_limit: int | None = 50  # messages per client and second; None: no pacing
    liquidity: Decimal | None = None  # the most one matching pass fills of an order
    read_only: bool = False  # TWS's "Read-Only API": orders are refused
    fa_groups: Mapping[str, Sequence[str]] | None = None  # advisor allocation groups
    step_interval: float | None = 0.25  # seconds between price steps; None: still market
    contracts: tuple[ContractSpec, ...] | None = None  # None: the built-in universe
    clock: Callable[[], float] = time.time  # epoch seconds: the gateway's idea of now
    # the server versions it negotiates within (the lower of the client's maximum and this
    # one); TEXT_MAX_VERSION (178) keeps every client on the text protocol
    min_server_version: int = TEXT_MIN_VERSION
    max_server_version: int = DEFAULT_MAX_SERVER_VERSION
    # market-data entitlements: True = every symbol real-time, False = none, or the symbols
    realtime_data: bool | frozenset[str] = True
    delayed_data: bool = True  # False: no delayed fallback either (errors 354 / 10168)
    exec_time_format: str = "zone"  # "zone" or "utc" (see mapping.TimeFormatter)
    fa_profiles: Mapping[str, Mapping[str, Decimal]] | None = None  # name -> account -> ratio
    limits: Limits = field(default_factory=Limits)
    # TWS's account-update cycle: account values, portfolio and summaries that changed are
    # re-sent this often (seconds; None: only after fills)
    account_update_interval: float | None = 180.0
    interest_rate: Decimal = Decimal("0.045")  # the option calculators' risk-free rate
    dividend_yield: Decimal = Decimal(0)  # ... and the underlying's continuous yield
    market: MarketSetup = field(default_factory=MarketSetup)  # paths and trading hours
    historical_pacing: HistoricalPacingRules = field(default_factory=HistoricalPacingRules)

    def __post_init__(self) -> None:
        if self.exec_time_format not in EXEC_TIME_FORMATS:
            raise ValueError(
                f"exec_time_format must be 'zone' or 'utc', got {self.exec_time_format!r}"
            )
        for name in ("min_server_version", "max_server_version"):
            if not is_spoken(getattr(self, name)):
                spoken = " or ".join(f"{r.start}..{r.stop - 1}" for r in SPOKEN)
                raise ValueError(f"{name} must be in {spoken}, got {getattr(self, name)}")
        if self.min_server_version > self.max_server_version:
            raise ValueError("min_server_version is above max_server_version")
        freeze = object.__setattr__  # frozen: normalise once, here
        freeze(self, "accounts", tuple(self.accounts))
        if not isinstance(self.realtime_data, bool):
            freeze(self, "realtime_data", frozenset(self.realtime_data))
        if self.contracts is not None:
            freeze(self, "contracts", tuple(self.contracts))
        if self.fa_groups is not None:
            groups = {k: tuple(v) for k, v in self.fa_groups.items()}
            freeze(self, "fa_groups", MappingProxyType(groups))
        if self.fa_profiles is not None:
            profiles = {k: MappingProxyType(dict(v)) for k, v in self.fa_profiles.items()}
            freeze(self, "fa_profiles", MappingProxyType(profiles))
