"""Reads of a host's alerts and messages. Every read takes the host."""

from django.db.models import QuerySet

from messaging.models import HostAlert
from properties.models import Host


def host_alert_list(*, host: Host) -> QuerySet[HostAlert]:
    """The host's alerts, newest first."""
    return HostAlert.objects.filter(host=host).order_by("-created_at", "-id")
