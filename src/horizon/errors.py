"""Horizon's typed errors: one class per thing a caller would handle differently.

Every message says what happened, names the value, and says what to do next. Nothing here
imports from the rest of Horizon, so any layer can raise these.
"""

from __future__ import annotations


class HorizonError(Exception):
    """Root of all deliberate Horizon errors; catch this, not Exception."""


class ConfigurationError(HorizonError, ValueError):
    """A venue was configured in a way that cannot be safe or cannot work.

    A ValueError too, so the spec's `ValueError: port 7496 is a known IBKR LIVE port` holds.
    """


class InvalidOrder(HorizonError, ValueError):
    """An order was refused before anything was sent."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"invalid order: {field}: {reason}")
        self.field = field
        self.reason = reason


class InvalidMarketId(HorizonError, ValueError):
    """A market id string could not be parsed into an instrument."""

    def __init__(self, market_id: str, part: str, reason: str) -> None:
        super().__init__(f"invalid market id {market_id!r}: {part}: {reason}")
        self.market_id = market_id
        self.part = part
        self.reason = reason


class UnknownInstrument(HorizonError, LookupError):
    """The venue does not know the instrument, or knows several matching it."""

    def __init__(self, market_id: str, reason: str) -> None:
        super().__init__(f"cannot resolve {market_id!r}: {reason}")
        self.market_id = market_id
        self.reason = reason


class VenueUnavailable(HorizonError, ConnectionError):
    """The venue cannot be reached (nothing listens, it went away, or it does not answer)."""

    def __init__(
        self, host: str, port: int, detail: str = "", *, message: str | None = None
    ) -> None:
        msg = message or (
            f"nothing answered on {host}:{port}; start TWS or IB Gateway with the API enabled "
            "(and IBC logged in), or run `horizon-ibkr sim` for the simulator"
        )
        if detail:
            msg = f"{msg} ({detail})"
        super().__init__(msg)
        self.host = host
        self.port = port
        self.detail = detail


class ClientIdInUse(VenueUnavailable):
    """Another process holds this client id on the gateway (IB error 326)."""

    def __init__(self, host: str, port: int, client_id: int) -> None:
        HorizonError.__init__(
            self,
            f"client id {client_id} is already in use on {host}:{port}; another process holds "
            "it. Give each process its own client_id (0..999), or pass client_id_range=(lo, hi) "
            "to lease the first free id of a range reserved for this service",
        )
        self.host = host
        self.port = port
        self.detail = "client id in use"
        self.client_id = client_id


class AccountModeMismatch(ConfigurationError):
    """The gateway's accounts are live while paper was asked for, or the reverse."""


class VenueRejected(HorizonError):
    """The venue refused a request (an IB error code tied to it)."""

    def __init__(self, code: int, text: str, *, order_id: int | None = None) -> None:
        where = f" for order {order_id}" if order_id is not None else ""
        super().__init__(f"IB error {code}{where}: {text}")
        self.code = code
        self.text = text
        self.order_id = order_id


class UnknownOrder(HorizonError, LookupError):
    """An order id this venue never placed and the gateway does not report."""

    def __init__(self, order_id: int | str, *, forgotten: int | None = None) -> None:
        why = (
            f"it finished before the newest {forgotten} finished orders and was forgotten "
            "(order_history)"
            if forgotten is not None
            else "use an id returned by submit()"
        )
        super().__init__(f"order {order_id} is not known to this venue; {why}")
        self.order_id = order_id


class OrderRefused(HorizonError):
    """A pre-trade rule of this venue refused the order before anything was sent."""

    def __init__(self, rule: str, detail: str) -> None:
        super().__init__(f"order refused by the {rule} rule: {detail}")
        self.rule = rule
        self.detail = detail


class UnknownTicket(HorizonError, LookupError):
    """A ticket id this venue never issued, or a leg role the ticket does not have."""

    def __init__(self, ticket_id: str, reason: str) -> None:
        super().__init__(f"ticket {ticket_id!r}: {reason}")
        self.ticket_id = ticket_id
        self.reason = reason


class RequestTimeout(HorizonError, TimeoutError):
    """The venue did not answer a request within its timeout."""

    def __init__(self, what: str, timeout: float) -> None:
        super().__init__(f"{what} got no answer within {timeout:g} s")
        self.what = what
        self.timeout = timeout


class JournalError(HorizonError):
    """The fill journal cannot be used: missing rights, not a journal, someone else's, broken.

    Raised at construction or `connect()` for what can be known then, and by `drain_fills()`
    when a write fails: a fill is never handed out unless the journal recorded it.
    """

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"fill journal {path}: {reason}")
        self.path = path
        self.reason = reason


class JournalInUse(JournalError):
    """Another live venue (this process or another) holds the journal."""


class PacingViolation(HorizonError):
    """The gateway reported error 100: more than its message rate limit."""


class InvalidRequest(HorizonError, ValueError):
    """A data request was refused before anything was sent (a bar size IB does not serve, a
    range that ends before it starts, ...)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"invalid request: {field}: {reason}")
        self.field = field
        self.reason = reason


class HistoricalPacing(HorizonError):
    """A historical data request would break IB's historical pacing rules (and the venue is
    set to refuse rather than wait), or IB answered error 162 for it."""

    def __init__(self, rule: str, detail: str, *, wait_s: float | None = None) -> None:
        super().__init__(f"historical pacing ({rule}): {detail}")
        self.rule = rule
        self.detail = detail
        self.wait_s = wait_s


class MarketDataLimit(HorizonError):
    """The account's market data lines are all in use (IB error 101): cancel a subscription
    first, or buy more lines."""

    def __init__(self, market_id: str, text: str) -> None:
        super().__init__(f"market data for {market_id}: no line left (IB 101: {text})")
        self.market_id = market_id
        self.text = text
