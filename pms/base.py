"""The one small interface every PMS adapter implements (SPEC Q1), shaped like the lock
vendors' (integrations.base): list listings; reservations changed since a time; fetch one;
verify and read a webhook; write the door code back where the PMS has a field.

Adapters return `PmsReservation`, already in locksync's terms: a status of accepted,
cancelled or `no_code` (inquiries, requests, owner blocks, SPEC Q4), and check-in/out as an
instant where the PMS gave one, else a date for the property's own time.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any, ClassVar

from integrations.base import Reason, VendorError
from reservations.models import GUEST_LANGUAGES

if TYPE_CHECKING:
    from pms.models import PmsConnection

__all__ = ["Reason", "VendorError"]

ACCEPTED = "accepted"
CANCELLED = "cancelled"
NO_CODE = "no_code"  # an inquiry, a request, an owner block: never a code (Q4)
LANGUAGES = {code for code, _ in GUEST_LANGUAGES}


class BadWebhook(ValueError):
    """A webhook whose signature or shape is wrong; it changes nothing and is counted."""


@dataclass(frozen=True)
class PmsListingInfo:
    remote_id: str
    name: str


@dataclass(frozen=True)
class PmsReservation:
    remote_id: str
    listing_id: str
    status: str  # ACCEPTED, CANCELLED or NO_CODE
    arrival: date
    departure: date
    guest_name: str = ""
    guest_phone: str = ""
    guest_email: str = ""
    language: str = ""
    code: str = ""
    # The PMS's own times: an instant, or a wall-clock time at the property; None: the
    # property's check-in/out time (Q4).
    check_in_at: datetime | None = None
    check_out_at: datetime | None = None
    check_in_time: time | None = None
    check_out_time: time | None = None


@dataclass(frozen=True)
class WebhookHint:
    """What a verified webhook says changed; the reservation is fetched before use (Q3)."""

    event_key: str
    kind: str
    reservation_id: str = ""  # empty: not about a reservation (messages, rates …)


def language_code(value: Any) -> str:
    """'de', 'de-DE', 'de_AT' -> 'de' when locksync speaks it, else ''."""
    text = str(value or "").strip().lower().replace("_", "-")[:2]
    return text if text in LANGUAGES else ""


def secrets_match(given: str, expected: str) -> bool:
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def hour_time(value: Any) -> time | None:
    """Hostaway's hour integers (15 -> 15:00), or '16:00' strings; None when absent/bad."""
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 23:
        return time(value)
    if isinstance(value, str):
        try:
            return time.fromisoformat(value.strip()[:5])
        except ValueError:
            return None
    return None


class PmsAdapter:
    """Base class for PMS adapters. A PMS is one module and one registry line."""

    key: ClassVar[str]
    label: ClassVar[str]
    credential_fields: ClassVar[dict[str, str]] = {}
    # Whether the PMS has a door-code field locksync can write the PIN into (Q5).
    has_door_code_field: ClassVar[bool] = False
    # Whether guests' messages can be posted to the PMS's thread.
    can_send_messages: ClassVar[bool] = False
    # The PMS's documented message limits: (scope, count, seconds), scope "connection" (per
    # token) or "reservation" (per thread); kept by pms.channel before every send (G8).
    message_limits: ClassVar[tuple[tuple[str, int, int], ...]] = (("connection", 30, 60),)

    def __init__(self, connection: PmsConnection) -> None:
        self.connection = connection
        self.credentials: dict[str, Any] = dict(connection.credentials or {})

    def validate_credentials(self) -> None:
        self.list_listings()

    def list_listings(self) -> list[PmsListingInfo]:
        raise NotImplementedError

    def reservations_changed_since(self, since: datetime) -> list[PmsReservation]:
        raise NotImplementedError

    def reservations_for_listing(self, listing_id: str, from_day: date) -> list[PmsReservation]:
        raise NotImplementedError

    def get_reservation(self, remote_id: str) -> PmsReservation | None:
        """The reservation as the PMS has it now; None when it no longer returns it."""
        raise NotImplementedError

    def read_webhook(self, *, body: bytes, headers: dict[str, str]) -> list[WebhookHint]:
        """Verify a webhook (beyond the URL secret) and read it; raise BadWebhook."""
        raise NotImplementedError

    def write_door_code(self, remote_id: str, pin: str) -> None:
        raise NotImplementedError

    def send_message(self, remote_id: str, text: str) -> None:
        raise NotImplementedError
