"""Prometheus metrics of the venues in this process (the optional extra `horizon-ibkr[metrics]`).

`register(venue)` (what `Ibkr(..., metrics=True)` does) adds the venue to one collector per
registry. Counters and gauges are read from the venue's parts when the registry is scraped, so
the trading path pays an integer increment, not a metrics call; the two latency histograms
(submit -> acknowledgement, health-check round trip) are observed as the events happen.

Labels are bounded: the client id, the account (of this login), the final status, the IB
error code, the fee currency. Never an order id, an exec id or a market id.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from horizon.errors import ConfigurationError

if TYPE_CHECKING:
    from horizon.venues.ibkr.venue import Ibkr

PREFIX = "horizon_ibkr"
# seconds; a submit is acknowledged in about a millisecond on a local gateway, a health check
# round trip the same; IB's own ack over the internet takes tens of milliseconds
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


def _client() -> Any:
    try:
        import prometheus_client
    except ImportError as exc:
        raise ConfigurationError(
            "metrics need the prometheus client: pip install 'horizon-ibkr[metrics]'"
        ) from exc
    return prometheus_client


@dataclass(slots=True)
class _Registered:
    collector: Any
    ack_seconds: Any
    health_rtt: Any


_BY_REGISTRY: dict[int, _Registered] = {}


def register(venue: Ibkr, registry: Any = None) -> None:
    """Expose `venue`'s metrics in `registry` (prometheus_client's default one if None)."""
    prom = _client()
    registry = registry if registry is not None else prom.REGISTRY
    entry = _BY_REGISTRY.get(id(registry))
    if entry is None:
        collector = _VenueCollector()
        registry.register(collector)
        entry = _Registered(
            collector=collector,
            ack_seconds=prom.Histogram(
                f"{PREFIX}_submit_ack_seconds",
                "Seconds from a placeOrder to the gateway's first status for it",
                ["client_id"],
                buckets=LATENCY_BUCKETS,
                registry=registry,
            ),
            health_rtt=prom.Histogram(
                f"{PREFIX}_health_rtt_seconds",
                "Round trip of each health check (reqCurrentTime)",
                ["client_id"],
                buckets=LATENCY_BUCKETS,
                registry=registry,
            ),
        )
        _BY_REGISTRY[id(registry)] = entry
    entry.collector.venues.add(venue)
    venue.observe_latencies(
        ack=lambda s: entry.ack_seconds.labels(str(venue.client_id)).observe(s),
        health=lambda s: entry.health_rtt.labels(str(venue.client_id)).observe(s),
    )


class _VenueCollector:
    """Reads every registered venue when scraped."""

    def __init__(self) -> None:
        self.venues: weakref.WeakSet[Ibkr] = weakref.WeakSet()

    def describe(self) -> list[Any]:
        return []  # families are only known at collect time (venues come and go)

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily as counter
        from prometheus_client.core import GaugeMetricFamily as gauge


        def family(kind: Any, name: str, text: str, labels: list[str]) -> Any:
            return kind(f"{PREFIX}_{name}", text, labels=labels)

        submitted = family(counter, "orders_submitted", "Orders placed", ["client_id", "account"])
        final = family(
            counter, "orders_final", "Orders by final status", ["client_id", "account", "status"]
        )
        rejects = family(
            counter, "order_rejects", "Rejected orders by IB error code", ["client_id", "code"]
        )
        fills = family(counter, "fills", "Fills handed out", ["client_id", "account"])
        fees = family(counter, "fees", "Fees handed out", ["client_id", "currency"])
        reconnects = family(counter, "reconnects", "Reconnections", ["client_id"])
        down = family(
            counter, "disconnected_seconds", "Seconds disconnected since connect", ["client_id"]
        )
        up = family(gauge, "connected", "1 when connected and synchronised", ["client_id"])
        requests = family(counter, "requests", "Requests sent (pacing tokens)", ["client_id"])
        waited = family(
            counter, "pacing_wait_seconds", "Seconds waited for pacing tokens", ["client_id"]
        )
        pacing = family(counter, "pacing_errors", "IB error 100 received", ["client_id"])
        lag = family(
            gauge, "fill_journal_lag", "Fills captured but not yet handed out", ["client_id"]
        )
        streams = family(gauge, "quote_streams", "Live quote streams", ["client_id"])
        delayed = family(
            gauge, "quote_streams_delayed", "Quote streams on delayed data", ["client_id"]
        )
        corrupt = family(
            counter, "corrupt_frames", "Sessions reset for a corrupt inbound stream", ["client_id"]
        )
        for venue in list(self.venues):
            m = venue.metrics_snapshot()
            cid = str(m.client_id)
            for account, n in sorted(m.submitted.items()):
                submitted.add_metric([cid, account], n)
            for (account, status), n in sorted(m.finals.items()):
                final.add_metric([cid, account, status], n)
            for code, n in sorted(m.rejects.items()):
                rejects.add_metric([cid, code], n)
            for account, n in sorted(m.fills.items()):
                fills.add_metric([cid, account], n)
            for currency, amount in sorted(m.fees.items()):
                fees.add_metric([cid, currency], float(amount))
            reconnects.add_metric([cid], m.reconnects)
            down.add_metric([cid], m.disconnected_seconds)
            up.add_metric([cid], 1.0 if m.connected else 0.0)
            requests.add_metric([cid], m.requests)
            waited.add_metric([cid], m.pacing_wait_seconds)
            pacing.add_metric([cid], m.pacing_errors)
            lag.add_metric([cid], m.fills_pending)
            streams.add_metric([cid], m.quote_streams)
            delayed.add_metric([cid], m.quote_streams_delayed)
            corrupt.add_metric([cid], m.corrupt_frames)
        yield from (
            submitted, final, rejects, fills, fees, reconnects, down, up, requests, waited,
            pacing, lag, streams, delayed, corrupt,
        )  # fmt: skip
