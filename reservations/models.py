"""Reservations: who stays where and when."""

from django.db import models
from django.db.models import F, Q

from locksync.models import TimeStampedModel


class Reservation(TimeStampedModel):
    """A stay. Check-in and checkout are instants; they are entered and shown as wall-clock
    times in the property's zone (SPEC W1), converted where they come in."""

    class Status(models.TextChoices):
        INQUIRY = "inquiry"
        ACCEPTED = "accepted"
        CANCELLED = "cancelled"

    class Source(models.TextChoices):
        API = "api", "API"
        MANUAL = "manual", "Entered in the dashboard"
        AIRBNB = "airbnb", "Airbnb iCal"
        VRBO = "vrbo", "Vrbo iCal"
        BOOKING = "booking", "Booking.com iCal"
        ICAL = "ical", "Other iCal"
        DEMO = "demo", "Demo data"

    host = models.ForeignKey(
        "properties.Host", on_delete=models.CASCADE, related_name="reservations"
    )
    property = models.ForeignKey(
        "properties.Property", on_delete=models.PROTECT, related_name="reservations"
    )
    external_id = models.CharField(
        max_length=200, help_text="The host's own id for the booking (channel or PMS id)."
    )
    reservation_code = models.CharField(max_length=64, blank=True, db_index=True)
    guest_name = models.CharField(max_length=200, db_index=True)
    guest_phone = models.CharField(max_length=64, blank=True, help_text="As given.")
    guest_phone_e164 = models.CharField(max_length=20, blank=True)
    guest_phone_valid = models.BooleanField(default=False)
    guest_phone_last_digits = models.CharField(
        max_length=8, blank=True, help_text="Last digits only, where a feed carries no more."
    )
    guest_email = models.EmailField(blank=True)
    check_in = models.DateTimeField()
    check_out = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACCEPTED)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.API)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["check_in", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(check_in__lt=F("check_out")),
                name="reservation_check_in_before_check_out",
            ),
            models.UniqueConstraint(
                fields=["host", "external_id"], name="reservation_one_per_host_and_external_id"
            ),
        ]
        indexes = [models.Index(fields=["property", "check_out"], name="reservation_prop_checkout")]

    def __str__(self) -> str:
        return f"{self.guest_name} ({self.reservation_code or self.external_id})"

    def guest_first_name(self) -> str:
        return self.guest_name.split()[0] if self.guest_name.strip() else ""
