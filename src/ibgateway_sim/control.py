"""`GatewaySimulator`: the simulator's public face. It holds a `Gateway` (the in-loop core)
and runs it in a background thread or in the caller's loop, hops control calls from any
thread onto that loop (in call order), offers event-driven waits, and arms the faults.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from ibgateway_sim.engine import (
    Commission,
    ContractQuery,
    ContractSpec,
    Engine,
    Execution,
    OrderRequest,
)
from ibgateway_sim.engine.market import MarketSetup
from ibgateway_sim.engine.path import PathParams
from ibgateway_sim.engine.replay import ReplaySetup
from ibgateway_sim.engine.sessions import Edge, SessionEvent
from ibgateway_sim.faults import Correction, FaultPlan, OneShot
from ibgateway_sim.gateway.history_pacing import HistoricalPacingRules
from ibgateway_sim.gateway.options import GatewayOptions
from ibgateway_sim.gateway.server import Gateway
from ibgateway_sim.gateway.session import SessionInfo
from ibgateway_sim.limits import Limits
from ibgateway_sim.wire.protoforms import DEFAULT_MAX_SERVER_VERSION
from ibgateway_sim.wire.thresholds import TEXT_MIN_VERSION

log = logging.getLogger(__name__)

_FARM_DOWN = {
    "market": (2103, "Market data farm connection is broken:usfarm"),
    "hmds": (2105, "HMDS data farm connection is broken:ushmds"),
    "secdef": (2157, "Sec-def data farm connection is broken:secdefnj"),
}
_FARM_UP = {
    "market": (2104, "Market data farm connection is OK:usfarm"),
    "hmds": (2106, "HMDS data farm connection is OK:ushmds"),
    "secdef": (2158, "Sec-def data farm connection is OK:secdefnj"),
}
COMPETING_SESSION = 10197
TEXT_COMPETING_SESSION = "No market data during competing live session"
LIQUIDATION_NOTICE = 2148  # IB's margin-deficiency liquidation notice (reqId -1)
TEXT_LIQUIDATION = (
    "Account is in margin violation: positions are being liquidated to restore compliance"
)  # the wording is ours; the code is IB's

__all__ = ["GatewaySimulator", "SessionInfo"]

T = TypeVar("T")


class GatewaySimulator:
    """A TWS / IB Gateway on a TCP port, backed by the paper `Engine`.

    Run it in a background thread (`start()`/`stop()`) or inside the current event loop
    (`async with`). Every control method may be called from any thread; it is applied on the
    simulator's loop, in call order, and returns when it has taken effect.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        accounts: Sequence[str] = ("DU1234567",),
        seed: int = 0,
        timezone: str = "UTC",
        pacing_limit: int | None = 50,
        liquidity: Decimal | None = None,
        read_only: bool = False,
        fa_groups: dict[str, Sequence[str]] | None = None,
        step_interval: float | None = 0.25,
        contracts: Iterable[ContractSpec] | None = None,
        *,
        clock: Callable[[], float] = time.time,
        min_server_version: int = TEXT_MIN_VERSION,
        max_server_version: int = DEFAULT_MAX_SERVER_VERSION,
        realtime_data: bool | Iterable[str] = True,
        delayed_data: bool = True,
        exec_time_format: str = "zone",
        fa_profiles: dict[str, dict[str, Decimal]] | None = None,
        limits: Limits | None = None,
        account_update_interval: float | None = 180.0,
        interest_rate: Decimal = Decimal("0.045"),
        dividend_yield: Decimal = Decimal(0),
        trading_hours: bool = False,
        market_params: PathParams | None = None,
        historical_pacing: HistoricalPacingRules | bool = True,
        market_data: str | Path | Mapping[str, str | Path] | ReplaySetup | None = None,
    ) -> None:
        """`trading_hours=False` (the default): every instrument trades around the clock,
        so a run on Saturday night behaves as on Tuesday morning; True: US equity, CME and
        FX sessions apply (useRTH, outsideRth, DAY expiry at the close). `market_params`:
        drift, volatility, spread and volume of the price paths. `historical_pacing`: IB's
        historical pacing (error 162), on by default; False or custom rules. `market_data`:
        a CSV file of bars or ticks (or a mapping symbol -> file, or a `ReplaySetup` for
        gap rules) whose instruments replay it instead of a generated path; a bad file
        raises `ReplayError` here (docs/simulator.md, "Replaying recorded data")."""
        pacing_rules = (
            historical_pacing
            if isinstance(historical_pacing, HistoricalPacingRules)
            else HistoricalPacingRules(enabled=historical_pacing)
        )
        self.options = GatewayOptions(
            host=host,
            port=port,
            accounts=tuple(accounts),
            seed=seed,
            timezone=timezone,
            pacing_limit=pacing_limit,
            liquidity=liquidity,
            read_only=read_only,
            fa_groups=fa_groups,
            step_interval=step_interval,
            contracts=None if contracts is None else tuple(contracts),
            clock=clock,
            min_server_version=min_server_version,
            max_server_version=max_server_version,
            realtime_data=(
                realtime_data if isinstance(realtime_data, bool) else frozenset(realtime_data)
            ),
            delayed_data=delayed_data,
            exec_time_format=exec_time_format,
            fa_profiles=fa_profiles,
            limits=limits or Limits(),
            account_update_interval=account_update_interval,
            interest_rate=interest_rate,
            dividend_yield=dividend_yield,
            market=MarketSetup(
                trading_hours=trading_hours,
                params=market_params or PathParams(),
                replay=(
                    market_data
                    if isinstance(market_data, ReplaySetup) or market_data is None
                    else ReplaySetup.of(market_data)
                ),
            ),
            historical_pacing=pacing_rules,
        )
        self._cond = threading.Condition()
        self._changed_event: asyncio.Event | None = None
        self._async_waiters = 0  # wait_for_async calls awaiting `_changed_event`
        self._gateway = Gateway(self.options, on_change=self._changed)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._thread: threading.Thread | None = None
        self._manual_ids = 0

    # ---- what tests and benchmarks read -----------------------------------------------------

    @property
    def host(self) -> str:
        return self._gateway.host

    @property
    def port(self) -> int:
        """The bound port once started (the real one, also when constructed with port 0)."""
        return self._gateway.port

    @property
    def engine(self) -> Engine:
        return self._gateway.engine

    @property
    def faults(self) -> FaultPlan:
        return self._gateway.faults

    @property
    def limits(self) -> Limits:
        return self._gateway.limits

    @property
    def listening(self) -> bool:
        return self._gateway.listening

    @property
    def pacing_violations(self) -> int:
        """Requests refused with error 100, over all clients."""
        return self._gateway.pacing_violations

    @property
    def max_msgs_in_window(self) -> int:
        """The most messages any client had in its one-second window; settable (to 0) to
        measure a stretch of a run."""
        return self._gateway.max_msgs_in_window

    @max_msgs_in_window.setter
    def max_msgs_in_window(self, value: int) -> None:
        self._gateway.max_msgs_in_window = value

    @property
    def disconnected_for_limits(self) -> int:
        """Clients cut off by `limits` (flooders, non-readers)."""
        return self._gateway.disconnected_for_limits

    # ---- lifecycle ----------------------------------------------------------------------

    async def _open(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._changed_event = asyncio.Event()
        await self._gateway.open()

    async def _close(self) -> None:
        await self._gateway.close()
        self._loop = None
        self._loop_thread = None

    def start(self) -> None:
        """Run in a background thread with its own loop; returns once the port is bound."""
        if self._thread is not None or self._loop is not None:
            raise RuntimeError("the simulator is already running")
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._open())
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        self._thread = threading.Thread(target=run, name="ibkr-gateway-sim", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            self._thread = None
            raise failure[0]

    def stop(self) -> None:
        """Close every connection and the listener; join the thread in `start()` mode."""
        loop, thread = self._loop, self._thread
        if loop is None:
            return
        if thread is None:  # async mode, called from the loop
            self._gateway.shutdown()
            return
        if not loop.is_closed():
            fut = asyncio.run_coroutine_threadsafe(self._close(), loop)
            fut.result(timeout=10)
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        self._thread = None

    def __enter__(self) -> GatewaySimulator:
        """`with GatewaySimulator(...) as sim:` runs it in its own thread (start / stop)."""
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> GatewaySimulator:
        await self._open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._close()

    # ---- threading and change notification ------------------------------------------------

    def _changed(self) -> None:
        """Wake every waiter: the gateway calls this after each change."""
        with self._cond:
            self._cond.notify_all()
        event = self._changed_event
        if event is not None and self._async_waiters:  # an event nobody awaits stays as is
            event.set()
            self._changed_event = asyncio.Event()

    def _in_loop(self) -> bool:
        return self._loop_thread == threading.get_ident()

    def _control(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn` on the simulator's loop (directly if we are on it) and return its result."""
        loop = self._loop
        gateway = self._gateway
        if loop is None or self._in_loop():
            result = fn(*args)
            if loop is not None:
                gateway.flush_all()
                self._changed()
            return result
        fut: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                fut.set_result(fn(*args))
            except BaseException as exc:
                fut.set_exception(exc)
            gateway.flush_all()
            self._changed()

        loop.call_soon_threadsafe(run)
        return fut.result(timeout=30)

    def wait_for(self, pred: Callable[[], bool], timeout: float = 5) -> None:
        """Block until `pred()` is true (re-checked on every state change) or raise
        TimeoutError. For `start()` mode; inside the simulator's loop use wait_for_async."""
        if self._in_loop():
            raise RuntimeError("wait_for would block the simulator's loop; await wait_for_async")
        deadline = time.monotonic() + timeout
        with self._cond:
            while not pred():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"condition not met within {timeout} s")
                self._cond.wait(remaining)

    async def wait_for_async(self, pred: Callable[[], bool], timeout: float = 5) -> None:
        """Await `pred()` becoming true, re-checked on every state change; TimeoutError after
        `timeout`. Must run on the simulator's loop (`async with` mode)."""
        if not self._in_loop():
            raise RuntimeError("wait_for_async must run on the simulator's own loop")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not pred():
            event = self._changed_event
            assert event is not None
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"condition not met within {timeout} s")
            self._async_waiters += 1
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                if not pred():
                    raise TimeoutError(f"condition not met within {timeout} s") from None
            finally:
                self._async_waiters -= 1

    # ---- observation: safe from any thread, also inside a `wait_for` predicate ---------------

    def sessions(self) -> list[SessionInfo]:
        """The open connections, as a test or an operator sees them."""
        return self._gateway.sessions()

    def requests(self, client_id: int | None = None, kind: type[T] | None = None) -> list[Any]:
        """The requests received so far (the newest 100,000), oldest first: of one client id
        if given (the startApi itself is the last one sent without it), of one message type
        (e.g. `messages.PlaceOrder`) if given. What a test checks to see what a client sent."""
        return [
            msg
            for cid, msg in self._gateway.received(kind)
            if client_id is None or cid == client_id
        ]

    def executions(self) -> list[Execution]:
        """Every execution the engine made so far, corrections included, in order."""
        return [ex for ex, _ in self.engine.executions()]

    def commissions(self) -> dict[str, Commission]:
        return {cr.exec_id: cr for _, cr in self.engine.executions()}

    def connected_client_ids(self) -> set[int]:
        return self._gateway.client_ids()

    # ---- control ------------------------------------------------------------------------

    def resolve(self, instrument: str | int) -> int:
        """A conId from a conId, a stock symbol, or an exact local symbol ("EUR.USD")."""
        if isinstance(instrument, int):
            self.engine.contract(instrument)
            return instrument
        for query in (
            ContractQuery(symbol=instrument, sec_type="STK"),
            ContractQuery(local_symbol=instrument),
        ):
            specs = self.engine.match_contracts(query)
            if len(specs) == 1:
                return specs[0].con_id
        raise ValueError(f"{instrument!r} names no single instrument; pass a conId")

    def set_price(self, instrument: str | int, price: Decimal) -> None:
        """Make `price` the last trade of `instrument` and match its resting orders now."""

        def apply() -> None:
            con_id = self.resolve(instrument)
            self._gateway.dispatch(self.engine.set_price(con_id, Decimal(price)))
            self._gateway.refresh_market_data(con_id)

        self._control(apply)

    def step(self, n: int = 1) -> None:
        """Advance the price paths `n` steps now (what the `step_interval` timer does), match
        resting orders and push the ticks (auction orders wait for `run_*_auction`)."""

        def apply() -> None:
            for _ in range(n):
                self._gateway.dispatch(self.engine.step())
            self._gateway.refresh_market_data()

        self._control(apply)

    def run_opening_auction(self, symbol: str | int | None = None) -> None:
        """The opening auction of one instrument (or all): orders with tif OPG execute at
        the current price (LMT only if its limit allows); the rest are cancelled. Until
        the simulator has trading sessions this is how a test opens the market; the session
        clock will call it at the open."""
        self._auction("open", symbol)

    def run_closing_auction(self, symbol: str | int | None = None) -> None:
        """The closing auction: MOC orders execute at the current price, LOC orders if their
        limit allows, the rest are cancelled. The session clock will call it at the close."""
        self._auction("close", symbol)

    def _auction(self, auction: str, symbol: str | int | None) -> None:
        def apply() -> None:
            con_id = None if symbol is None else self.resolve(symbol)
            self._gateway.dispatch(self.engine.run_auction(auction, con_id))

        self._control(apply)

    def liquidate(self, account: str, symbol: str | int, quantity: Decimal) -> None:
        """IB liquidates `quantity` of the account's position in `symbol` (a margin
        deficiency): notice 2148 (id -1), then the execution (reqId -1, orderId -1,
        clientId 0, liquidation 1) and its commission report, to every session."""

        def apply() -> None:
            con_id = self.resolve(symbol)
            log.warning("fault: forced liquidation", extra={"account": account})
            self._gateway.broadcast_error(-1, LIQUIDATION_NOTICE, TEXT_LIQUIDATION)
            self._gateway.dispatch(self.engine.liquidate(account, con_id, Decimal(quantity)))

        self._control(apply)

    def restart(self, downtime: float = 1.0) -> None:
        """Every socket drops and connects are refused for `downtime` seconds; then the
        gateway listens again on the same port with orders and executions intact, but for
        orders held untransmitted (transmit=False): those lived only in the local TWS."""

        def apply() -> None:
            forgotten = self.engine.forget_untransmitted()
            log.warning("fault: restart", extra={"downtime": downtime, "forgotten": forgotten})
            self._gateway.restart(downtime)

        self._control(apply)

    def freeze(self) -> None:
        """Half-open: sockets (and new connections) stay open, nothing is answered."""

        def apply() -> None:
            log.warning("fault: freeze")
            self.faults.frozen = True

        self._control(apply)

    def thaw(self) -> None:
        def apply() -> None:
            log.warning("fault: thaw")
            self.faults.frozen = False
            self._gateway.release_held()

        self._control(apply)

    def delay(self, seconds: float) -> None:
        """Delay every reply by `seconds` (0 clears)."""

        def apply() -> None:
            self.faults.delay = max(0.0, float(seconds))

        self._control(apply)

    def duplicate_next_exec(self) -> None:
        self._control(self.faults.arm, OneShot.DUPLICATE_EXEC)

    def commission_before_exec(self) -> None:
        self._control(self.faults.arm, OneShot.COMMISSION_FIRST)

    def drop_next_commission(self) -> None:
        self._control(self.faults.arm, OneShot.DROP_COMMISSION)

    def drop_next_order(self) -> None:
        self._control(self.faults.arm, OneShot.DROP_ORDER)

    def drop_after_next_order(self) -> None:
        """The connection that sends the next placeOrder drops right after the gateway took
        it: a drop between the legs of a bracket or OCO set."""
        self._control(self.faults.arm, OneShot.DROP_AFTER_ORDER)

    def skip_next_oca_cancel(self) -> None:
        """The next fill in an OCA group leaves its siblings working: the overfill IB warns
        of ("OCA orders are not guaranteed", an order it could not cancel in time)."""

        def apply() -> None:
            self.engine.skip_oca_cancels += 1

        self._control(apply)

    def correct_next_exec(
        self, shares: Decimal | None = None, price: Decimal | None = None
    ) -> None:
        """After the next execution, correct it (IB's execution correction)."""
        self._control(self.faults.corrections.append, Correction(shares, price))

    def inject_manual_order(
        self,
        symbol: str = "AAPL",
        action: str = "BUY",
        quantity: Decimal = Decimal(1),
        order_type: str = "LMT",
        limit_price: Decimal | None = None,
        *,
        aux_price: Decimal | None = None,
        tif: str = "DAY",
        account: str = "",
    ) -> int:
        """An order entered in TWS itself: clientId 0 and a negative order id (the id TWS
        gives a manual order when it binds it to API client 0). Returns that order id."""

        def apply() -> int:
            con_id = self.resolve(symbol)
            subs = [a for a in self.engine.accounts if not a.startswith("DF")]
            self._manual_ids -= 1
            spec = self.engine.contract(con_id)
            req = OrderRequest(
                client_id=0,
                order_id=self._manual_ids,
                contract=ContractQuery(con_id=con_id, exchange=spec.exchange),
                action=action,
                quantity=Decimal(quantity),
                order_type=order_type,
                limit_price=limit_price,
                aux_price=aux_price,
                tif=tif,
                account=account or (subs[0] if subs else self.engine.accounts[0]),
            )
            self._gateway.dispatch(self.engine.place(req))
            return self._manual_ids

        return self._control(apply)

    def inject_bytes(self, data: bytes, client_id: int | None = None) -> None:
        """Write raw bytes into the stream of every started session (or of one client id):
        what no gateway sends (a corrupt length prefix, a frame without a message id), for
        testing a client's defences. The session stays open."""

        def apply() -> None:
            log.warning("fault: raw bytes injected", extra={"bytes": len(data)})
            self._gateway.inject_bytes(data, client_id)

        self._control(apply)

    def post_bulletin(self, message: str, msg_type: int = 1, origin_exchange: str = "") -> None:
        """An IB news bulletin (1 news, 2 exchange unavailable, 3 available again) to every
        client subscribed with reqNewsBulletins."""

        def apply() -> None:
            self._gateway.post_bulletin(message, msg_type, origin_exchange)

        self._control(apply)

    # ---- market model: sessions and market-data faults ---------------------------------------

    def on_session_event(self, listener: Callable[[SessionEvent], None]) -> None:
        """Call `listener` (on the simulator's loop) at every session boundary the clock
        crosses: open, regular open, regular close, close (trading hours on only)."""
        self._control(self._gateway.session_listeners.append, listener)

    def on_session_close(self, listener: Callable[[SessionEvent], None]) -> None:
        """At each regular-session close (where a closing auction would run)."""
        self.on_session_event(lambda ev: listener(ev) if ev.edge is Edge.REGULAR_CLOSE else None)

    def on_session_open(self, listener: Callable[[SessionEvent], None]) -> None:
        """At each regular-session open (where an opening auction would run)."""
        self.on_session_event(lambda ev: listener(ev) if ev.edge is Edge.REGULAR_OPEN else None)

    def streams(self, client_id: int) -> dict[str, tuple[int, ...]]:
        """A client's live streams by kind (safe from any thread)."""
        return self._gateway.streams(client_id)

    def farm_outage(self, farm: str = "market") -> None:
        """A data farm drops ("market", "hmds" or "secdef"): its notice (2103 / 2105 /
        2157) goes out and, for the market farm, every stream pauses."""
        code, text = _FARM_DOWN[farm]

        def apply() -> None:
            log.warning("fault: data farm down", extra={"farm": farm})
            self.faults.farms_down.add(farm)
            self._gateway.broadcast_error(-1, code, text)

        self._control(apply)

    def farm_restored(self, farm: str = "market") -> None:
        """The farm is back (2104 / 2106 / 2158); streams resume with what changed."""
        code, text = _FARM_UP[farm]

        def apply() -> None:
            self.faults.farms_down.discard(farm)
            self._gateway.broadcast_error(-1, code, text)
            self._gateway.refresh_market_data()

        self._control(apply)

    def stale_prices(self, stale: bool = True) -> None:
        """Prices freeze: subscriptions are told market data type 2 (frozen) and no tick
        moves; False makes them live (type 1) again."""

        def apply() -> None:
            self.faults.stale_prices = stale
            self._gateway.announce_market_data(None, market_data_type=2 if stale else 1)
            if not stale:
                self._gateway.refresh_market_data()

        self._control(apply)

    def competing_session(self, competing: bool = True) -> None:
        """Another live session (TWS on a second machine) takes the market data: 10197 on
        every subscription and no ticks until it ends."""

        def apply() -> None:
            self.faults.competing_session = competing
            if competing:
                self._gateway.announce_market_data(COMPETING_SESSION, TEXT_COMPETING_SESSION)
            else:
                self._gateway.refresh_market_data()

        self._control(apply)

    def send_error(self, code: int, text: str, req_id: int = -1) -> None:
        """Broadcast an error or notice (e.g. the 1100/1101/1102 connectivity sequence)."""

        def apply() -> None:
            self._gateway.broadcast_error(req_id, code, text)

        self._control(apply)
