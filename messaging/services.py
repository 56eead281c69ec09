"""Messaging services."""

from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone

from messaging.models import HostAlert
from properties.models import Host


def host_alert_raise(
    *, host: Host, kind: str, subject: str, body: str, link: str = "", email: bool = True
) -> HostAlert:
    """Record an alert for the host and email it to the host's alert address."""
    alert = HostAlert.objects.create(host=host, kind=kind, subject=subject, body=body, link=link)
    if email and host.alert_email:
        url = f"{settings.SITE_URL.rstrip('/')}{link}" if link.startswith("/") else link
        text = f"{body}\n\n{url}\n" if url else body
        send_mail(subject, text, None, [host.alert_email])
        alert.emailed_at = timezone.now()
        alert.save(update_fields=["emailed_at", "updated_at"])
    return alert
