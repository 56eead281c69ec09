"""Prometheus metrics at /metrics, read from the database, cache and broker at scrape time.

State lives in the database (the queue of record), so the gauges are queries, not counters
threaded through the engine: any web process answers the same, however many workers run.
Vendor call latencies are observed by the worker that made the call; they are kept as
histogram buckets in the shared cache so the web process can report them.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from collections.abc import Iterator

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Min
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

log = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
LATENCY_KEY = "locksync:vendor_latency"


# -- vendor call latencies, observed in the worker --


def _latency_key(vendor: str, part: str) -> str:
    return f"{LATENCY_KEY}:{vendor}:{part}"


def _cache_incr(key: str, amount: int) -> None:
    cache.add(key, 0, timeout=None)
    cache.incr(key, amount)


def vendor_call_observe(*, vendor: str, seconds: float) -> None:
    """Count one vendor call's duration in its histogram bucket. Never raises."""
    try:
        bucket = next((str(le) for le in LATENCY_BUCKETS if seconds <= le), "+Inf")
        _cache_incr(_latency_key(vendor, bucket), 1)
        _cache_incr(_latency_key(vendor, "sum_ms"), round(seconds * 1000))
    except Exception:  # noqa: BLE001 — metrics must never fail a vendor call
        log.debug("vendor latency not recorded", exc_info=True)


def _vendor_latency() -> HistogramMetricFamily:
    from integrations.registry import ADAPTERS

    family = HistogramMetricFamily(
        "locksync_vendor_call_seconds", "Duration of lock vendor API calls.", labels=["vendor"]
    )
    bucket_names = [str(le) for le in LATENCY_BUCKETS] + ["+Inf"]
    for vendor in sorted(ADAPTERS):
        keys = [_latency_key(vendor, name) for name in [*bucket_names, "sum_ms"]]
        stored = cache.get_many(keys)
        counts = [int(stored.get(_latency_key(vendor, name), 0)) for name in bucket_names]
        if not any(counts):
            continue
        cumulative, total = [], 0
        for name, count in zip(bucket_names, counts, strict=True):
            total += count
            cumulative.append((name, total))
        sum_seconds = int(stored.get(_latency_key(vendor, "sum_ms"), 0)) / 1000
        family.add_metric([vendor], cumulative, sum_seconds)
    return family


# -- state read at scrape time --


def _codes_by_state() -> GaugeMetricFamily:
    from accesscodes.models import LockCode

    family = GaugeMetricFamily(
        "locksync_lock_codes", "Guest codes on locks, by state.", labels=["state"]
    )
    counts = dict(LockCode.objects.values_list("state").annotate(n=Count("id")).order_by())
    for state in LockCode.State.values:
        family.add_metric([state], counts.get(state, 0))
    return family


def _failures_by_reason_and_vendor() -> GaugeMetricFamily:
    from accesscodes.models import LockCode

    family = GaugeMetricFamily(
        "locksync_lock_code_failures",
        "Guest codes whose last attempt failed and that are not yet set, by reason and vendor.",
        labels=["reason", "vendor"],
    )
    rows = (
        LockCode.objects.exclude(last_error="")
        .exclude(state__in=[LockCode.State.SET, LockCode.State.REMOVED])
        .values_list("last_error", "lock__connection__vendor")
        .annotate(n=Count("id"))
        .order_by()
    )
    for reason, vendor, count in rows:
        family.add_metric([reason, vendor or ""], count)
    return family


def _sweep_lag() -> GaugeMetricFamily:
    from accesscodes.models import LockCode
    from messaging.models import ScheduledMessage

    now = timezone.now()
    family = GaugeMetricFamily(
        "locksync_sweep_lag_seconds",
        "Age of the oldest row that is due and not yet handled (0: nothing overdue).",
        labels=["sweep"],
    )
    oldest = {
        "codes": LockCode.objects.filter(next_attempt_at__lte=now).aggregate(
            t=Min("next_attempt_at")
        )["t"],
        "deletions": LockCode.objects.filter(delete_after__lte=now)
        .exclude(state=LockCode.State.REMOVED)
        .aggregate(t=Min("delete_after"))["t"],
        "messages": ScheduledMessage.objects.filter(
            send_after__lte=now,
            state__in=[ScheduledMessage.State.SCHEDULED, ScheduledMessage.State.FAILED],
        ).aggregate(t=Min("send_after"))["t"],
    }
    for sweep, due_since in oldest.items():
        family.add_metric([sweep], (now - due_since).total_seconds() if due_since else 0.0)
    return family


def _messages_held() -> GaugeMetricFamily:
    from messaging.models import ScheduledMessage

    held = ScheduledMessage.objects.filter(state=ScheduledMessage.State.HELD).count()
    family = GaugeMetricFamily(
        "locksync_messages_held", "Guest messages held for the host (SPEC G4)."
    )
    family.add_metric([], held)
    return family


def _queue_lengths() -> GaugeMetricFamily:
    from locksync.celery import app

    family = GaugeMetricFamily(
        "locksync_queue_length", "Tasks waiting in each Celery queue.", labels=["queue"]
    )
    try:
        with app.connection_for_read() as connection:
            channel = connection.default_channel
            for queue in settings.CELERY_QUEUE_NAMES:
                try:
                    waiting = channel.queue_declare(queue=queue, passive=True).message_count
                except Exception:  # noqa: BLE001 — a queue nobody used yet does not exist
                    waiting = 0
                family.add_metric([queue], waiting)
    except Exception:  # noqa: BLE001 — a broker outage shows in /healthz, not as a 500 here
        log.warning("queue lengths not read", exc_info=True)
    return family


class LocksyncCollector:
    """Every locksync metric, computed when Prometheus scrapes."""

    def collect(self) -> Iterator:
        yield _codes_by_state()
        yield _failures_by_reason_and_vendor()
        yield _sweep_lag()
        yield _messages_held()
        yield _queue_lengths()
        yield _vendor_latency()


# -- the view --


def _client_allowed(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(header.encode(), f"Bearer {token}".encode()):
        return True
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(
        address in ipaddress.ip_network(network, strict=False)
        for network in settings.METRICS_ALLOWED_NETWORKS
    )


@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Serve the metrics to a client holding METRICS_TOKEN or in METRICS_ALLOWED_NETWORKS."""
    if not _client_allowed(request):
        return HttpResponse(
            "metrics need METRICS_TOKEN or METRICS_ALLOWED_NETWORKS\n",
            status=403,
            content_type="text/plain",
        )
    registry = CollectorRegistry(auto_describe=False)
    registry.register(LocksyncCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
