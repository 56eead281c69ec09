"""Host alerts: what needs the host's attention. Message rules and conversations come later."""

from django.db import models

from locksync.models import TimeStampedModel


class HostAlert(TimeStampedModel):
    """Something the host should know or act on, shown in the dashboard and emailed."""

    class Kind(models.TextChoices):
        HEALTHCHECK = "healthcheck", "Codes not set before arrival"
        LOCK_OFFLINE = "lock_offline", "Lock offline"
        LOW_BATTERY = "low_battery", "Low battery"
        ACCOUNT_DISCONNECTED = "account_disconnected", "Lock account disconnected"
        LOCK_FULL = "lock_full", "Lock full"
        MESSAGE_HELD = "message_held", "Message held"

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
