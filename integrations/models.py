"""Vendor connections, the locks read from them, matches to properties, and simulated devices."""

from __future__ import annotations

import secrets

from django.db import models
from django.db.models import Q

from integrations.base import Constraint, LockCapabilities, Reason
from locksync.fields import EncryptedJSONField, EncryptedTextField
from locksync.models import TimeStampedModel


def vendor_choices() -> list[tuple[str, str]]:
    from integrations.registry import ADAPTERS

    return [(key, adapter.label) for key, adapter in ADAPTERS.items()]


class LockConnection(TimeStampedModel):
    """A host's account at a lock vendor ("lock app")."""

    class State(models.TextChoices):
        CONNECTED = "connected"
        DISCONNECTED = "disconnected"

    host = models.ForeignKey(
        "properties.Host", on_delete=models.CASCADE, related_name="lock_connections"
    )
    vendor = models.CharField(max_length=32, choices=vendor_choices)
    name = models.CharField(max_length=200, blank=True)
    credentials = EncryptedJSONField(default=dict)
    state = models.CharField(max_length=16, choices=State.choices, default=State.CONNECTED)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    # The vendor's id of the webhook locksync registered (Seam webhook_id, Nuki decentral
    # webhook id); empty when the host set it up by hand. Its secret is in `credentials`.
    webhook_id = models.CharField(max_length=200, blank=True)
    last_webhook_at = models.DateTimeField(
        null=True, blank=True, help_text="When the last verified webhook from the vendor arrived."
    )

    class Meta:
        ordering = ["host_id", "vendor", "id"]

    def __str__(self) -> str:
        return self.name or f"{self.get_vendor_display()} #{self.pk}"


class Lock(TimeStampedModel):
    """A device read from a connection."""

    connection = models.ForeignKey(LockConnection, on_delete=models.CASCADE, related_name="locks")
    remote_id = models.CharField(max_length=128)
    name = models.CharField(max_length=200)
    model = models.CharField(max_length=200, blank=True)
    online = models.BooleanField(default=True)
    battery_level = models.PositiveSmallIntegerField(null=True, blank=True)
    capabilities = models.JSONField(default=dict)
    code_count = models.PositiveIntegerField(
        default=0, help_text="Codes on the lock at the last read, ours and pre-existing."
    )
    last_seen_at = models.DateTimeField(null=True, blank=True)
    state_refreshed_at = models.DateTimeField(null=True, blank=True)
    offline_notified_at = models.DateTimeField(null=True, blank=True)
    low_battery_notified_at = models.DateTimeField(null=True, blank=True)
    is_present = models.BooleanField(
        default=True, help_text="False once the vendor stops listing the device."
    )
    clock_offset_minutes = models.IntegerField(
        null=True,
        blank=True,
        help_text="The UTC offset the lock reads code times with (TTLock timezoneRawOffset).",
    )
    clock_checked_at = models.DateTimeField(null=True, blank=True)
    clock_notified_at = models.DateTimeField(
        null=True, blank=True, help_text="When the host was told the clock is in another zone."
    )

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "remote_id"], name="lock_one_per_connection_and_remote_id"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def capability_record(self) -> LockCapabilities:
        return LockCapabilities.from_json(self.capabilities)

    @property
    def capacity(self) -> int:
        return self.capability_record.max_active_codes_supported


class Match(TimeStampedModel):
    """A lock matched to a property (SPEC M1: many-to-many both ways)."""

    lock = models.ForeignKey(Lock, on_delete=models.CASCADE, related_name="matches")
    property = models.ForeignKey(
        "properties.Property", on_delete=models.CASCADE, related_name="matches"
    )

    class Meta:
        ordering = ["property_id", "lock_id"]
        verbose_name_plural = "matches"
        constraints = [
            models.UniqueConstraint(
                fields=["lock", "property"], name="match_one_per_lock_and_property"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.lock} ↔ {self.property}"


# --- the simulator vendor's world -----------------------------------------------------------


def _new_device_id() -> str:
    return "sim-" + secrets.token_hex(6)


class SimulatedAccount(TimeStampedModel):
    """An account at the simulated vendor; its key is the connection's credential."""

    api_key = models.CharField(max_length=64, unique=True)
    revoked = models.BooleanField(
        default=False, help_text="Calls fail with account_disconnected while set."
    )

    class Meta:
        ordering = ["api_key"]

    def __str__(self) -> str:
        return self.api_key


class SimulatedDevice(TimeStampedModel):
    """A simulated lock with the knobs a real one has, and a fault plan for tests and demos."""

    class FaultMode(models.TextChoices):
        FAIL = "fail", "Fail with the reason"
        TIMEOUT_APPLIED = "timeout_applied", "Apply the write, answer with a timeout"
        ACK_NEVER_APPLIED = "ack_never_applied", "Acknowledge the write, never apply it"

    account = models.ForeignKey(SimulatedAccount, on_delete=models.CASCADE, related_name="devices")
    device_id = models.CharField(max_length=32, unique=True, default=_new_device_id)
    name = models.CharField(max_length=200)
    model = models.CharField(max_length=100, default="Simulated keypad lock")
    online = models.BooleanField(default=True)
    battery_level = models.PositiveSmallIntegerField(default=100)
    capacity = models.PositiveSmallIntegerField(default=100)
    time_bound_codes = models.BooleanField(default=True)
    supported_code_lengths = models.JSONField(default=list)
    code_constraints = models.JSONField(default=list, blank=True)
    name_max_length = models.PositiveSmallIntegerField(null=True, blank=True)
    name_must_be_unique = models.BooleanField(default=False)
    latency_ms = models.PositiveIntegerField(default=0)
    confirm_delay_seconds = models.PositiveIntegerField(
        default=0, help_text="How long a write stays 'setting' before the lock confirms it."
    )
    fault_count = models.PositiveIntegerField(
        default=0, help_text="How many of the next writes the fault applies to."
    )
    fault_mode = models.CharField(
        max_length=20, choices=FaultMode.choices, default=FaultMode.FAIL, blank=True
    )
    fault_reason = models.CharField(
        max_length=32, choices=[(r.value, r.value) for r in Reason], blank=True
    )

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def capability_record(self) -> LockCapabilities:
        return LockCapabilities(
            time_bound_codes=self.time_bound_codes,
            max_active_codes_supported=self.capacity,
            supported_code_lengths=tuple(self.supported_code_lengths or (4, 5, 6, 7, 8)),
            code_constraints=frozenset(Constraint(c) for c in self.code_constraints),
            name_max_length=self.name_max_length,
            name_must_be_unique=self.name_must_be_unique,
        )


class SimulatedCode(TimeStampedModel):
    """A code stored on a simulated device."""

    device = models.ForeignKey(SimulatedDevice, on_delete=models.CASCADE, related_name="codes")
    code_id = models.CharField(max_length=32, unique=True)
    pin = EncryptedTextField()
    name = models.CharField(max_length=200)
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    applies_at = models.DateTimeField(help_text="When the device confirms the write.")
    never_applies = models.BooleanField(
        default=False, help_text="The vendor acknowledged the write but it never reaches the lock."
    )
    created_by_hand = models.BooleanField(
        default=False, help_text="Put on the lock outside locksync (a pre-existing code)."
    )

    class Meta:
        ordering = ["device_id", "id"]
        indexes = [
            models.Index(
                fields=["device"],
                condition=Q(never_applies=False),
                name="simcode_visible_by_device",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} on {self.device}"
