"""Hosts (the tenants), their users, properties and smart lock settings."""

import zoneinfo
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from locksync.models import TimeStampedModel


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"'{value}' is not an IANA time zone such as Europe/Lisbon.")


class Host(TimeStampedModel):
    """The account that owns properties, lock connections and settings: the tenant."""

    name = models.CharField(max_length=200)
    alert_email = models.EmailField(help_text="Where healthcheck digests and lock notices go.")

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class HostMember(TimeStampedModel):
    """A user's membership of exactly one host; every dashboard and API read is scoped by it."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="host_membership"
    )
    host = models.ForeignKey(Host, on_delete=models.CASCADE, related_name="members")

    class Meta:
        ordering = ["host_id", "user_id"]

    def __str__(self) -> str:
        return f"{self.user} @ {self.host}"


class Property(TimeStampedModel):
    host = models.ForeignKey(Host, on_delete=models.CASCADE, related_name="properties")
    name = models.CharField(max_length=200)
    address = models.CharField(max_length=500, blank=True)
    time_zone = models.CharField(max_length=64, validators=[validate_time_zone])
    checkin_time = models.TimeField(default=time(16, 0))
    checkout_time = models.TimeField(default=time(11, 0))

    class Meta:
        ordering = ["name", "id"]
        verbose_name_plural = "properties"

    def __str__(self) -> str:
        return self.name

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    def local_datetime(self, day: date, at: time) -> datetime:
        """Return the instant of a wall-clock time on a day in the property's zone (SPEC W1).

        A time that does not exist (inside a spring-forward gap) moves forward with the clock;
        a time that exists twice (autumn fall-back) means its first occurrence.
        """
        naive = datetime.combine(day, at)
        aware = naive.replace(tzinfo=self.zone, fold=0)
        # Round-tripping through UTC normalises a time inside a DST gap.
        return aware.astimezone(zoneinfo.ZoneInfo("UTC"))


class SmartLockSettings(TimeStampedModel):
    """A host's defaults (property empty) or one property's override of them."""

    class CodeSource(models.TextChoices):
        RANDOM = "random", "Random number"
        PHONE = "phone", "Last digits of the guest's phone"

    host = models.ForeignKey(Host, on_delete=models.CASCADE, related_name="smart_lock_settings")
    property = models.OneToOneField(
        Property,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="smart_lock_settings",
    )
    code_source = models.CharField(
        max_length=10, choices=CodeSource.choices, default=CodeSource.RANDOM
    )
    code_length = models.PositiveSmallIntegerField(
        default=4, validators=[MinValueValidator(4), MaxValueValidator(8)]
    )
    buffer_before = models.DurationField(
        default=timedelta(0), help_text="How long before check-in the code starts working."
    )
    buffer_after = models.DurationField(
        default=timedelta(0), help_text="How long after checkout the code keeps working."
    )
    backup_codes_enabled = models.BooleanField(default=False)
    backup_pool_size = models.PositiveSmallIntegerField(
        default=3, validators=[MinValueValidator(1), MaxValueValidator(10)]
    )

    class Meta:
        ordering = ["host_id", "property_id"]
        verbose_name = "smart lock settings"
        verbose_name_plural = "smart lock settings"
        constraints = [
            models.UniqueConstraint(
                fields=["host"],
                condition=Q(property__isnull=True),
                name="smartlocksettings_one_default_per_host",
            ),
            models.CheckConstraint(
                condition=Q(code_length__gte=4) & Q(code_length__lte=8),
                name="smartlocksettings_code_length_4_to_8",
            ),
            models.CheckConstraint(
                condition=Q(buffer_before__gte=timedelta(0)) & Q(buffer_after__gte=timedelta(0)),
                name="smartlocksettings_buffers_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(backup_pool_size__gte=1) & Q(backup_pool_size__lte=10),
                name="smartlocksettings_backup_pool_size_1_to_10",
            ),
        ]

    def __str__(self) -> str:
        return f"Settings for {self.property or self.host}"


class ApiToken(TimeStampedModel):
    """A key for the REST API. The key is shown once; only its SHA-256 hash is stored."""

    host = models.ForeignKey(Host, on_delete=models.CASCADE, related_name="api_tokens")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, help_text="What the key is for, e.g. 'PMS sync'.")
    prefix = models.CharField(
        max_length=12, help_text="The key's first characters, to tell keys apart."
    )
    key_hash = models.CharField(max_length=64, unique=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["host_id", "-created_at", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
