"""Connection: the venue's one link to the gateway, and everything about keeping it.

It owns the ib_async `IB`, the event loop the venue lives on, the client id and managed
accounts, one lifecycle state, the supervisor that reconnects after a drop, the background
health check, the frame guard, the listeners, and the two ways a request reaches the gateway:
`query` (paced, idempotent reads, retried once across a drop) and `send` (paced, never
retried: an order that may have reached the gateway is reconciled after the reconnect).

The other parts plug in without reaching inside: `add_ib_hook` (run once when the `IB` is
built: event subscriptions, taps), `add_session_step` (run in order after every handshake,
before the venue counts as up: order and execution synchronisation, reconciliation) and
`add_error_handler` (offered every IB error code the connection does not own).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final, TypeVar

from ib_async import IB, StartupFetch

from horizon.core.ratelimit import TokenBucket
from horizon.core.sync import LoopThread
from horizon.errors import (
    AccountModeMismatch,
    ClientIdInUse,
    ConfigurationError,
    HorizonError,
    InvalidOrder,
    JournalError,
    RequestTimeout,
    VenueUnavailable,
)
from horizon.venues.ibkr import fast_decode, fast_encode, fast_trades
from horizon.venues.ibkr.config import IbkrConfig, ib_async_queue_limit
from horizon.venues.ibkr.frameguard import FrameGuard
from horizon.venues.ibkr.mapping.status import ErrorKind, classify_error, is_paper_account
from horizon.venues.ibkr.resilience import ConnectionEvent, ConnectionState, backoff_delays

log = logging.getLogger("horizon.venues.ibkr")

T = TypeVar("T")
Listener = Callable[[ConnectionEvent], None]
SessionStep = Callable[[IB, bool], Awaitable[None]]  # (ib, first connect) -> None
ErrorHandler = Callable[[int, int, str, Any], bool]  # (req_id, code, text, contract) -> owned

# what ib_async fetches at connect; orders and executions the venue requests itself, in the
# order reconciliation needs and with a timeout that fails the connect. ib_async's account
# and portfolio subscriptions (reqAccountUpdates, reqAccountUpdatesMulti) only if asked for:
# the venue reads balances from the account summary, and the gateway pushes some 27 changed
# values down each of them on every fill
STARTUP_FETCH: Final = StartupFetch.POSITIONS
ACCOUNT_FETCH: Final = StartupFetch.ACCOUNT_UPDATES | StartupFetch.SUB_ACCOUNT_UPDATES
HANDSHAKE_TOKENS: Final = 3  # startApi and ib_async's first requests on a new connection


def utc_now() -> datetime:
    return datetime.now(UTC)


class Lifecycle(StrEnum):
    NEW = "new"  # built, never connected
    CONNECTING = "connecting"  # a handshake and its synchronisation are under way
    UP = "up"
    DOWN = "down"  # dropped, or marked down by a failed health check; the supervisor works
    CLOSED = "closed"  # close(), or refused for good (account mode, journal)


@dataclass(frozen=True, slots=True)
class HealthSample:
    """The last successful health check: its round trip and when it ended (UTC)."""

    rtt_s: float
    at: datetime


async def _logged(coro: Coroutine[Any, Any, None]) -> None:
    try:
        await coro
    except asyncio.CancelledError:
        raise
    except Exception:
        name = getattr(coro, "__qualname__", "?")
        log.exception("venue background task failed", extra={"task": name})


class Connection:
    """The venue's connection to one TWS / IB Gateway (see the module docstring)."""

    def __init__(self, config: IbkrConfig, bucket: TokenBucket, runner: LoopThread) -> None:
        self.config = config
        self.bucket = bucket
        self.runner = runner
        self._lifecycle = Lifecycle.NEW
        self.client_id = config.client_id
        self.accounts: list[str] = []
        self.default_account: str | None = None
        self.reconnects = 0
        self.last_health: HealthSample | None = None
        self.connected_at: datetime | None = None  # the last time a (re)connect completed
        self.health_observers: list[Callable[[float], None]] = []  # RTT of each check, s
        self.corrupt_frames = 0
        self._down_total = 0.0  # seconds not UP since the first connect (for metrics)
        self._down_since: float | None = None
        self._ib: IB | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._up: asyncio.Event | None = None
        self._ever_up = False
        self._frames = FrameGuard()
        self._listeners: list[Listener] = []
        self._ib_hooks: list[Callable[[IB], None]] = []
        self._steps: list[SessionStep] = []
        self._error_handlers: list[ErrorHandler] = []
        self._supervisor: asyncio.Task[None] | None = None
        self._health_task: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------ plumbing for parts
    def add_ib_hook(self, hook: Callable[[IB], None]) -> None:
        self._ib_hooks.append(hook)

    def add_session_step(self, step: SessionStep) -> None:
        self._steps.append(step)

    def add_error_handler(self, handler: ErrorHandler) -> None:
        self._error_handlers.append(handler)

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def emit(self, state: ConnectionState, detail: str = "", attempt: int = 0) -> None:
        event = ConnectionEvent(state=state, at=utc_now(), detail=detail, attempt=attempt)
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("connection listener failed", extra={"state": state.value})

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run `coro` on the venue's loop until it ends or the venue closes (cancelled then);
        what it raises is logged, never lost in a forgotten task."""
        loop = self._loop
        if loop is None or loop.is_closed():
            coro.close()
            return
        task = loop.create_task(_logged(coro))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # ------------------------------------------------------------------ state
    @property
    def lifecycle(self) -> Lifecycle:
        return self._lifecycle

    @lifecycle.setter
    def lifecycle(self, state: Lifecycle) -> None:
        was, now = self._lifecycle, time.monotonic()
        if was is Lifecycle.UP and state is not Lifecycle.UP:
            self._down_since = now  # an outage starts (CLOSED ends the count below)
        ends = state is Lifecycle.UP or state is Lifecycle.CLOSED
        if ends and self._down_since is not None:
            self._down_total += now - self._down_since
            self._down_since = None
        self._lifecycle = state

    def disconnected_seconds(self) -> float:
        """Seconds not connected since the first connect (the current outage included);
        the time after close() does not count."""
        current = time.monotonic() - self._down_since if self._down_since is not None else 0.0
        return self._down_total + current

    @property
    def ib(self) -> IB | None:
        return self._ib

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The event loop the venue's I/O runs on (the caller's, or the private thread's)."""
        return self._loop or self.runner.loop

    @property
    def bound_loop(self) -> asyncio.AbstractEventLoop | None:
        return self._loop

    def is_connected(self) -> bool:
        return self._ib is not None and self._ib.isConnected() and self.lifecycle is Lifecycle.UP

    def not_connected(self) -> VenueUnavailable:
        """Says what is true: the venue was not connected (or was closed), which is not the
        same as a gateway that does not answer."""
        cfg = self.config
        where = f"{cfg.host}:{cfg.port}"
        if not self._ever_up:
            text = f"this venue is not connected; call connect() first (to {where})"
        else:
            text = f"this venue is closed; call connect() to connect to {where} again"
        return VenueUnavailable(cfg.host, cfg.port, message=text)

    def account_for(self, requested: str | None) -> str:
        """The account an order goes to: the one asked for (if this login manages it)."""
        account = requested or self.default_account
        if account is None:
            raise ConfigurationError("the gateway reported no managed account; cannot route")
        if self.accounts and account not in self.accounts:
            raise InvalidOrder(
                "account",
                f"{account!r} is not managed by this login ({', '.join(self.accounts)})",
            )
        return account

    def masters(self) -> set[str]:
        """FA master (advisor) accounts of this login: DF... paper, F + digits live."""
        return {
            a
            for a in self.accounts
            if (a.startswith("DF") if is_paper_account(a) else a[:1] == "F" and a[1:].isdigit())
        }

    # ------------------------------------------------------------------ lifecycle
    async def connect_async(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is not None and self._loop is not loop and not self._loop.is_closed():
            raise HorizonError("this Ibkr venue is bound to another event loop; make a new one")
        self._loop = loop
        if self.is_connected():
            return
        self._up = self._up or asyncio.Event()
        self.lifecycle = Lifecycle.CONNECTING
        try:
            await self._open_session(first=not self._ever_up)
        except BaseException:
            if self.lifecycle is Lifecycle.CONNECTING:
                self.lifecycle = Lifecycle.CLOSED if not self._ever_up else Lifecycle.DOWN
            raise
        self._ever_up = True
        if self._supervisor is None or self._supervisor.done():
            self._supervisor = loop.create_task(self._supervise(), name="horizon-ibkr-supervisor")
        interval = self.config.health_check_interval
        if interval and (self._health_task is None or self._health_task.done()):
            self._health_task = loop.create_task(self._health_loop(), name="horizon-ibkr-health")

    async def close_async(self) -> None:
        self.lifecycle = Lifecycle.CLOSED
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
        self.emit(ConnectionState.CLOSED, "closed by the application")

    def release_loop(self) -> None:
        """After close(): forget a private loop (gone with its thread); a later connect()
        starts afresh."""
        if self._loop is not None and self.runner.owns(self._loop):
            self.runner.stop()
            self._loop = None
            self._up = None

    def _candidate_client_ids(self) -> list[int]:
        """The ids to try, in order. A reconnect tries its leased id first: order ids and
        executions belong to a client id, so changing it would orphan the day's orders."""
        rng = self.config.client_id_range
        if rng is None:
            return [self.client_id]
        lo, hi = rng
        ids = list(range(lo, hi + 1))
        if self._ever_up and self.client_id in ids:
            ids.remove(self.client_id)
            ids.insert(0, self.client_id)
        return ids

    def connect_attempts(self) -> int:
        return len(self._candidate_client_ids())

    async def _open_session(self, *, first: bool) -> None:
        """Connect (leasing a client id if a range is set), verify, and synchronise."""
        cfg = self.config
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

    def _ensure_ib(self) -> IB:
        if self._ib is None:
            ib = IB()
            fast_decode.install(ib.client.decoder)
            fast_encode.install(ib.client)
            fast_trades.install(ib)
            if (limit := ib_async_queue_limit(self.config)) is not None:
                ib.client.MaxRequests = limit  # this client only; ib_async's class keeps 45
            ib.errorEvent += self._on_error
            ib.disconnectedEvent += self._on_disconnected
            ib.client.conn.hasData += self._on_inbound
            self._ib = ib
            for hook in self._ib_hooks:
                hook(ib)
        return self._ib

    async def _connect_once(self, client_id: int, *, first: bool) -> None:
        cfg = self.config
        ib = self._ensure_ib()
        ib.client.setConnectOptions("+PACEAPI" if cfg.gateway_pacing else "")
        self.client_id = client_id
        await self._handshake(ib, client_id)
        try:
            self.accounts = list(ib.managedAccounts())
            self._check_account_mode()
            self.default_account = cfg.account or (self.accounts[0] if self.accounts else None)
            for step in self._steps:
                await step(ib, first)
        except VenueUnavailable:
            ib.disconnect()  # a partial synchronisation: this attempt failed, the next may not
            raise
        except HorizonError:
            self._refuse()  # refused for good (account mode, journal): no retry
            raise
        self.lifecycle = Lifecycle.UP
        self.connected_at = utc_now()
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
                "accounts": ",".join(self.accounts),
                "server_version": ib.client.serverVersion(),
            },
        )

    async def _handshake(self, ib: IB, client_id: int) -> None:
        """ib_async's connect (handshake, positions, account updates), with IB error 326
        watched so a clientId clash fails fast instead of waiting out the timeout."""
        cfg = self.config
        clash: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def on_clash(req_id: int, code: int, text: str, contract: object) -> None:
            if code == 326 and not clash.done():
                clash.set_result(None)

        ib.errorEvent += on_clash
        self._frames.reset()
        for _ in range(HANDSHAKE_TOKENS):  # handshake + startup requests share the budget
            await self.bucket.acquire_async()
        connect = asyncio.ensure_future(
            ib.connectAsync(
                cfg.host,
                cfg.port,
                clientId=client_id,
                timeout=cfg.connect_timeout,
                readonly=cfg.read_only,
                account=cfg.account or "",
                fetchFields=STARTUP_FETCH | ACCOUNT_FETCH if cfg.account_updates else STARTUP_FETCH,
            )
        )
        try:
            done, _ = await asyncio.wait({connect, clash}, return_when=asyncio.FIRST_COMPLETED)
            if clash in done and not connect.done():
                connect.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await connect
                ib.disconnect()
                # the gateway paces per connection and this one is gone: a range of taken
                # ids is walked at the speed of the handshakes, not of the bucket
                self.bucket.refund(HANDSHAKE_TOKENS)
                raise ClientIdInUse(cfg.host, cfg.port, client_id)
            await connect
        except ClientIdInUse:
            raise
        # TimeoutError and ConnectionError are both OSErrors: the order of these matters
        except TimeoutError as exc:
            ib.disconnect()
            if clash.done():
                self.bucket.refund(HANDSHAKE_TOKENS)
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

    async def startup_request(self, request: Awaitable[object], what: str) -> None:
        """One request of a (re)connect's synchronisation: paced, and a connect that gets no
        answer fails (the supervisor retries) rather than going on with a partial view."""
        cfg = self.config
        await self.bucket.acquire_async()
        try:
            await asyncio.wait_for(request, cfg.connect_timeout)
        except TimeoutError as exc:
            raise VenueUnavailable(
                cfg.host, cfg.port, f"no answer to {what} within {cfg.connect_timeout:g} s"
            ) from exc
        except ConnectionError as exc:
            raise VenueUnavailable(cfg.host, cfg.port, f"{what}: {exc}") from exc

    def _check_account_mode(self) -> None:
        cfg = self.config
        accounts = self.accounts
        if cfg.account is not None and cfg.account not in accounts:
            raise ConfigurationError(
                f"account {cfg.account!r} is not managed by this login (managed: "
                f"{', '.join(accounts)}); pass one of those, or account=None for the first"
            )
        if not cfg.verify_account_mode:
            return
        wrong = [a for a in accounts if is_paper_account(a) != cfg.paper]
        if wrong:
            asked, found = ("PAPER", "LIVE") if cfg.paper else ("LIVE", "PAPER")
            raise AccountModeMismatch(
                f"{asked} trading was asked (paper={cfg.paper}) but {cfg.host}:{cfg.port} "
                f"serves {found} account(s) {', '.join(wrong)}; disconnected. Point the venue "
                "at the gateway of the mode you mean (paper ids start with 'D'), or pass "
                "verify_account_mode=False if your account ids do not follow IB's convention"
            )

    def _refuse(self) -> None:
        self.lifecycle = Lifecycle.CLOSED
        if self._ib is not None:
            self._ib.disconnect()

    def _mark_down(self) -> None:
        """The socket may look up but is not usable: the supervisor reconnects."""
        if self.lifecycle is Lifecycle.UP:
            self.lifecycle = Lifecycle.DOWN
        if self._up is not None:
            self._up.clear()
        if self._ib is not None:
            self._ib.disconnect()

    # ------------------------------------------------------------------ events from ib_async
    def _on_disconnected(self) -> None:
        if self._up is not None:
            self._up.clear()
        if self.lifecycle is Lifecycle.CLOSED:
            return
        if self.lifecycle is Lifecycle.UP:
            self.lifecycle = Lifecycle.DOWN
        cfg = self.config
        log.warning(
            "disconnected from %s:%s",
            cfg.host,
            cfg.port,
            extra={"host": cfg.host, "port": cfg.port, "client_id": self.client_id},
        )
        self.emit(ConnectionState.DISCONNECTED, "socket closed")

    def _on_inbound(self, data: bytes) -> None:
        """Every byte the gateway sends, after ib_async read it: a corrupt frame (oversized
        length, no message id) resets the session instead of buffering without limit."""
        problem = self._frames.feed(data)
        if problem is None or self._ib is None:
            return
        self.corrupt_frames += 1
        cfg = self.config
        log.error(
            "corrupt data from the gateway; resetting the session",
            extra={
                "host": cfg.host,
                "port": cfg.port,
                "client_id": self.client_id,
                "reason": problem,
                "frames": self._frames.frames,
            },
        )
        self._mark_down()

    def _on_error(self, req_id: int, code: int, text: str, contract: Any) -> None:
        kind = classify_error(code)
        fields = {"req_id": req_id, "code": code, "client_id": self.client_id, "kind": kind.value}
        if kind is ErrorKind.CLIENT_ID_IN_USE:
            log.debug("IB error 326: %s", text, extra=fields)  # connect() says it, once
            return
        if kind is ErrorKind.CONNECTIVITY_LOST:
            log.warning("IB connectivity lost (1100)", extra=fields)
            self.emit(ConnectionState.DEGRADED, text)
        elif kind is ErrorKind.CONNECTIVITY_RESTORED:
            log.warning("IB connectivity restored (%s)", code, extra=fields)
            self.emit(ConnectionState.RESTORED, text)
        owned = False
        for handler in self._error_handlers:
            owned = handler(req_id, code, text, contract) or owned
        if owned or kind in (ErrorKind.CONNECTIVITY_LOST, ErrorKind.CONNECTIVITY_RESTORED):
            return
        if kind is ErrorKind.INFO:
            log.info("IB notice %s: %s", code, text, extra=fields)
        elif kind is ErrorKind.UNKNOWN_CONTRACT:
            # the request that asked raises UnknownInstrument: the caller is told already
            log.info("IB has no security definition (%s): %s", code, text, extra=fields)
        elif kind in (ErrorKind.WARNING, ErrorKind.NO_MARKET_DATA, ErrorKind.DELAYED_DATA):
            log.warning("IB warning %s: %s", code, text, extra=fields)
        else:
            log.error("IB error %s: %s", code, text, extra=fields)

    # ------------------------------------------------------------------ supervision
    async def _supervise(self) -> None:
        """Reconnect with backoff whenever the connection drops, until close()."""
        assert self._up is not None
        cfg = self.config
        while self.lifecycle is not Lifecycle.CLOSED:
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
                if self.lifecycle is Lifecycle.CLOSED:
                    return
                await asyncio.sleep(delay)
                self.lifecycle = Lifecycle.CONNECTING
                try:
                    await self._open_session(first=False)
                except (VenueUnavailable, TimeoutError, OSError) as exc:
                    if self.lifecycle is Lifecycle.CONNECTING:
                        self.lifecycle = Lifecycle.DOWN
                    log.warning(
                        "reconnect attempt %s failed",
                        attempt,
                        extra={
                            "attempt": attempt,
                            "delay_s": round(delay, 3),
                            "error": str(exc),
                            "client_id": self.client_id,
                        },
                    )
                    continue
                except (ConfigurationError, JournalError) as exc:
                    log.error("reconnect refused: %s", exc, extra={"attempt": attempt})
                    self.lifecycle = Lifecycle.CLOSED
                    self.emit(ConnectionState.CLOSED, str(exc), attempt)
                    return
                self.reconnects += 1
                took = time.monotonic() - started
                log.info(
                    "reconnected after %s attempt(s)",
                    attempt,
                    extra={
                        "attempt": attempt,
                        "downtime_s": round(took, 3),
                        "client_id": self.client_id,
                    },
                )
                self.emit(ConnectionState.RECONNECTED, f"after {took:.2f} s", attempt)
                break

    async def _wait_down(self) -> None:
        while self.lifecycle is not Lifecycle.CLOSED and self.is_connected():
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

    async def ready(self) -> IB:
        """The connected IB, waiting out a reconnection up to `reconnect_wait`."""
        cfg = self.config
        if self._ib is None or self._up is None or self.lifecycle is Lifecycle.CLOSED:
            raise self.not_connected()
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

    # ------------------------------------------------------------------ health
    async def _health_loop(self) -> None:
        interval = self.config.health_check_interval
        assert interval
        while self.lifecycle is not Lifecycle.CLOSED:
            await asyncio.sleep(interval)
            if self.is_connected():
                await self.health_check_async()

    async def health_check_async(self) -> bool:
        """A paced reqCurrentTime round trip; False (and marked down) if it fails.

        Catches the half-open socket that ib_async still reports as connected.
        """
        cfg = self.config
        ib = self._ib
        if ib is None or not ib.isConnected():
            return False
        if self.lifecycle not in (Lifecycle.UP, Lifecycle.CONNECTING):
            return False  # marked down (a failed check, a corrupt frame) or closed
        await self.bucket.acquire_async()
        started = time.perf_counter()
        try:
            await asyncio.wait_for(ib.reqCurrentTimeAsync(), cfg.health_timeout)
        except (TimeoutError, ConnectionError, OSError) as exc:
            log.warning(
                "health check failed; marking the connection down",
                extra={
                    "host": cfg.host,
                    "port": cfg.port,
                    "client_id": self.client_id,
                    "timeout_s": cfg.health_timeout,
                    "error": type(exc).__name__,
                },
            )
            self._mark_down()
            return False
        rtt = time.perf_counter() - started
        self.last_health = HealthSample(rtt_s=rtt, at=utc_now())
        for observe in self.health_observers:
            observe(rtt)
        return True

    # ------------------------------------------------------------------ requests
    async def query(self, request: Callable[[IB], Awaitable[T]], what: str) -> T:
        """A paced, idempotent request: retried once if the socket drops under it.

        Only for reads. Orders are never retried: a placeOrder that may have reached the
        gateway is reconciled after the reconnect instead of being sent twice.
        """
        cfg = self.config
        for attempt in (1, 2):
            ib = await self.ready()
            await self.bucket.acquire_async()
            try:
                return await asyncio.wait_for(request(ib), cfg.request_timeout)
            except TimeoutError as exc:
                raise RequestTimeout(what, cfg.request_timeout) from exc
            except ConnectionError as exc:
                log.warning(
                    "connection lost during a request",
                    extra={"what": what, "attempt": attempt, "client_id": self.client_id},
                )
                if attempt == 2 or not cfg.reconnect:
                    raise VenueUnavailable(cfg.host, cfg.port, f"{what}: {exc}") from exc
        raise AssertionError("unreachable")

    async def send(self, what: str, send: Callable[[IB], T]) -> T:
        """A paced fire-and-forget request (placeOrder, cancelOrder, reqMktData...), never
        retried. `send(ib)` runs right after the token and the connected IB, with no await
        in between, so whatever it checks first still holds when it sends. A dead socket is
        VenueUnavailable and nothing is sent."""
        await self.bucket.acquire_async()
        ib = await self.ready()
        cfg = self.config
        if not ib.isConnected():
            raise VenueUnavailable(cfg.host, cfg.port, f"{what}: the connection dropped")
        try:
            return send(ib)
        except ConnectionError as exc:
            raise VenueUnavailable(cfg.host, cfg.port, f"{what}: {exc}") from exc
