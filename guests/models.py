"""The guest's side: private stay links, arrivals, pre-arrival checks and the host's settings."""

from __future__ import annotations

from datetime import timedelta

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from locksync.models import TimeStampedModel

REVEAL_BEFORE_DEFAULT = timedelta(days=3)


class GuestSettings(TimeStampedModel):
    """A host's choices for the guest page, arrivals and pre-arrival checks (SPEC K2, K5, H6)."""

    host = models.OneToOneField(
        "properties.Host", on_delete=models.CASCADE, related_name="guest_settings"
    )
    reveal_before = models.DurationField(
        default=REVEAL_BEFORE_DEFAULT,
        help_text="How long before check-in the guest page shows the code.",
    )
    host_phone = models.CharField(
        max_length=40, blank=True, help_text="Shown to guests when they need to call you."
    )
    check_24h = models.BooleanField(
        default=True, help_text="Check every stay's codes 24 hours before its window starts."
    )
    check_2h = models.BooleanField(
        default=True, help_text="Check every stay's codes 2 hours before its window starts."
    )
    not_arrived_after_hours = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(72)],
        help_text="Tell me when a guest has not arrived this many hours after check-in "
        "(empty: don't).",
    )

    class Meta:
        ordering = ["host_id"]
        verbose_name = "guest settings"
        verbose_name_plural = "guest settings"
        constraints = [
            models.CheckConstraint(
                condition=Q(reveal_before__gte=timedelta(0)),
                name="guestsettings_reveal_before_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"Guest settings of {self.host}"


class PropertyGuestInfo(TimeStampedModel):
    """What a property's guests read on their page: the host's check-in notes (SPEC K2)."""

    property = models.OneToOneField(
        "properties.Property", on_delete=models.CASCADE, related_name="guest_info"
    )
    checkin_notes = models.TextField(
        blank=True, max_length=4000, help_text="Parking, where the key box is, Wi-Fi…"
    )

    class Meta:
        ordering = ["property_id"]

    def __str__(self) -> str:
        return f"Guest info for {self.property}"


class GuestLink(TimeStampedModel):
    """One private link to a stay's guest page (SPEC K1).

    Only the SHA-256 of the token is stored, so a link can be checked but never rebuilt; each
    rendered `%guest_link%` issues a fresh token. A link is valid until 24 hours after the
    stay's checkout, read from the reservation at each visit so a moved stay moves it too.
    """

    reservation = models.ForeignKey(
        "reservations.Reservation", on_delete=models.CASCADE, related_name="guest_links"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    last_opened_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["reservation_id", "-created_at", "id"]

    def __str__(self) -> str:
        return f"Guest link for {self.reservation}"


class Arrival(TimeStampedModel):
    """The first entry a lock reported with the guest's code or their backup code (SPEC K5)."""

    class Via(models.TextChoices):
        GUEST_CODE = "guest_code", "their own code"
        BACKUP_CODE = "backup_code", "a backup code"

    reservation = models.OneToOneField(
        "reservations.Reservation", on_delete=models.CASCADE, related_name="arrival"
    )
    lock = models.ForeignKey(
        "integrations.Lock", on_delete=models.SET_NULL, null=True, related_name="arrivals"
    )
    lock_name = models.CharField(max_length=200)
    entered_at = models.DateTimeField()
    via = models.CharField(max_length=16, choices=Via.choices)
    vendor = models.CharField(max_length=32)

    class Meta:
        ordering = ["-entered_at", "id"]

    def __str__(self) -> str:
        return f"{self.reservation} arrived at {self.lock_name}"


class StayCheck(TimeStampedModel):
    """A timed look at one stay: the pre-arrival checks (SPEC H6) and the "not arrived" notice.

    A row per stay and kind, with its due time; the job reads only the due ones.
    """

    class Kind(models.TextChoices):
        BEFORE_24H = "before_24h", "24 hours before"
        BEFORE_2H = "before_2h", "2 hours before"
        NOT_ARRIVED = "not_arrived", "not arrived"

    class State(models.TextChoices):
        PENDING = "pending"  # a claimed row stays pending with its due time moved on a lease
        DONE = "done"

    class Result(models.TextChoices):
        ALL_SET = "all_set", "every code is on its lock"
        REATTEMPTED = "reattempted", "codes not confirmed were re-attempted"
        BACKUP_SENT = "backup_sent", "a backup code was sent to the guest"
        HOST_TOLD = "host_told", "the host was emailed"
        NO_LOCKS = "no_locks", "no lock is matched"
        ARRIVED = "arrived", "the guest has arrived"
        NOT_ARRIVED = "not_arrived", "the host was told the guest has not arrived"
        OFF = "off", "turned off in settings"
        NOT_NEEDED = "not_needed", "the stay no longer needs it"

    reservation = models.ForeignKey(
        "reservations.Reservation", on_delete=models.CASCADE, related_name="stay_checks"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    scheduled_for = models.DateTimeField(help_text="The moment the check is meant for.")
    due_at = models.DateTimeField(help_text="When the job takes it next (moved on by a claim).")
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)
    result = models.CharField(max_length=16, choices=Result.choices, blank=True)
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["reservation_id", "due_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["reservation", "kind"], name="staycheck_one_per_stay_and_kind"
            ),
        ]
        indexes = [
            # Read by the stay-check job (guests.tasks.stay_checks_due), every minute: only
            # pending rows are in the index, so its size is the number of upcoming checks.
            models.Index(
                fields=["due_at"],
                condition=Q(state="pending"),
                name="staycheck_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} check of {self.reservation}"
