"""The shapes of gateway answers, and how two sets of them differ. Pure.

A *shape* is what a value is, not what it says: `int`, `decimal`, `bool`, `text`, `numeric
text`, `list`, or one of the two empties (`unset`, `empty`). Per message kind the comparison
looks at

* presence: a kind one side sent and the other never did;
* field counts: the set of frame lengths seen (a layout that gained or lost a field);
* fields: per field name (dotted into sub-rows, `legs[].price` into groups), the set of
  non-empty shapes seen. Empties are values, not shapes (IB leaves a price unset until there
  is one), so `unset` vs `decimal` alone is no difference, `text` vs `decimal` is. A field
  that is always empty on one side and filled on the other *is* a difference.

How many messages of a kind each side sent is reported, never judged: a real account has
positions a fresh simulator does not.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from horizon.tap.wire import wire_fields

__all__ = ["FieldDiff", "KindDiff", "KindShape", "Sample", "ShapeReport", "compare", "shapes_of"]

EMPTY: Final = frozenset({"unset", "empty"})
_NUMERIC: Final = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")


def shape(value: Any) -> str:
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, Decimal):
        return "decimal"
    if isinstance(value, str):
        if not value:
            return "empty"
        return "numeric text" if _NUMERIC.fullmatch(value) else "text"
    if isinstance(value, tuple | list):
        return "list"
    return type(value).__name__


def _walk(row: Any, version: int, prefix: str) -> Iterator[tuple[str, str]]:
    for name, value in wire_fields(row, version):
        path = f"{prefix}{name}"
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            yield from _walk(value, version, f"{path}.")
        elif isinstance(value, tuple):
            yield path, "list"
            for item in value:
                if dataclasses.is_dataclass(item) and not isinstance(item, type):
                    yield from _walk(item, version, f"{path}[].")
        else:
            yield path, shape(value)


def shapes_of(message: Any, version: int) -> Iterator[tuple[str, str]]:
    """(dotted field name, shape) for every field of a decoded row that was on the wire."""
    return _walk(message, version, "")


@dataclass(frozen=True, slots=True)
class Sample:
    """One answer, as the comparison needs it."""

    name: str
    field_count: int
    message: Any = None  # the decoded row, if it decoded
    version: int = 0


@dataclass(frozen=True, slots=True)
class KindShape:
    name: str
    count: int
    field_counts: frozenset[int]
    fields: Mapping[str, frozenset[str]]


def collect(samples: Iterable[Sample]) -> dict[str, KindShape]:
    counts: dict[str, int] = {}
    lengths: dict[str, set[int]] = {}
    fields: dict[str, dict[str, set[str]]] = {}
    for s in samples:
        counts[s.name] = counts.get(s.name, 0) + 1
        lengths.setdefault(s.name, set()).add(s.field_count)
        kind = fields.setdefault(s.name, {})
        if s.message is not None:
            for path, sh in shapes_of(s.message, s.version):
                kind.setdefault(path, set()).add(sh)
    return {
        name: KindShape(
            name, counts[name], frozenset(lengths[name]),
            {k: frozenset(v) for k, v in fields[name].items()},
        )
        for name in counts
    }


@dataclass(frozen=True, slots=True)
class FieldDiff:
    field: str
    recorded: frozenset[str]
    live: frozenset[str]


@dataclass(frozen=True, slots=True)
class KindDiff:
    """One message kind, both sides."""

    name: str
    recorded: int  # how many the recording holds
    live: int  # how many the target sent
    recorded_counts: frozenset[int]
    live_counts: frozenset[int]
    fields: tuple[FieldDiff, ...]

    @property
    def missing(self) -> str | None:
        if not self.live:
            return "live"
        if not self.recorded:
            return "recorded"
        return None

    @property
    def ok(self) -> bool:
        return self.missing is None and not self.counts_differ and not self.fields

    @property
    def counts_differ(self) -> bool:
        return self.missing is None and self.recorded_counts != self.live_counts


@dataclass(frozen=True, slots=True)
class ShapeReport:
    kinds: tuple[KindDiff, ...]

    @property
    def ok(self) -> bool:
        return all(k.ok for k in self.kinds)

    def differences(self) -> list[KindDiff]:
        return [k for k in self.kinds if not k.ok]


_NONE: Final = KindShape("", 0, frozenset(), {})


def compare(recorded: Iterable[Sample], live: Iterable[Sample]) -> ShapeReport:
    """Recorded answers vs the target's, kind by kind (in the order first recorded)."""
    rec, got = collect(recorded), collect(live)
    names = list(rec) + [n for n in got if n not in rec]
    kinds = []
    for name in names:
        a, b = rec.get(name, _NONE), got.get(name, _NONE)
        diffs: list[FieldDiff] = []
        if a.count and b.count:
            for path in list(a.fields) + [p for p in b.fields if p not in a.fields]:
                ra = a.fields.get(path, frozenset()) - EMPTY
                rb = b.fields.get(path, frozenset()) - EMPTY
                if ra != rb:
                    diffs.append(FieldDiff(path, a.fields.get(path, frozenset()),
                                           b.fields.get(path, frozenset())))
        kinds.append(KindDiff(name, a.count, b.count, a.field_counts, b.field_counts,
                              tuple(diffs)))
    return ShapeReport(tuple(kinds))


def _set(values: frozenset[Any]) -> str:
    return "/".join(str(v) for v in sorted(values, key=str)) or "-"


def render(report: ShapeReport, *, recorded: str = "recorded", live: str = "live") -> str:
    """The report for people: a line per kind, the differing fields under it."""
    width = max((len(k.name) for k in report.kinds), default=4)
    lines = []
    for k in report.kinds:
        status = "OK" if k.ok else ("MISSING" if k.missing else "DIFF")
        line = f"  {status:<7} {k.name:<{width}}  {k.recorded} {recorded}, {k.live} {live}"
        if k.missing == "live":
            line += f"  (never sent by the {live} side)"
        elif k.missing == "recorded":
            line += "  (not in the recording)"
        lines.append(line)
        if k.counts_differ:
            lines.append(f"            field counts: {_set(k.recorded_counts)} {recorded}, "
                         f"{_set(k.live_counts)} {live}")
        lines.extend(
            f"            {d.field}: {_set(d.recorded)} {recorded}, {_set(d.live)} {live}"
            for d in k.fields
        )
    return "\n".join(lines)
