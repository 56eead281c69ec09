"""PMS connections (SPEC Q): the host's account, its listings mapped to properties, the
bookings read from it and every webhook event received (for idempotency and bad-input counts)."""

from __future__ import annotations

import secrets

from django.db import models

from locksync.fields import EncryptedJSONField, EncryptedTextField
from locksync.models import TimeStampedModel


def pms_choices() -> list[tuple[str, str]]:
    from pms.registry import ADAPTERS

    return [(key, adapter.label) for key, adapter in ADAPTERS.items()]


def new_webhook_secret() -> str:
    return secrets.token_urlsafe(24)


class PmsConnection(TimeStampedModel):
    """A host's account at a PMS, connected like a lock app (SPEC Q1)."""

    host = models.ForeignKey(
        "properties.Host", on_delete=models.CASCADE, related_name="pms_connections"
    )
    pms = models.CharField(max_length=32, choices=pms_choices)
    name = models.CharField(max_length=200, blank=True)
    credentials = EncryptedJSONField(default=dict)
    # The secret in the webhook URL (SPEC Q3), for PMSs that sign nothing.
    webhook_secret = EncryptedTextField(default=new_webhook_secret)
    write_back_codes = models.BooleanField(
        default=True, help_text="Write the guest's PIN into the PMS's door-code field (Q5)."
    )
    last_poll_ok_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    webhooks_refused = models.PositiveIntegerField(default=0)
    events_ignored = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["host_id", "pms", "id"]

    def __str__(self) -> str:
        return self.name or f"{self.get_pms_display()} #{self.pk}"


class PmsListing(TimeStampedModel):
    """A listing read from the PMS; it imports stays only once mapped to a property (Q2)."""

    connection = models.ForeignKey(PmsConnection, on_delete=models.CASCADE, related_name="listings")
    remote_id = models.CharField(max_length=128)
    name = models.CharField(max_length=300, blank=True)
    property = models.ForeignKey(
        "properties.Property",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="pms_listings",
    )

    class Meta:
        ordering = ["connection_id", "name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "remote_id"], name="pmslisting_one_per_remote_id"
            )
        ]

    def __str__(self) -> str:
        return self.name or self.remote_id


class PmsBooking(TimeStampedModel):
    """A PMS reservation locksync imported, and the PIN last written back to it (Q5)."""

    connection = models.ForeignKey(PmsConnection, on_delete=models.CASCADE, related_name="bookings")
    remote_id = models.CharField(max_length=128)
    reservation = models.OneToOneField(
        "reservations.Reservation", on_delete=models.CASCADE, related_name="pms_booking"
    )
    written_pin = EncryptedTextField(blank=True, default="")
    written_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["connection_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "remote_id"], name="pmsbooking_one_per_remote_id"
            )
        ]

    def __str__(self) -> str:
        return f"{self.connection} {self.remote_id}"


class PmsEvent(TimeStampedModel):
    """One webhook delivery; the same event id twice is processed once (Q3)."""

    class Outcome(models.TextChoices):
        PENDING = "pending"
        APPLIED = "applied"
        IGNORED = "ignored"
        FAILED = "failed"

    connection = models.ForeignKey(PmsConnection, on_delete=models.CASCADE, related_name="events")
    event_key = models.CharField(max_length=200)
    kind = models.CharField(max_length=100, blank=True)
    reservation_remote_id = models.CharField(max_length=128, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.PENDING)
    detail = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "event_key"], name="pmsevent_one_per_event_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.event_key}"
