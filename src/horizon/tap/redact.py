"""Redaction of tapped events, pure: an event in, the same event with stand-ins out.

What is replaced, consistently within one `Redactor` (one recording):

* **account ids**: every value of a field that holds one (`account`, `acct_code`,
  `acct_number`, the clearing accounts, managedAccounts' comma list) and of the account values
  that name one (`AccountCode`, `AccountOrGroup`). Each id learned is then replaced wherever
  it appears in any frame, free text included (an error text quoting an account). The stand-in
  keeps the letters, so paper stays paper: DU1234567 -> DU0000001, U7654321 -> U0000001;
* **names**: a text value of an account value / account summary row that is not a number, a
  flag, a currency or a known category (AccountType, SegmentTitle, ...) -> `name0000001`;
* **order refs**: `order_ref` of orders, open/completed orders and executions -> `ref0000001`.

The event's `raw` frame is rebuilt from the redacted fields, every other byte as it was, and
decoded again, so the fields and the raw frame of a recording say the same thing. The bytes
the proxy forwards are never these: redaction works on copies, after forwarding.

Not covered: FA group and model names, free text that names a person, ids first seen in a
frame the codec cannot read (they are replaced once learned from a readable one; a session's
managedAccounts, its first message, names every account of the login).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from horizon.tap.decode import EventKind, WireEvent
from horizon.tap.wire import Message, decode_payload, field_positions, frame, replace_fields

__all__ = ["ACCOUNT_FIELDS", "ACCOUNT_ID", "ORDER_REF_FIELDS", "AccountSwap", "Redactor"]

# top-level row fields that hold an account id (or, for `accounts`, a comma-separated list)
ACCOUNT_FIELDS: Final = frozenset(
    {"account", "accounts", "acct_code", "acct_number", "clearing_account",
     "delta_neutral_clearing_account"}
)  # fmt: skip
ORDER_REF_FIELDS: Final = frozenset({"order_ref"})
ACCOUNT_ID: Final = re.compile(r"[A-Z]{1,3}[0-9]{1,12}")

# account value / summary keys whose value is an account id (or "All")
_ACCOUNT_KEYS: Final = frozenset({"AccountCode", "AccountOrGroup"})
# keys whose text value is a category, not a name (the part before IB's "-C"/"-S" suffix)
_PLAIN_KEYS: Final = frozenset(
    {"AccountType", "AccountReady", "Currency", "RealCurrency", "SegmentTitle", "TradingType",
     "NLVAndMarginInReview", "WhatIfPMEnabled", "ColumnPrio"}
)  # fmt: skip
_NUMBER: Final = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_CURRENCY: Final = re.compile(r"[A-Z]{3}|BASE")
_FLAGS: Final = frozenset({"true", "false"})
_DIGITS: Final = 7


def _is_name(key: str, value: str) -> bool:
    """Whether an account value row's text is someone's name rather than a figure."""
    if not value or key in _ACCOUNT_KEYS or key.partition("-")[0] in _PLAIN_KEYS:
        return False
    if value.lower() in _FLAGS or _NUMBER.fullmatch(value) or _CURRENCY.fullmatch(value):
        return False
    return not ACCOUNT_ID.fullmatch(value)


class AccountSwap:
    """Account ids -> their replacements, wherever they stand in some bytes: longest first,
    never the head of a longer number (U123 is not inside U1234)."""

    def __init__(self, table: Mapping[str, str] | None = None) -> None:
        self._table: dict[str, str] = dict(table or {})
        self._pattern: re.Pattern[bytes] | None = None

    def __contains__(self, account: object) -> bool:
        return account in self._table

    def __getitem__(self, account: str) -> str:
        return self._table[account]

    def add(self, account: str, replacement: str) -> None:
        self._table[account] = replacement
        self._pattern = None

    def __call__(self, data: bytes) -> bytes:
        table = self._table
        if not table:
            return data
        if self._pattern is None:
            body = b"|".join(re.escape(a.encode()) for a in sorted(table, key=len, reverse=True))
            self._pattern = re.compile(b"(?:" + body + b")(?![0-9])")
        return self._pattern.sub(lambda m: table[m.group().decode()].encode(), data)


class Redactor:
    """Stand-ins for account ids, names and order refs, the same one every time it is asked.

    `redact(event)` is the whole interface; `stand_in(account)` says what an account became.
    The mapping stays in memory: nothing of it is ever written."""

    def __init__(self) -> None:
        self._accounts = AccountSwap()
        self._refs: dict[str, str] = {}
        self._names: dict[str, str] = {}
        self._issued: set[str] = set()
        self._counters: dict[str, int] = {}

    # ---- stand-ins -----------------------------------------------------------------------

    def stand_in(self, account: str) -> str:
        """The account's stand-in (learning the account if it is new)."""
        self.learn([account])
        return self._accounts[account]

    def learn(self, accounts: Iterable[str]) -> None:
        """Take these account ids as sensitive from now on. All are noted before any stand-in
        is issued, so no stand-in equals an id of the same batch."""
        new = [a for a in dict.fromkeys(accounts) if a and a not in self._accounts]
        if not new:
            return
        self._issued.update(new)
        for account in new:
            self._accounts.add(account, self._next(account.rstrip("0123456789")))

    def _next(self, prefix: str) -> str:
        n = self._counters.get(prefix, 0)
        while True:
            n += 1
            candidate = f"{prefix}{n:0{_DIGITS}d}"
            if candidate not in self._issued:
                break
        self._counters[prefix] = n
        self._issued.add(candidate)
        return candidate

    def _token(self, table: dict[str, str], kind: str, value: str) -> str:
        if value not in table:
            table[value] = self._next(kind)
        return table[value]

    # ---- events --------------------------------------------------------------------------

    def redact(self, event: WireEvent) -> WireEvent:
        if event.kind is EventKind.RAW:
            return dataclasses.replace(event, raw=self._accounts(event.raw))
        if event.kind is not EventKind.MESSAGE:
            return event  # the handshake carries no account
        changes: dict[int, bytes] = {}
        if event.message is not None:
            self.learn(self._accounts_in(event.message))
            changes = self._positional(event.message, event.version)
        payload = self._accounts(replace_fields(event.payload, changes))
        if payload == event.payload:
            return event
        raw = frame(payload)
        if event.message is None:
            fields = tuple(p.decode("utf-8", "replace") for p in payload.split(b"\0")[:-1])
            return dataclasses.replace(event, raw=raw, fields=fields if event.fields else ())
        decoded = decode_payload(event.direction, payload, event.version)
        return dataclasses.replace(
            event, raw=raw, fields=decoded.fields, message=decoded.message, error=decoded.error
        )

    def _accounts_in(self, message: Message) -> list[str]:
        role = _role(type(message))
        found: list[str] = []
        for name in role.accounts:
            value = getattr(message, name)
            if isinstance(value, str) and value:
                found += [p.strip() for p in value.split(",")]
        if role.key is not None:
            key, value = getattr(message, role.key), getattr(message, "value")  # noqa: B009
            if key in _ACCOUNT_KEYS and isinstance(value, str):
                found.append(value)
        return [a for a in found if ACCOUNT_ID.fullmatch(a)]

    def _positional(self, message: Message, version: int) -> dict[int, bytes]:
        """Order refs and names: arbitrary text, so replaced where they stand, not by value."""
        role = _role(type(message))
        wanted: dict[str, str] = {}
        for name in role.refs:
            ref: Any = getattr(message, name)
            if isinstance(ref, str) and ref:
                wanted[name] = self._token(self._refs, "ref", ref)
        if role.key is not None:
            key, value = getattr(message, role.key), getattr(message, "value")  # noqa: B009
            if isinstance(key, str) and isinstance(value, str) and _is_name(key, value):
                wanted["value"] = self._token(self._names, "name", value)
        if not wanted:
            return {}
        where = field_positions(message, version, wanted)
        return {index: wanted[name].encode() for name, index in where.items()}


@dataclass(frozen=True, slots=True)
class _Role:
    """Which fields of a row redaction looks at (most rows: none)."""

    accounts: tuple[str, ...]
    refs: tuple[str, ...]
    key: str | None  # "key" or "tag" of an account value row, whose "value" may be a name


_ROLES: dict[type, _Role] = {}


def _role(cls: type) -> _Role:
    role = _ROLES.get(cls)
    if role is None:
        names = {f.name for f in dataclasses.fields(cls)}
        key = next((k for k in ("key", "tag") if k in names), None) if "value" in names else None
        role = _ROLES[cls] = _Role(
            tuple(sorted(names & ACCOUNT_FIELDS)), tuple(sorted(names & ORDER_REF_FIELDS)), key
        )
    return role
