"""OAuth client-credentials tokens kept in the shared cache (Redis or the file cache), so
every web and worker process uses one token (Q6). A PMS with a mint limit (Guesty: 5 per key
per 24 hours) is never asked for more: past the limit the call waits as rate-limited."""

from __future__ import annotations

import hashlib
import time as clock
from collections.abc import Callable

from django.core.cache import cache

from pms.base import Reason, VendorError

DAY = 86400.0
EARLY = 300  # renew five minutes before the PMS's expiry


def _key(name: str, client_id: str) -> str:
    return f"pms-token:{name}:{hashlib.sha256(client_id.encode()).hexdigest()[:24]}"


def cached_token(
    *,
    name: str,
    client_id: str,
    mint: Callable[[], tuple[str, int]],
    daily_limit: int | None = None,
) -> str:
    """The cached token for this client id, minting one (under a cache lock) when none is."""
    key = _key(name, client_id)
    token = cache.get(key)
    if token:
        return token
    for _ in range(50):
        if cache.add(f"{key}:lock", 1, timeout=30):
            break
        clock.sleep(0.1)  # another worker is minting: use its token
        if token := cache.get(key):
            return token
    try:
        if token := cache.get(key):
            return token
        now = clock.time()
        mints = [at for at in cache.get(f"{key}:mints", []) if at > now - DAY]
        if daily_limit is not None and len(mints) >= daily_limit:
            raise VendorError(
                Reason.RATE_LIMITED,
                f"{name} allows {daily_limit} tokens a day; waiting for the next one",
                retry_after=mints[0] + DAY - now,
            )
        token, expires_in = mint()
        cache.set(f"{key}:mints", [*mints, now], timeout=int(DAY) + 60)
        cache.set(key, token, timeout=max(60, int(expires_in) - EARLY))
        return token
    finally:
        cache.delete(f"{key}:lock")


def token_forget(*, name: str, client_id: str) -> None:
    """Drop a token the PMS no longer accepts (the mint limit still counts)."""
    cache.delete(_key(name, client_id))
