"""Reservations: who stays where and when."""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q

from locksync.models import TimeStampedModel

URL_REFUSED = "This address cannot be used: locksync fetches feeds from public addresses only."
# SPEC K4: the languages the guest page and guest messages are translated into.
GUEST_LANGUAGES = [
    ("en", "English"),
    ("de", "German"),
    ("fr", "French"),
    ("es", "Spanish"),
    ("it", "Italian"),
    ("pt", "Portuguese"),
]


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
    language = models.CharField(
        max_length=8,
        blank=True,
        choices=GUEST_LANGUAGES,
        help_text="The guest's language for their page and messages; empty: their browser's.",
    )

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
        indexes = [
            models.Index(fields=["property", "check_out"], name="reservation_prop_checkout"),
            # The dashboard's lists: a host's stays in check-in order, a page at a time
            # (locksync.pagination), with checkout in the index for the "current" filter.
            models.Index(
                fields=["host", "check_in", "id", "check_out"], name="reservation_host_check_in"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.guest_name} ({self.reservation_code or self.external_id})"

    def save(self, *args, **kwargs) -> None:
        # E.164 and validity follow from the phone as given and the property's country, so
        # every path that stores a phone (API, iCal, dashboard, engine) keeps them in step.
        update_fields = kwargs.get("update_fields")
        if update_fields is None or "guest_phone" in update_fields:
            from reservations.phones import phone_normalise

            phone = phone_normalise(raw=self.guest_phone, time_zone=self.property.time_zone)
            self.guest_phone = phone.raw  # digits of other scripts as ASCII (SPEC P3)
            self.guest_phone_e164, self.guest_phone_valid = phone.e164, phone.valid
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "guest_phone_e164", "guest_phone_valid"}
        super().save(*args, **kwargs)

    def guest_first_name(self) -> str:
        return self.guest_name.split()[0] if self.guest_name.strip() else ""


class ICalFeed(TimeStampedModel):
    """A channel's calendar export for one property, polled every 15 minutes (SPEC §4)."""

    class Source(models.TextChoices):
        AIRBNB = "airbnb", "Airbnb"
        VRBO = "vrbo", "Vrbo"
        BOOKING = "booking", "Booking.com"
        OTHER = "other", "Other"

    property = models.ForeignKey(
        "properties.Property", on_delete=models.CASCADE, related_name="ical_feeds"
    )
    # The export URL carries a secret token; it is the only credential a feed has.
    url = models.URLField(max_length=1000)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.AIRBNB)
    enabled = models.BooleanField(default=True)
    last_fetched_at = models.DateTimeField(null=True, blank=True)
    last_ok_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    drop_held_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Since when a fetch dropping most upcoming stays waits for the host (SPEC F3).",
    )

    class Meta:
        ordering = ["property_id", "source", "id"]
        verbose_name = "iCal feed"

    def __str__(self) -> str:
        return f"{self.get_source_display()} feed of {self.property}"

    def clean(self) -> None:
        # SPEC F1: loopback, private, link-local and metadata addresses are refused at save
        # (and again at every fetch, since a name can be re-pointed).
        from reservations.feed_fetch import AddressRefused, feed_url_check

        try:
            feed_url_check(self.url, unresolvable_ok=True)
        except AddressRefused as error:
            raise ValidationError({"url": URL_REFUSED}) from error


class ICalSeen(TimeStampedModel):
    """A stay a feed has listed, and how many good fetches in a row it has been missing from.

    A stay is cancelled only once it is missing from two good fetches at least an hour apart
    (SPEC F3), so one truncated or glitchy export never cancels a guest's code.
    """

    feed = models.ForeignKey(ICalFeed, on_delete=models.CASCADE, related_name="seen")
    uid = models.CharField(max_length=500)
    reservation = models.ForeignKey(
        Reservation, on_delete=models.SET_NULL, null=True, blank=True, related_name="ical_seen"
    )
    missing_fetches = models.PositiveSmallIntegerField(default=0)
    first_missing_at = models.DateTimeField(
        null=True, blank=True, help_text="The first good fetch that no longer listed the stay."
    )
    cancelled_by_feed_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Set when the feed's absence cancelled the stay; it comes back if relisted.",
    )
    last_seen_at = models.DateTimeField()

    class Meta:
        ordering = ["feed_id", "uid"]
        constraints = [
            models.UniqueConstraint(fields=["feed", "uid"], name="icalseen_one_per_feed_and_uid")
        ]

    def __str__(self) -> str:
        return f"{self.uid} in {self.feed}"
