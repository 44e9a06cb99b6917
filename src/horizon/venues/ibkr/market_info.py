"""Reference data, options and PnL of one venue: symbol search, contract details, option
chains, greeks and IB's option calculators, account and position PnL.

Each is one paced request with a deadline and a typed result. ib_async's own traps are kept
away from users: its search and calculators return None on a 4-second timeout (here:
RequestTimeout), and a second reqPnL for one account asserts (here: one subscription per
account and position, reused, and asked for again after a reconnect).
"""

from __future__ import annotations

import asyncio
import logging
import math
from typing import Any

from ib_async import IB, PnL, PnLSingle, Ticker

from horizon.errors import InvalidRequest, RequestTimeout, UnknownInstrument
from horizon.venues.ibkr.connection import Connection
from horizon.venues.ibkr.instruments import Instruments
from horizon.venues.ibkr.mapping.orders import to_ib_float
from horizon.venues.ibkr.mapping.reference import (
    ContractInfo,
    Greeks,
    OptionChainInfo,
    PnLFigures,
    SymbolMatch,
    chain_of,
    contract_info_of,
    greeks_of,
    match_of,
    pnl_figure,
)
from horizon.venues.ibkr.resilience import ConnectionEvent, ConnectionState

log = logging.getLogger("horizon.venues.ibkr")


class MarketInfo:
    """The reference, option and PnL requests of one venue."""

    def __init__(self, connection: Connection, instruments: Instruments) -> None:
        self._connection = connection
        self._instruments = instruments
        self._pnl: dict[str, PnL] = {}
        self._pnl_single: dict[tuple[str, int], PnLSingle] = {}
        connection.add_listener(self._on_connection)

    def _on_connection(self, event: ConnectionEvent) -> None:
        if event.state in (ConnectionState.DISCONNECTED, ConnectionState.CLOSED):
            # ib_async forgets the subscriptions with the session: ask again next time
            self._pnl.clear()
            self._pnl_single.clear()

    # ------------------------------------------------------------------ reference data
    async def search(self, pattern: str) -> list[SymbolMatch]:
        if not isinstance(pattern, str) or not pattern.strip():
            raise InvalidRequest("pattern", "search for a non-empty symbol or name prefix")
        found = await self._connection.query(
            lambda ib: _required(ib.reqMatchingSymbolsAsync(pattern.strip()), "symbol search"),
            f"symbol search for {pattern!r}",
        )
        return [match_of(d) for d in found or [] if d.contract is not None]

    async def contract_details(self, market_id: str) -> ContractInfo:
        contract = await self._instruments.qualify(market_id)
        key = self._instruments.market_id_for(contract)
        details = await self._connection.query(
            lambda ib: ib.reqContractDetailsAsync(contract), f"contract details for {key}"
        )
        if not details:
            raise UnknownInstrument(key, "IB has no security definition for it (error 200)")
        return contract_info_of(details[0], key)

    async def option_chain(self, underlying: str) -> list[OptionChainInfo]:
        contract = await self._instruments.qualify(underlying)
        key = self._instruments.market_id_for(contract)
        fut_fop = contract.exchange if contract.secType == "FUT" else ""
        chains = await self._connection.query(
            lambda ib: ib.reqSecDefOptParamsAsync(
                contract.symbol, fut_fop, contract.secType, contract.conId
            ),
            f"option chain of {key}",
        )
        return [chain_of(c, key) for c in chains]

    # ------------------------------------------------------------------ options
    async def greeks(self, market_id: str) -> Greeks:
        """The model greeks IB computes for an option's market data (tick 13)."""
        contract = await self._instruments.qualify(market_id)
        if contract.secType not in ("OPT", "FOP"):
            raise InvalidRequest("market_id", f"{market_id!r} is not an option")
        key = self._instruments.market_id_for(contract)
        cfg = self._connection.config
        ib = await self._connection.ready()
        await self._connection.bucket.acquire_async()
        ticker = ib.reqMktData(contract)
        # ib_async keeps one Ticker per contract across subscriptions: the greeks of an earlier
        # call would answer at once, from before the underlying moved; wait for this one's
        ticker.modelGreeks = None
        try:
            await asyncio.wait_for(_model_greeks(ticker), cfg.request_timeout)
        except TimeoutError as exc:
            raise RequestTimeout(f"greeks of {key}", cfg.request_timeout) from exc
        finally:
            if self._connection.is_connected():
                ib.cancelMktData(contract)
        assert ticker.modelGreeks is not None
        return greeks_of(ticker.modelGreeks, key)

    async def implied_volatility(
        self, market_id: str, option_price: Any, underlying_price: Any
    ) -> Greeks:
        """IB's implied volatility (and greeks) of an option at these prices."""
        contract = await self._option(market_id)
        price = to_ib_float("option_price", option_price)
        under = to_ib_float("underlying_price", underlying_price)
        comp = await self._connection.query(
            lambda ib: _required(
                ib.calculateImpliedVolatilityAsync(contract, price, under), "calculation"
            ),
            f"implied volatility of {market_id}",
        )
        return greeks_of(comp, self._instruments.market_id_for(contract))

    async def option_price(self, market_id: str, volatility: Any, underlying_price: Any) -> Greeks:
        """IB's model price (and greeks) of an option at this volatility (0.25 = 25 %)."""
        contract = await self._option(market_id)
        vol = to_ib_float("volatility", volatility)
        under = to_ib_float("underlying_price", underlying_price)
        comp = await self._connection.query(
            lambda ib: _required(ib.calculateOptionPriceAsync(contract, vol, under), "calculation"),
            f"option price of {market_id}",
        )
        return greeks_of(comp, self._instruments.market_id_for(contract))

    async def _option(self, market_id: str) -> Any:
        contract = await self._instruments.qualify(market_id)
        if contract.secType not in ("OPT", "FOP"):
            raise InvalidRequest("market_id", f"{market_id!r} is not an option")
        return contract

    # ------------------------------------------------------------------ PnL
    async def pnl(self, account: str | None) -> PnLFigures:
        """The account's daily, unrealized and realized PnL (one IB subscription, reused)."""
        acct = self._connection.account_for(account)
        ib = await self._connection.ready()
        live = self._pnl.get(acct)
        if live is None:
            await self._connection.bucket.acquire_async()
            live = self._pnl[acct] = ib.reqPnL(acct)
        await self._first_update(ib, live, f"PnL of {acct}")
        return PnLFigures(
            account=acct, market_id=None, daily=pnl_figure(live.dailyPnL),
            unrealized=pnl_figure(live.unrealizedPnL), realized=pnl_figure(live.realizedPnL),
        )  # fmt: skip

    async def position_pnl(self, market_id: str, account: str | None) -> PnLFigures:
        """One position's daily, unrealized and realized PnL, its size and value."""
        acct = self._connection.account_for(account)
        contract = await self._instruments.qualify(market_id)
        key = self._instruments.market_id_for(contract)
        ib = await self._connection.ready()
        live = self._pnl_single.get((acct, contract.conId))
        if live is None:
            await self._connection.bucket.acquire_async()
            live = self._pnl_single[(acct, contract.conId)] = ib.reqPnLSingle(
                acct, "", contract.conId
            )
        await self._first_update(ib, live, f"PnL of {key}")
        return PnLFigures(
            account=acct, market_id=key, daily=pnl_figure(live.dailyPnL),
            unrealized=pnl_figure(live.unrealizedPnL), realized=pnl_figure(live.realizedPnL),
            position=pnl_figure(float(live.position)), value=pnl_figure(live.value),
        )  # fmt: skip

    async def _first_update(self, ib: IB, live: PnL | PnLSingle, what: str) -> None:
        if not _nan(live.dailyPnL):
            return
        timeout = self._connection.config.request_timeout
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def on_update(*_: Any) -> None:
            if not _nan(live.dailyPnL) and not done.done():
                done.set_result(None)

        event = ib.pnlEvent if isinstance(live, PnL) else ib.pnlSingleEvent
        event += on_update
        try:
            await asyncio.wait_for(done, timeout)
        except TimeoutError as exc:
            raise RequestTimeout(what, timeout) from exc
        finally:
            event -= on_update


def _nan(value: float) -> bool:
    return math.isnan(value)


async def _model_greeks(ticker: Ticker) -> None:
    while ticker.modelGreeks is None:
        await ticker.updateEvent


async def _required(awaitable: Any, what: str) -> Any:
    """ib_async's helpers that swallow their own 4-second timeout return None: a timeout."""
    result = await awaitable
    if result is None:
        raise TimeoutError(f"{what} got no answer")
    return result
