"""Instruments: market ids <-> qualified contracts, each resolved once, with its tick size.

A market id is qualified on first use with one reqContractDetails; the contract, its conId and
its minimum tick are cached, so every later order, quote or fill of that market costs no
request. Contracts the venue never asked for (positions, fills of orders placed elsewhere) get
their market id from `mapping.symbology.market_id_of`, cached by conId.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from decimal import Decimal

from ib_async import Contract

from horizon.core.types import OrderAction
from horizon.errors import UnknownInstrument
from horizon.venues.ibkr.connection import Connection
from horizon.venues.ibkr.mapping.fast_repr import horizon_contract
from horizon.venues.ibkr.mapping.orders import check_tick, watched_markets
from horizon.venues.ibkr.mapping.symbology import (
    canonical_market_id,
    combo_contract,
    combo_legs,
    combo_market_id_of,
    is_combo,
    market_id_of,
    parse_market_id,
)


class Instruments:
    """The qualification cache of one venue."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._contracts: dict[str, Contract] = {}  # canonical market id -> qualified contract
        self._min_ticks: dict[int, Decimal] = {}  # conId -> minimum price increment
        self._market_ids: dict[int, str] = {}  # conId -> canonical market id
        self._time_zones: dict[int, str] = {}  # conId -> the exchange's zone (IB timeZoneId)

    async def qualify(self, market_id: str) -> Contract:
        """The qualified contract of a market id (conId resolved once, then cached)."""
        key = canonical_market_id(market_id)
        cached = self._contracts.get(key)
        if cached is not None:
            return cached
        if is_combo(key):
            return await self._qualify_combo(key)
        contract = parse_market_id(market_id)
        details = await self._connection.query(
            lambda ib: ib.reqContractDetailsAsync(contract), f"contract details for {key}"
        )
        if not details:
            raise UnknownInstrument(key, "IB has no security definition for it (error 200)")
        if len(details) > 1:
            options = ", ".join(
                f"{d.contract.localSymbol}@{d.contract.exchange}" for d in details[:5] if d.contract
            )
            raise UnknownInstrument(
                key, f"ambiguous: {len(details)} contracts match ({options}); be more specific"
            )
        assert details[0].contract is not None
        qualified = horizon_contract(details[0].contract)  # ib_async logs it on every status
        if not qualified.exchange and contract.exchange:
            qualified.exchange = contract.exchange
        self._contracts[key] = qualified
        self._market_ids[qualified.conId] = key
        if details[0].minTick and not math.isnan(details[0].minTick):
            self._min_ticks[qualified.conId] = Decimal(repr(details[0].minTick))
        if details[0].timeZoneId:
            self._time_zones[qualified.conId] = details[0].timeZoneId
        return qualified

    def time_zone(self, con_id: int) -> str | None:
        """The exchange's time zone of a qualified contract (IB's timeZoneId), if IB gave one."""
        return self._time_zones.get(con_id)

    async def watched(self, actions: Iterable[OrderAction]) -> dict[str, Contract]:
        """The contracts of the markets the actions' conditions watch, by market id as
        written (a price condition on SPY needs SPY's conId on the wire)."""
        found: dict[str, Contract] = {}
        for action in actions:
            for market_id in watched_markets(action.conditions):
                if market_id not in found:
                    found[market_id] = await self.qualify(market_id)
        return found

    async def _qualify_combo(self, key: str) -> Contract:
        """A BAG of qualified legs. IB never answers reqContractDetails for a BAG (and every
        BAG shares one conId), so the legs are qualified and the BAG is built from them; it is
        cached by its market id, never by conId."""
        specs = combo_legs(key)
        legs = [(await self.qualify(spec.market_id), spec) for spec in specs]
        bag = horizon_contract(combo_contract(legs))
        self._contracts[key] = bag
        return bag

    def market_id_for(self, contract: Contract) -> str:
        """The market id of a qualified contract: the one it was asked for by, if any."""
        if contract.secType == "BAG":
            combo = combo_market_id_of(contract, self._market_ids.get)
            if combo is not None:
                return combo
        known = self._market_ids.get(contract.conId)
        if known is not None:
            return known
        market_id = market_id_of(contract)
        if contract.conId:
            self._market_ids[contract.conId] = market_id
        return market_id

    def check_ticks(self, con_id: int, prices: Mapping[str, Decimal | None]) -> None:
        """Refuse prices off the contract's tick grid before sending (IB would answer 110)."""
        tick = self._min_ticks.get(con_id)
        if not tick:
            return
        for field, price in prices.items():
            if price is not None:
                check_tick(price, tick, field)
