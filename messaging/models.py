"""Host alerts, message rules, scheduled messages and each reservation's conversation."""

import re

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from locksync.fields import EncryptedTextField
from locksync.models import TimeStampedModel
from locksync.monitoring import mask_guest_links
from reservations.models import GUEST_LANGUAGES

PIN_LIKE = re.compile(r"\d{4,}")


def mask_pins(text: str) -> str:
    """Replace every run of four or more digits (anything that could be a PIN) with dots, and
    every guest-page link (it opens a page showing the PIN, SPEC §3) with a placeholder."""
    return PIN_LIKE.sub("••••", mask_guest_links(text))


class HostAlert(TimeStampedModel):
    """Something the host should know or act on, shown in the dashboard and emailed."""

    class Kind(models.TextChoices):
        HEALTHCHECK = "healthcheck", "Codes not set before arrival"
        LOCK_OFFLINE = "lock_offline", "Lock offline"
        LOW_BATTERY = "low_battery", "Low battery"
        LOCK_CLOCK = "lock_clock", "Lock clock in another time zone"
        ACCOUNT_DISCONNECTED = "account_disconnected", "Lock account disconnected"
        LOCK_FULL = "lock_full", "Lock full"
        MESSAGE_HELD = "message_held", "Message held"
        FEED_PROBLEM = "feed_problem", "iCal feed needs attention"
        CODE_STILL_WORKS = "code_still_works", "Code keeps working after a change"
        CODE_CUT_SHORT = "code_cut_short", "Code ends before checkout"
        CODE_FAILING_IN_STAY = "code_failing_in_stay", "Code failing for a guest staying now"
        CHANNEL_FALLBACK = "channel_fallback", "Message sent on another channel"
        DELIVERY_FAILED = "delivery_failed", "Message not delivered"

    host = models.ForeignKey("properties.Host", on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    subject = models.CharField(max_length=300)
    body = models.TextField()
    link = models.CharField(max_length=500, blank=True, help_text="Where the host can fix it.")
    emailed_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.subject


class MessageRule(TimeStampedModel):
    """A host's automatic guest message: template, trigger, channel (SPEC G1)."""

    class Trigger(models.TextChoices):
        BOOKING_ACCEPTED = "booking_accepted", "When the booking is accepted"
        BEFORE_CHECK_IN = "before_check_in", "Before check-in"
        BEFORE_CHECK_OUT = "before_check_out", "Before checkout"

    class Channel(models.TextChoices):
        BEST = "best", "Best available"
        SMS = "sms", "SMS"
        WHATSAPP = "whatsapp", "WhatsApp"
        EMAIL = "email", "Email"
        PMS = "pms", "Booking platform thread"

    host = models.ForeignKey("properties.Host", on_delete=models.CASCADE, related_name="rules")
    properties = models.ManyToManyField("properties.Property", related_name="message_rules")
    name = models.CharField(max_length=200)
    subject = models.CharField(
        max_length=300, blank=True, help_text="Email subject; shortcodes work."
    )
    body = models.TextField(help_text="The message; shortcodes such as %smartlock_code% work.")
    trigger = models.CharField(max_length=20, choices=Trigger.choices)
    days_before = models.PositiveSmallIntegerField(default=0)
    hours_before = models.PositiveSmallIntegerField(default=0)
    send_time = models.TimeField(
        null=True,
        blank=True,
        help_text="Before check-in: the property-local time of day to send, N days before.",
    )
    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.EMAIL)
    enabled = models.BooleanField(default=True)
    language = models.CharField(
        max_length=8,
        choices=GUEST_LANGUAGES,
        default="en",
        help_text="The language the subject and message are written in.",
    )
    variants = models.JSONField(
        default=dict,
        blank=True,
        help_text='The message in other languages: {"de": {"subject": "…", "body": "…"}}; a '
        "stay in one of them gets its variant (SPEC G11, K4).",
    )

    class Meta:
        ordering = ["host_id", "name", "id"]

    def __str__(self) -> str:
        return self.name

    def languages(self) -> set[str]:
        """The languages the rule has a text in."""
        return {self.language, *self.variants}

    def text_for(self, language: str) -> tuple[str, str]:
        """Subject and body for a stay in `language`: its variant, else the rule's own text."""
        variant = self.variants.get(language or "") if isinstance(self.variants, dict) else None
        if variant:
            return variant.get("subject", "") or self.subject, variant.get("body", "")
        return self.subject, self.body

    def clean(self) -> None:
        from messaging.rendering import unknown_shortcodes

        unknown = unknown_shortcodes(f"{self.subject}\n{self.body}")
        if unknown:
            plural = "s" if len(unknown) > 1 else ""
            raise ValidationError({"body": f"Unknown shortcode{plural}: {', '.join(unknown)}"})
        self._clean_variants()

    def _clean_variants(self) -> None:
        from messaging.rendering import unknown_shortcodes

        known = dict(GUEST_LANGUAGES)
        if not isinstance(self.variants, dict):
            raise ValidationError({"variants": 'Give the variants as {"de": {"body": "…"}}.'})
        for language, variant in self.variants.items():
            name = known.get(language)
            if name is None:
                raise ValidationError({"variants": f"No such language: {language}."})
            if not isinstance(variant, dict) or not str(variant.get("body", "")).strip():
                raise ValidationError({"variants": f"The {name} variant needs a message."})
            text = f"{variant.get('subject', '')}\n{variant['body']}"
            unknown = unknown_shortcodes(text)
            if unknown:
                raise ValidationError(
                    {"variants": f"Unknown shortcode in the {name} variant: {', '.join(unknown)}"}
                )


class Conversation(TimeStampedModel):
    """The inbox thread of one reservation (SPEC G6)."""

    reservation = models.OneToOneField(
        "reservations.Reservation", on_delete=models.CASCADE, related_name="conversation"
    )

    class Meta:
        ordering = ["-updated_at", "id"]

    def __str__(self) -> str:
        return f"Conversation with {self.reservation}"


class Message(TimeStampedModel):
    """One message in a conversation, with its delivery state."""

    class Direction(models.TextChoices):
        OUTGOING = "out", "To the guest"
        INCOMING = "in", "From the guest"

    class State(models.TextChoices):
        SENDING = "sending"
        SENT = "sent"
        DELIVERED = "delivered"
        FAILED = "failed"
        RECEIVED = "received"

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    direction = models.CharField(
        max_length=3, choices=Direction.choices, default=Direction.OUTGOING
    )
    channel = models.CharField(max_length=16, choices=MessageRule.Channel.choices)
    recipient = models.CharField(max_length=300, blank=True)
    # Subject and body as sent: either may hold the guest's PIN, which is the point of the
    # message, so both are encrypted at rest like PINs (SPEC §3). They are shown to the host in
    # the inbox, masked for support staff without view_pin, and never logged or searched.
    subject = EncryptedTextField(blank=True)
    body = EncryptedTextField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.SENDING)
    error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["conversation_id", "created_at", "id"]

    def __str__(self) -> str:
        # Used as the admin's page title and history label, where support without view_pin
        # reads it: digit runs that could be a PIN are masked.
        return mask_pins(self.subject or self.body[:60])


class ScheduledMessage(TimeStampedModel):
    """One message due to a guest: from a rule (one per reservation and rule, SPEC G1), or a
    follow-up when their code changed (G7) or a backup code was assigned (H2).

    Rendered only when sent (G3). `send_after` is set while the message waits to be sent or
    retried, and cleared once it is sent, held or cancelled.
    """

    class Kind(models.TextChoices):
        RULE = "rule"
        CODE_CHANGED = "code_changed", "New code"
        BACKUP_CODE = "backup_code", "Backup code"

    class State(models.TextChoices):
        SCHEDULED = "scheduled"
        SENDING = "sending"
        HELD = "held"  # waiting for the host (no code yet, no address): SPEC G4
        SENT = "sent"
        FAILED = "failed"  # last attempt failed; retried at send_after
        CANCELLED = "cancelled"
        # Due at once when its rule was saved, for a stay booked before: not sent unless the
        # host confirms (SPEC G11).
        SKIPPED = "skipped"

    reservation = models.ForeignKey(
        "reservations.Reservation", on_delete=models.CASCADE, related_name="scheduled_messages"
    )
    rule = models.ForeignKey(
        MessageRule, on_delete=models.CASCADE, null=True, blank=True, related_name="scheduled"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.RULE)
    send_after = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.SCHEDULED)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    held_reason = models.CharField(max_length=200, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    included_code = models.BooleanField(
        default=False, help_text="The sent text carried the guest's code (G7 follows it up)."
    )
    message = models.OneToOneField(
        Message, on_delete=models.SET_NULL, null=True, blank=True, related_name="scheduled"
    )

    class Meta:
        ordering = ["send_after", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["reservation", "rule"],
                condition=Q(rule__isnull=False),
                name="scheduledmessage_one_per_reservation_and_rule",
            ),
        ]
        indexes = [
            # Read by the message sender (messaging.tasks.messages_send_due), every minute.
            models.Index(
                fields=["send_after"],
                condition=Q(send_after__isnull=False) & Q(state__in=["scheduled", "failed"]),
                name="scheduledmessage_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rule or self.get_kind_display()} for {self.reservation}"


class TwilioAccount(TimeStampedModel):
    """The host's own Twilio account for SMS and WhatsApp (SPEC G8); the token is encrypted
    at rest like lock credentials (SPEC §3)."""

    host = models.OneToOneField(
        "properties.Host", on_delete=models.CASCADE, related_name="twilio_account"
    )
    account_sid = models.CharField(max_length=64, unique=True)
    auth_token = EncryptedTextField()
    sms_from = models.CharField(max_length=20, blank=True, help_text="Sender number, E.164.")
    messaging_service_sid = models.CharField(
        max_length=64, blank=True, help_text="Used instead of the sender number when set."
    )
    whatsapp_from = models.CharField(max_length=20, blank=True, help_text="E.164.")
    whatsapp_content_sid = models.CharField(
        max_length=64,
        blank=True,
        help_text="The approved WhatsApp template (HX...) used outside the 24-hour window.",
    )
    whatsapp_variables = models.JSONField(
        default=dict,
        blank=True,
        help_text='Template variables as shortcodes, e.g. {"1": "%guest_first_name%", '
        '"2": "%smartlock_code%"}.',
    )

    def __str__(self) -> str:
        return f"Twilio {self.account_sid}"


class OptOut(TimeStampedModel):
    """A guest number that sent STOP (or the provider refused it as opted out) on one channel:
    nothing more is sent there until START (SPEC G10)."""

    host = models.ForeignKey("properties.Host", on_delete=models.CASCADE, related_name="opt_outs")
    phone = models.CharField(max_length=20)
    channel = models.CharField(max_length=16, choices=MessageRule.Channel.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["host", "phone", "channel"], name="optout_unique")
        ]

    def __str__(self) -> str:
        return f"{self.phone} opted out of {self.channel}"


class Delivery(TimeStampedModel):
    """One attempt to send one scheduled message on one channel (SPEC G9)."""

    class State(models.TextChoices):
        QUEUED = "queued"
        SENT = "sent"
        DELIVERED = "delivered"
        FAILED = "failed"

    scheduled = models.ForeignKey(
        ScheduledMessage, on_delete=models.CASCADE, related_name="deliveries"
    )
    message = models.ForeignKey(
        Message, on_delete=models.SET_NULL, null=True, blank=True, related_name="deliveries"
    )
    channel = models.CharField(max_length=16, choices=MessageRule.Channel.choices)
    recipient = models.CharField(max_length=300, blank=True)
    provider_id = models.CharField(max_length=64, blank=True, db_index=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    reason = models.TextField(blank=True, help_text="The provider's reason for a failure.")

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        return f"{self.channel} to {self.recipient}: {self.state}"
