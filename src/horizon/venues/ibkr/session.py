"""The connection session: connect, verify, supervise, reconnect, health-check, close.

Also the two ways a request reaches the gateway: `_query` (paced, idempotent reads, retried
once across a drop) and `_send` (fire-and-forget orders and cancels, never retried: an order
that may have reached the gateway is reconciled after the reconnect instead).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Final, TypeVar

from ib_async import IB, StartupFetch

from horizon.errors import (
    AccountModeMismatch,
    ClientIdInUse,
    ConfigurationError,
    HorizonError,
    JournalError,
    RequestTimeout,
    VenueUnavailable,
)
from horizon.venues.ibkr.capture import install_taps
from horizon.venues.ibkr.ingest import GatewayEvents
from horizon.venues.ibkr.mapping.status import is_paper_account
from horizon.venues.ibkr.resilience import ConnectionState, backoff_delays
from horizon.venues.ibkr.state import log, utc_now

T = TypeVar("T")

# what ib_async fetches at connect; orders and executions the venue requests itself, in the
# order reconciliation needs and with a timeout that fails the connect
_STARTUP_FETCH: Final = (
    StartupFetch.POSITIONS | StartupFetch.ACCOUNT_UPDATES | StartupFetch.SUB_ACCOUNT_UPDATES
)
_COMPLETED_ORDERS_VERSION: Final = 150  # reqCompletedOrders exists from server version 150


class Session(GatewayEvents):
    """Connection lifecycle and resilience of `Ibkr`."""

    def is_connected(self) -> bool:
        return self._ib is not None and self._ib.isConnected() and not self._marked_down

    def connect(self) -> None:
        """Connect and synchronise; raises VenueUnavailable if the gateway isn't running."""
        cfg = self._config
        tries = 1 if cfg.client_id_range is None else len(self._candidate_client_ids())
        budget = (cfg.connect_timeout * 2 + 5) * tries
        self._sync(self.connect_async(), "connect", timeout=budget)

    async def connect_async(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is not None and self._loop is not loop and not self._loop.is_closed():
            raise HorizonError("this Ibkr venue is bound to another event loop; make a new one")
        self._loop = loop
        if self.is_connected():
            return
        self._closing = False
        self._up = self._up or asyncio.Event()
        await self._open_session(first=not self._connected_once)
        self._connected_once = True
        if self._supervisor is None or self._supervisor.done():
            self._supervisor = loop.create_task(self._supervise(), name="horizon-ibkr-supervisor")
        if self._config.health_check_interval and (
            self._health_task is None or self._health_task.done()
        ):
            self._health_task = loop.create_task(self._health_loop(), name="horizon-ibkr-health")

    def close(self) -> None:
        """Disconnect and stop background work. Idempotent."""
        if self._loop is None:
            self._runner.stop()
            if self._journal is not None:
                self._journal.close()
            return
        if self._loop.is_running() and not self._loop.is_closed():
            with contextlib.suppress(RequestTimeout):
                self._sync(self.close_async(), "close", timeout=10)
        if self._runner.owns(self._loop):
            # the private loop is gone with its thread: a later connect() starts afresh
            self._runner.stop()
            self._loop = None
            self._up = None

    async def close_async(self) -> None:
        self._closing = True
        for task in (self._supervisor, self._health_task, *self._background):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._supervisor = self._health_task = None
        if self._ib is not None and self._ib.isConnected():
            self._ib.disconnect()
        if self._up is not None:
            self._up.clear()
        if self._journal is not None:
            self._journal.checkpoint()
            self._journal.close()  # the lock goes too: another venue may take the journal
        self._emit(ConnectionState.CLOSED, "closed by the application")

    def _candidate_client_ids(self) -> list[int]:
        """The ids to try, in order. A reconnect tries its leased id first: order ids and
        executions belong to a client id, so changing it would orphan the day's orders."""
        rng = self._config.client_id_range
        if rng is None:
            return [self._client_id]
        lo, hi = rng
        ids = list(range(lo, hi + 1))
        if self._connected_once and self._client_id in ids:
            ids.remove(self._client_id)
            ids.insert(0, self._client_id)
        return ids

    async def _open_session(self, *, first: bool) -> None:
        """Connect (leasing a client id if a range is set), verify, and reconcile."""
        cfg = self._config
        last_clash: ClientIdInUse | None = None
        for client_id in self._candidate_client_ids():
            try:
                await self._connect_once(client_id, first=first)
            except ClientIdInUse as exc:
                last_clash = exc
                log.warning(
                    "client id %s in use on %s:%s",
                    client_id,
                    cfg.host,
                    cfg.port,
                    extra={"client_id": client_id, "host": cfg.host, "port": cfg.port},
                )
                continue
            return
        assert last_clash is not None
        raise last_clash

    async def _connect_once(self, client_id: int, *, first: bool) -> None:
        cfg = self._config
        ib = self._ib or IB()
        if self._ib is None:
            ib.errorEvent += self._on_error
            ib.disconnectedEvent += self._on_disconnected
            ib.orderStatusEvent += self._on_trade_update
            ib.client.conn.hasData += self._on_inbound
            self._ib = ib
        install_taps(ib, self._on_execution, self._on_commission)
        ib.client.setConnectOptions("+PACEAPI" if cfg.gateway_pacing else "")
        self._client_id = client_id
        self._orders_synced = False
        await self._handshake(ib, client_id)
        try:
            self._accounts = list(ib.managedAccounts())
            self._check_account_mode()
            self._default_account = cfg.account or (self._accounts[0] if self._accounts else None)
            await self._sync_orders(ib)
            self._take_journal()
            # ib_async restarts its id counter at the gateway's nextValidId, which is below
            # the ids of orders that never reached it: never hand out an id twice
            ib.client.updateReqId(self._order_id_floor)  # type: ignore[no-untyped-call]
            await self._sync_executions(ib, first=first)
        except VenueUnavailable:
            ib.disconnect()  # a partial synchronisation: this attempt failed, the next may not
            raise
        except HorizonError:
            self._abort_connect()  # refused for good (account mode, journal): no retry
            raise
        self._marked_down = False
        self._reconcile_orders()
        assert self._up is not None
        self._up.set()
        log.info(
            "connected to %s:%s as client %s",
            cfg.host,
            cfg.port,
            client_id,
            extra={
                "host": cfg.host,
                "port": cfg.port,
                "client_id": client_id,
                "accounts": ",".join(self._accounts),
                "server_version": ib.client.serverVersion(),
            },
        )

    async def _handshake(self, ib: IB, client_id: int) -> None:
        """ib_async's connect (handshake, positions, account updates), with IB error 326
        watched so a clientId clash fails fast instead of waiting out the timeout."""
        cfg = self._config
        clash: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def on_clash(req_id: int, code: int, text: str, contract: object) -> None:
            if code == 326 and not clash.done():
                clash.set_result(None)

        ib.errorEvent += on_clash
        self._frames.reset()
        for _ in range(3):  # handshake + startup requests draw on the same budget
            await self._bucket.acquire_async()
        connect = asyncio.ensure_future(
            ib.connectAsync(
                cfg.host,
                cfg.port,
                clientId=client_id,
                timeout=cfg.connect_timeout,
                readonly=cfg.readonly,
                account=cfg.account or "",
                fetchFields=_STARTUP_FETCH,
            )
        )
        try:
            done, _ = await asyncio.wait({connect, clash}, return_when=asyncio.FIRST_COMPLETED)
            if clash in done and not connect.done():
                connect.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await connect
                ib.disconnect()
                raise ClientIdInUse(cfg.host, cfg.port, client_id)
            await connect
        except ClientIdInUse:
            raise
        # TimeoutError and ConnectionError are both OSErrors: the order of these matters
        except TimeoutError as exc:
            ib.disconnect()
            if clash.done():
                raise ClientIdInUse(cfg.host, cfg.port, client_id) from exc
            raise VenueUnavailable(
                cfg.host,
                cfg.port,
                f"TCP connected but no API handshake within {cfg.connect_timeout:g} s: the "
                "gateway is wedged, still starting, or 'Enable ActiveX and Socket Clients' is off",
            ) from exc
        except ConnectionRefusedError as exc:
            raise VenueUnavailable(cfg.host, cfg.port, f"connection refused: {exc}") from exc
        except OSError as exc:  # ConnectionError and the rest of the socket errors
            ib.disconnect()
            raise VenueUnavailable(cfg.host, cfg.port, str(exc) or type(exc).__name__) from exc
        finally:
            ib.errorEvent -= on_clash
            if not clash.done():
                clash.cancel()

    async def _startup_request(self, request: Awaitable[object], what: str) -> None:
        """One request of the (re)connect's synchronisation: paced, and a connect that gets
        no answer fails (the supervisor retries) rather than going on with a partial view."""
        cfg = self._config
        await self._bucket.acquire_async()
        try:
            await asyncio.wait_for(request, cfg.connect_timeout)
        except TimeoutError as exc:
            raise VenueUnavailable(
                cfg.host, cfg.port, f"no answer to {what} within {cfg.connect_timeout:g} s"
            ) from exc
        except ConnectionError as exc:
            raise VenueUnavailable(cfg.host, cfg.port, f"{what}: {exc}") from exc

    async def _sync_orders(self, ib: IB) -> None:
        """Open orders, then the day's completed ones: what reconciliation compares with."""
        if self._config.readonly:
            return  # a read-only API session cannot see or place orders
        await self._startup_request(ib.reqOpenOrdersAsync(), "reqOpenOrders")
        if ib.client.serverVersion() >= _COMPLETED_ORDERS_VERSION:
            await self._startup_request(ib.reqCompletedOrdersAsync(False), "reqCompletedOrders")
        self._orders_synced = True

    async def _sync_executions(self, ib: IB, *, first: bool) -> None:
        """The day's executions, through the same dedup as live fills (after the orders, so
        each finds its order; after the journal is loaded, so it decides what is new)."""
        cfg = self._config
        self._replaying_history = (
            first and self._journal is None and not cfg.replay_fills_on_first_connect
        )
        self._first_replay = first
        try:
            await self._startup_request(ib.reqExecutionsAsync(), "reqExecutions")
        finally:
            self._replaying_history = self._first_replay = False

    def _journal_owner(self) -> str:
        rng = self._config.client_id_range
        who = f"clients {rng[0]}-{rng[1]}" if rng else f"client {self._client_id}"
        return f"{who} of {','.join(sorted(self._accounts)) or '(no account)'}"

    def _take_journal(self) -> None:
        """Claim the journal for this venue (refusing another's) and, once per venue, take
        over what an earlier run left: undrained fills, owed fees, the order-id floor."""
        journal = self._journal
        if journal is None:
            return
        journal.open()
        journal.claim(self._journal_owner())
        self._order_id_floor = max(self._order_id_floor, journal.order_id_floor)
        if self._journal_loaded:
            return
        restored = journal.load(recent=self._config.dedup_memory)
        self._fills.mark_drained(restored.drained)
        for rec in restored.owed:
            self._fills.restore_owed(rec)
        now = time.monotonic()
        for rec in restored.pending:
            self._fills.add_execution(rec, now)
        for exec_id, (fee, currency) in restored.commissions.items():
            self._fills.add_commission(exec_id, fee, currency, now)
        self._journal_loaded = True
        if restored.pending or restored.commissions:
            self._fills_changed()

    def _check_account_mode(self) -> None:
        cfg = self._config
        accounts = self._accounts
        if cfg.account is not None and cfg.account not in accounts:
            self._abort_connect()
            raise ConfigurationError(
                f"account {cfg.account!r} is not managed by this login (managed: "
                f"{', '.join(accounts)}); pass one of those, or account=None for the first"
            )
        if not cfg.verify_account_mode:
            return
        wrong = [a for a in accounts if is_paper_account(a) != cfg.paper]
        if wrong:
            self._abort_connect()
            asked, found = ("PAPER", "LIVE") if cfg.paper else ("LIVE", "PAPER")
            raise AccountModeMismatch(
                f"{asked} trading was asked (paper={cfg.paper}) but {cfg.host}:{cfg.port} "
                f"serves {found} account(s) {', '.join(wrong)}; disconnected. Point the venue "
                "at the gateway of the mode you mean (paper ids start with 'D'), or pass "
                "verify_account_mode=False if your account ids do not follow IB's convention"
            )

    def _abort_connect(self) -> None:
        self._closing = True
        if self._ib is not None:
            self._ib.disconnect()

    # ------------------------------------------------------------------ resilience
    def _on_inbound(self, data: bytes) -> None:
        """Every byte the gateway sends, after ib_async read it: a corrupt frame (oversized
        length, no message id) resets the session instead of buffering without limit."""
        problem = self._frames.feed(data)
        if problem is None or self._ib is None:
            return
        cfg = self._config
        log.error(
            "corrupt data from the gateway; resetting the session",
            extra={
                "host": cfg.host,
                "port": cfg.port,
                "client_id": self._client_id,
                "reason": problem,
                "frames": self._frames.frames,
            },
        )
        self._marked_down = True
        if self._up is not None:
            self._up.clear()
        self._ib.disconnect()

    def _on_disconnected(self) -> None:
        if self._up is not None:
            self._up.clear()
        if self._closing:
            return
        cfg = self._config
        log.warning(
            "disconnected from %s:%s",
            cfg.host,
            cfg.port,
            extra={"host": cfg.host, "port": cfg.port, "client_id": self._client_id},
        )
        self._emit(ConnectionState.DISCONNECTED, "socket closed")

    async def _supervise(self) -> None:
        """Reconnect with backoff whenever the connection drops, until close()."""
        assert self._up is not None
        cfg = self._config
        while not self._closing:
            if self.is_connected():
                self._up.set()
                await self._wait_down()
                continue
            if not cfg.reconnect:
                return
            started = time.monotonic()
            for attempt, delay in enumerate(
                backoff_delays(cfg.reconnect_initial_delay, cfg.reconnect_max_delay), start=1
            ):
                if self._closing:
                    return
                await asyncio.sleep(delay)
                try:
                    await self._open_session(first=False)
                except (VenueUnavailable, TimeoutError, OSError) as exc:
                    log.warning(
                        "reconnect attempt %s failed",
                        attempt,
                        extra={
                            "attempt": attempt,
                            "delay_s": round(delay, 3),
                            "error": str(exc),
                            "client_id": self._client_id,
                        },
                    )
                    continue
                except (ConfigurationError, JournalError) as exc:
                    log.error("reconnect refused: %s", exc, extra={"attempt": attempt})
                    self._emit(ConnectionState.CLOSED, str(exc), attempt)
                    return
                self.reconnects += 1
                took = time.monotonic() - started
                log.info(
                    "reconnected after %s attempt(s)",
                    attempt,
                    extra={
                        "attempt": attempt,
                        "downtime_s": round(took, 3),
                        "client_id": self._client_id,
                    },
                )
                self._emit(ConnectionState.RECONNECTED, f"after {took:.2f} s", attempt)
                break

    async def _wait_down(self) -> None:
        while not self._closing and self.is_connected():
            fut = asyncio.get_running_loop().create_future()

            def done(fut: asyncio.Future[None] = fut) -> None:
                if not fut.done():
                    fut.set_result(None)

            assert self._ib is not None
            self._ib.disconnectedEvent += done
            try:
                # re-check after subscribing: marked-down needs no event
                if self.is_connected():
                    await asyncio.wait_for(fut, timeout=1.0)
            except TimeoutError:
                pass
            finally:
                self._ib.disconnectedEvent -= done

    async def _ready(self) -> IB:
        """The connected IB, waiting out a reconnection up to `reconnect_wait`."""
        cfg = self._config
        if self._ib is None or self._up is None or self._closing:
            raise self._not_connected()
        if self.is_connected():
            return self._ib
        if not cfg.reconnect:
            raise VenueUnavailable(
                cfg.host,
                cfg.port,
                message=f"the connection to {cfg.host}:{cfg.port} dropped and reconnect=False; "
                "call connect() again",
            )
        try:
            await asyncio.wait_for(self._up.wait(), cfg.reconnect_wait)
        except TimeoutError as exc:
            raise VenueUnavailable(
                cfg.host, cfg.port, f"still reconnecting after {cfg.reconnect_wait:g} s"
            ) from exc
        return self._ib

    def _not_connected(self) -> VenueUnavailable:
        """Says what is true: the venue was not connected (or was closed), which is not the
        same as a gateway that does not answer."""
        cfg = self._config
        where = f"{cfg.host}:{cfg.port}"
        if not self._connected_once:
            text = f"this venue is not connected; call connect() first (to {where})"
        else:
            text = f"this venue is closed; call connect() to connect to {where} again"
        return VenueUnavailable(cfg.host, cfg.port, message=text)

    async def _health_loop(self) -> None:
        interval = self._config.health_check_interval
        assert interval
        while not self._closing:
            await asyncio.sleep(interval)
            if self.is_connected():
                await self.health_check_async()

    # ------------------------------------------------------------------ health
    def health_check(self) -> bool:
        """Blocking twin of `health_check_async`."""
        return self._sync(
            self.health_check_async(), "health_check", timeout=self._config.health_timeout + 15
        )

    async def health_check_async(self) -> bool:
        """A paced reqCurrentTime round trip; False (and marked disconnected) if it fails.

        Catches the half-open socket that ib_async still reports as connected.
        """
        cfg = self._config
        ib = self._ib
        if ib is None or not ib.isConnected() or self._marked_down:
            return False
        await self._bucket.acquire_async()
        started = time.perf_counter()
        try:
            await asyncio.wait_for(ib.reqCurrentTimeAsync(), cfg.health_timeout)
        except (TimeoutError, ConnectionError, OSError) as exc:
            log.warning(
                "health check failed; marking the connection down",
                extra={
                    "host": cfg.host,
                    "port": cfg.port,
                    "client_id": self._client_id,
                    "timeout_s": cfg.health_timeout,
                    "error": type(exc).__name__,
                },
            )
            self._marked_down = True
            if self._up is not None:
                self._up.clear()
            ib.disconnect()
            return False
        self._last_health_rtt_s = time.perf_counter() - started
        self._last_health_at = utc_now()
        return True

    async def _query(self, request: Callable[[IB], Awaitable[T]], what: str) -> T:
        """A paced, idempotent request: retried once if the socket drops under it.

        Only for reads. Orders are never retried: a placeOrder that may have reached the
        gateway is reconciled after the reconnect instead of being sent twice.
        """
        cfg = self._config
        for attempt in (1, 2):
            ib = await self._ready()
            await self._bucket.acquire_async()
            try:
                return await asyncio.wait_for(request(ib), cfg.request_timeout)
            except TimeoutError as exc:
                raise RequestTimeout(what, cfg.request_timeout) from exc
            except ConnectionError as exc:
                log.warning(
                    "connection lost during a request",
                    extra={"what": what, "attempt": attempt, "client_id": self._client_id},
                )
                if attempt == 2 or not cfg.reconnect:
                    raise VenueUnavailable(cfg.host, cfg.port, f"{what}: {exc}") from exc
        raise AssertionError("unreachable")

    def _send(self, what: str, send: Callable[[IB], T], ib: IB) -> T:
        """A fire-and-forget send (placeOrder, cancelOrder): a dead socket is a typed error."""
        cfg = self._config
        if not ib.isConnected():
            raise VenueUnavailable(cfg.host, cfg.port, f"{what}: the connection dropped")
        try:
            return send(ib)
        except ConnectionError as exc:
            raise VenueUnavailable(cfg.host, cfg.port, f"{what}: {exc}") from exc
