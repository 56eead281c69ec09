"""A small fixed-window rate limit in the shared cache, for the guest page (SPEC K1)."""

from __future__ import annotations

import time

from django.core.cache import cache
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    # REMOTE_ADDR only: X-Forwarded-For is set by the client unless a proxy we run rewrites
    # it, and a limit keyed on it could be dodged by sending a new one with every request.
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def rate_limit_exceeded(*, request: HttpRequest, scope: str, limit: int, per_seconds: int) -> bool:
    """Count this request; True once the address has made more than `limit` in the window."""
    window = int(time.time() // per_seconds)
    key = f"ratelimit:{scope}:{client_address(request)}:{window}"
    if cache.add(key, 1, timeout=per_seconds + 5):
        return False
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=per_seconds + 5)
        return False
    return count > limit
