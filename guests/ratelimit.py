"""A small fixed-window rate limit in the shared cache, for the guest page (SPEC K1).

When the shared cache is down or frozen the page still answers (issue #21): the count moves to
this process's memory until the cache is back, so a limit still holds per worker process.
"""

from __future__ import annotations

import logging
import time

from django.core.cache import cache
from django.core.cache.backends.locmem import LocMemCache
from django.http import HttpRequest

log = logging.getLogger(__name__)

# Per process, used only while the shared cache fails.
_local = LocMemCache("ratelimit-fallback", {"OPTIONS": {"MAX_ENTRIES": 10_000}})


def client_address(request: HttpRequest) -> str:
    # REMOTE_ADDR only: X-Forwarded-For is set by the client unless a proxy we run rewrites
    # it, and a limit keyed on it could be dodged by sending a new one with every request.
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _count(store, key: str, timeout: int) -> int:
    if store.add(key, 1, timeout=timeout):
        return 1
    try:
        return store.incr(key)
    except ValueError:  # expired between add and incr
        store.add(key, 1, timeout=timeout)
        return 1


def rate_limit_exceeded(*, request: HttpRequest, scope: str, limit: int, per_seconds: int) -> bool:
    """Count this request; True once the address has made more than `limit` in the window."""
    window = int(time.time() // per_seconds)
    key = f"ratelimit:{scope}:{client_address(request)}:{window}"
    try:
        count = _count(cache, key, per_seconds + 5)
    except Exception as error:  # redis-py's ConnectionError / TimeoutError, whatever the backend
        log.warning("rate limit counted in process memory, the cache failed: %r", error)
        count = _count(_local, key, per_seconds + 5)
    return count > limit
