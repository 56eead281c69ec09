"""One pass per lock at a time, and only while it keeps renewing its lease (SPEC S5).

A lease is a row per lock taken with a conditional UPDATE that must change exactly one row,
so it works the same on SQLite and PostgreSQL. It is short (LEASE_TTL): the pass renews it
before every vendor call, so a killed worker's lock is free again within LEASE_TTL. A pass
has a time budget well under the TTL (PASS_BUDGET) and stops taking new codes once it is
spent; the Celery soft time limit on the task is the backstop.
"""

from __future__ import annotations

import secrets
import time
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from accesscodes.models import LockLease

LEASE_TTL = timedelta(seconds=90)
# Renew when this much of the TTL has gone by: at the start of any vendor call the lease has at
# least LEASE_TTL - RENEW_AFTER left, more than the HTTP client's longest timeout.
RENEW_AFTER = timedelta(seconds=10)
PASS_BUDGET = timedelta(seconds=30)
LEASE_POLL = 0.5  # seconds between tries for a busy lock's lease
PAUSED = "paused"  # the holder of a lock the vendor asked us to leave alone for a while


class LeaseLost(Exception):
    """Another worker holds the lock now: this pass must stop talking to it."""


class Lease:
    """A held lease on one lock; `renew()` before each vendor call."""

    def __init__(self, lock_id: int, holder: str) -> None:
        self.lock_id = lock_id
        self.holder = holder
        self.renewed_at = timezone.now()

    def renew(self, *, force: bool = False) -> None:
        now = timezone.now()
        if not force and now - self.renewed_at < RENEW_AFTER:
            return
        kept = LockLease.objects.filter(
            lock_id=self.lock_id, holder=self.holder, expires_at__gt=now
        ).update(expires_at=now + LEASE_TTL)
        if not kept:
            raise LeaseLost(f"lease on lock {self.lock_id} expired")
        self.renewed_at = now

    def release(self, *, keep_until: datetime | None = None) -> None:
        """Free the lock; or, when the vendor asked us to wait (R3), keep every pass off it
        until `keep_until`: the pass that asked is queued for then, and the fast path and the
        minute sweep find the lock taken meanwhile (no read, no refused attempt, issue #15)."""
        if keep_until is not None and keep_until > timezone.now():
            LockLease.objects.filter(lock_id=self.lock_id, holder=self.holder).update(
                holder=PAUSED, expires_at=keep_until
            )
            return
        LockLease.objects.filter(lock_id=self.lock_id, holder=self.holder).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )


def lease_acquire(lock_id: int) -> Lease | None:
    """Take the lock's lease if nobody holds it; None if somebody does."""
    now = timezone.now()
    holder = secrets.token_hex(8)
    taken = LockLease.objects.filter(lock_id=lock_id, expires_at__lte=now).update(
        holder=holder, expires_at=now + LEASE_TTL
    )
    if not taken and not LockLease.objects.filter(lock_id=lock_id).exists():
        try:
            with transaction.atomic():
                LockLease.objects.create(lock_id=lock_id, holder=holder, expires_at=now + LEASE_TTL)
            taken = 1
        except IntegrityError:
            taken = 0  # another worker created it first and holds it
    return Lease(lock_id, holder) if taken == 1 else None


def lease_wait(lock_id: int, *, wait: float) -> Lease | None:
    """Keep trying for the lease `wait` seconds (the healthcheck, which runs in a worker)."""
    tries = int(wait / LEASE_POLL) + 1
    while True:
        lease = lease_acquire(lock_id)
        tries -= 1
        if lease is not None or tries <= 0:
            return lease
        if LockLease.objects.filter(lock_id=lock_id, holder=PAUSED).exists():
            return None  # paused for the vendor's rate limit: waiting here would not help
        time.sleep(LEASE_POLL)
