"""Guest PINs, their copies on each lock, backup codes, and the append-only code history."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from integrations.base import Reason
from locksync.fields import EncryptedTextField
from locksync.models import TimeStampedModel

REASON_CHOICES = [(reason.value, reason.value.replace("_", " ")) for reason in Reason]


class AccessCode(TimeStampedModel):
    """The guest's PIN for one reservation, its name on the lock and its access window."""

    class Source(models.TextChoices):
        RANDOM = "random"
        PHONE = "phone"

    reservation = models.OneToOneField(
        "reservations.Reservation", on_delete=models.CASCADE, related_name="access_code"
    )
    pin = EncryptedTextField()
    pin_source = models.CharField(max_length=10, choices=Source.choices, default=Source.RANDOM)
    name = models.CharField(max_length=200, help_text="The name the code carries on the lock.")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    cancelled_at = models.DateTimeField(null=True, blank=True)
    pin_announce_by = models.DateTimeField(
        null=True,
        blank=True,
        help_text=(
            "A new PIN not yet announced to the guest: it is, once every lock that held the "
            "old one holds it, or at this time (2 h before check-in) at the latest (SPEC P6)."
        ),
    )

    class Meta:
        ordering = ["starts_at", "id"]
        permissions = [("view_pin", "Can see guests' PINs in clear")]
        constraints = [
            models.CheckConstraint(
                condition=Q(starts_at__lt=F("ends_at")), name="accesscode_starts_before_it_ends"
            ),
        ]
        indexes = [
            models.Index(fields=["starts_at", "ends_at"], name="accesscode_window"),
            # Read by the minute sweep (accesscodes.engine.sweeps.pin_announcements_due).
            models.Index(
                fields=["pin_announce_by"],
                condition=Q(pin_announce_by__isnull=False),
                name="accesscode_pin_announce_due",
            ),
        ]

    def __str__(self) -> str:
        return f"Code for {self.reservation}"


class Confirmation(models.TextChoices):
    """How we know a code is on its lock (SPEC S7)."""

    READ_BACK = "read_back", "seen on the lock"
    VENDOR = "vendor", "confirmed by the vendor"


class Delivery(TimeStampedModel):
    """Something we deliver to a lock, as rows: its attempts, last error and next due time.

    LockCode (a guest's code on one lock) and BackupCode (a spare code) are delivered the same
    way, so the engine places, follows up and fails them through one path
    (`accesscodes.engine.delivery`). `version` guards the lock pass's write-back (SPEC S9):
    a pass writes only if nobody changed the row since it read it, and every service-side
    change bumps it.
    """

    vendor_code_id = models.CharField(max_length=128, blank=True)
    confirmation = models.CharField(max_length=10, choices=Confirmation.choices, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    first_failed_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=32, choices=REASON_CHOICES, blank=True)
    last_error_message = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    set_at = models.DateTimeField(null=True, blank=True)
    removed_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(
        default=0, help_text="Bumped by every change; guards the lock pass's write-back."
    )

    class Meta:
        abstract = True


class LockCode(Delivery):
    """An AccessCode on one lock.

    `next_attempt_at` is when the next operation on the lock is due (send, confirm, retry,
    update); `delete_after` is when our code must leave the lock (SPEC D1).
    """

    class State(models.TextChoices):
        SCHEDULED = "scheduled"  # waiting for its send time (window start minus lead time)
        WAITING_FOR_SPACE = "waiting_for_space", "waiting for space"  # SPEC S8
        SETTING = "setting", "sending"  # sent, not yet confirmed on the lock
        SET = "set"
        FAILED = "failed"  # last attempt failed; retried at next_attempt_at
        REMOVING = "removing"
        REMOVED = "removed"

    Confirmation = Confirmation

    access_code = models.ForeignKey(AccessCode, on_delete=models.CASCADE, related_name="lock_codes")
    lock = models.ForeignKey(
        "integrations.Lock", on_delete=models.CASCADE, related_name="lock_codes"
    )
    state = models.CharField(max_length=20, choices=State.choices, default=State.SCHEDULED)
    pin = EncryptedTextField(help_text="The PIN on this lock; normally the access code's.")
    name_on_lock = models.CharField(max_length=200, blank=True)
    window_starts_at = models.DateTimeField(null=True, blank=True)
    window_ends_at = models.DateTimeField(null=True, blank=True)
    created_by_us = models.BooleanField(default=True)
    in_sync = models.BooleanField(
        default=True, help_text="False while the lock holds an older PIN, name or window."
    )
    delete_after = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["access_code_id", "lock_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["access_code", "lock"], name="lockcode_one_per_access_code_and_lock"
            ),
        ]
        indexes = [
            # Read by the due-operation sweep (accesscodes.tasks.dispatch_due), every minute.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(next_attempt_at__isnull=False),
                name="lockcode_due_attempt",
            ),
            # Read by the deletion sweep (accesscodes.tasks.delete_due).
            models.Index(
                fields=["delete_after"],
                condition=Q(delete_after__isnull=False) & ~Q(state="removed"),
                name="lockcode_due_deletion",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.access_code.reservation} on {self.lock}"


class BackupCode(Delivery):
    """A spare permanent code kept on a lock for guests whose own code failed (SPEC H3)."""

    class State(models.TextChoices):
        SCHEDULED = "scheduled"
        SETTING = "setting", "sending"
        SET = "set"
        FAILED = "failed"
        REMOVING = "removing"
        REMOVED = "removed"

    lock = models.ForeignKey(
        "integrations.Lock", on_delete=models.CASCADE, related_name="backup_codes"
    )
    slot = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=64)
    pin = EncryptedTextField()
    state = models.CharField(max_length=20, choices=State.choices, default=State.SCHEDULED)
    reservation = models.ForeignKey(
        "reservations.Reservation",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="backup_codes",
    )
    assigned_at = models.DateTimeField(null=True, blank=True)
    retire_after = models.DateTimeField(
        null=True, blank=True, help_text="When the assigned stay's window ends: rotate then."
    )

    class Meta:
        ordering = ["lock_id", "slot", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["lock", "slot"],
                condition=~Q(state__in=["removing", "removed"]),
                name="backupcode_one_live_per_lock_slot",
            ),
        ]
        indexes = [
            # Read by the due-operation sweep, with LockCode's.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(next_attempt_at__isnull=False),
                name="backupcode_due_attempt",
            ),
            # Read by the backup-code rotation job (after the assigned stay ends).
            models.Index(
                fields=["retire_after"],
                condition=Q(retire_after__isnull=False),
                name="backupcode_due_rotation",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} on {self.lock}"


class CodeEvent(models.Model):
    """One line of history for an access code, lock code or backup code. Append-only."""

    class Actor(models.TextChoices):
        SYSTEM = "system"
        USER = "user"
        VENDOR = "vendor"
        HEALTHCHECK = "healthcheck"
        SUPPORT = "support"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    host = models.ForeignKey(
        "properties.Host", on_delete=models.CASCADE, related_name="code_events"
    )
    access_code = models.ForeignKey(
        AccessCode, on_delete=models.CASCADE, null=True, blank=True, related_name="events"
    )
    lock_code = models.ForeignKey(
        LockCode, on_delete=models.CASCADE, null=True, blank=True, related_name="events"
    )
    backup_code = models.ForeignKey(
        BackupCode, on_delete=models.CASCADE, null=True, blank=True, related_name="events"
    )
    lock = models.ForeignKey(
        "integrations.Lock", on_delete=models.SET_NULL, null=True, blank=True, related_name="events"
    )
    actor = models.CharField(max_length=16, choices=Actor.choices, default=Actor.SYSTEM)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    kind = models.CharField(max_length=40)
    reason = models.CharField(max_length=200, blank=True)
    # Never a PIN in clear: before/after say that a PIN changed, not what it is.
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} at {self.created_at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise ValueError("CodeEvent rows are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("CodeEvent rows are append-only")


class LockLease(models.Model):
    """Who is talking to a lock right now: writes to one lock are never concurrent (SPEC S5).

    Taken with a conditional UPDATE that must change exactly one row, so it works the same on
    SQLite and PostgreSQL; it expires so a killed worker only delays the lock's work.
    """

    lock = models.OneToOneField("integrations.Lock", on_delete=models.CASCADE, related_name="lease")
    holder = models.CharField(max_length=64, blank=True)
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["lock_id"]

    def __str__(self) -> str:
        return f"lease on {self.lock_id} until {self.expires_at}"


class HealthcheckRun(TimeStampedModel):
    """One daily healthcheck (SPEC H1), keyed by its America/New_York date so it runs once."""

    run_date = models.DateField(unique=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    codes_checked = models.PositiveIntegerField(default=0)
    codes_failing = models.PositiveIntegerField(default=0)
    backup_codes_assigned = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-run_date"]

    def __str__(self) -> str:
        return f"healthcheck {self.run_date}"


class LockListing(TimeStampedModel):
    """The codes a lock listed the last time the engine read it.

    PINs are judged against it (SPEC P7: at most 15 minutes old when a PIN is chosen), names
    against it (N2: hand-made codes included), and a backup code is handed out only if a list
    at most 24 hours old showed it (H5). `entries` is encrypted JSON: [{id, pin, name}].
    """

    lock = models.OneToOneField(
        "integrations.Lock", on_delete=models.CASCADE, related_name="code_listing"
    )
    read_at = models.DateTimeField()
    entries = EncryptedTextField(default="[]")

    class Meta:
        ordering = ["lock_id"]

    def __str__(self) -> str:
        return f"codes on {self.lock_id} at {self.read_at}"
