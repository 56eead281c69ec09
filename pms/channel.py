"""The booking platform's own thread as a guest channel (SPEC G8): a stay imported from a PMS
that can post messages gets its messages there, within each PMS's documented rate limit.
Registered in messaging/channels.py with one line; "best available" tries it first."""

from __future__ import annotations

import time as clock

from django.core.cache import cache

from messaging.channels import Channel, ChannelError
from pms.base import Reason, VendorError
from pms.models import PmsBooking
from pms.registry import adapter_for
from reservations.models import Reservation

WAIT_AT_MOST = 5.0  # seconds a send waits for a rate-limit window before giving up


def _booking(reservation: Reservation) -> PmsBooking | None:
    booking = (
        PmsBooking.objects.select_related("connection").filter(reservation=reservation).first()
    )
    if booking is None or not adapter_for(booking.connection).can_send_messages:
        return None
    return booking


def throttle_wait(booking: PmsBooking, limits: tuple[tuple[str, int, int], ...]) -> float:
    """Seconds until a message fits every (scope, count, window) limit; 0 records the send.
    Scopes: "connection" (per token/account) and "reservation" (per thread)."""
    now = clock.time()
    keys = []
    for scope, count, window in limits:
        subject = booking.connection_id if scope == "connection" else booking.remote_id
        key = f"pms-msg:{booking.connection_id}:{scope}:{subject}:{window}"
        sent = [at for at in cache.get(key, []) if at > now - window]
        if len(sent) >= count:
            return sent[0] + window - now
        keys.append((key, sent, window))
    for key, sent, window in keys:
        cache.set(key, [*sent, now], timeout=window + 5)
    return 0.0


class PmsThreadChannel(Channel):
    key = "pms"

    def recipient(self, reservation: Reservation) -> str:
        booking = _booking(reservation)
        return booking.remote_id if booking else ""

    def send(self, *, reservation: Reservation, recipient: str, subject: str, body: str) -> str:
        booking = _booking(reservation)
        if booking is None:
            raise ChannelError("the stay is no longer linked to a PMS that takes messages")
        adapter = adapter_for(booking.connection)
        for _ in range(2):
            wait = throttle_wait(booking, adapter.message_limits)
            if wait > WAIT_AT_MOST:
                raise ChannelError(f"{adapter.label}'s message limit: next slot in {wait:.0f} s")
            if wait:
                clock.sleep(wait)
                continue
            try:
                adapter.send_message(booking.remote_id, body)
            except VendorError as error:
                retry = error.retry_after or 0.0
                if error.reason == Reason.RATE_LIMITED and retry <= WAIT_AT_MOST:
                    clock.sleep(retry)
                    continue
                raise ChannelError(f"{adapter.label}: {error.message}") from error
            return ""
        raise ChannelError(f"{adapter.label} is rate limiting messages")
