"""A code failing on a lock while its guest is staying: the host hears of it at once
(issue #24 wall 4). The healthcheck only looks at arrivals; a guest inside whose code stops
working on one door needs the host now."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone

from accesscodes.presentation import reason_sentence


def code_failing_in_stay_alert(lock_code, reason: str) -> None:
    """Raise one open alert per stay and lock while the guest is in the stay."""
    from messaging.models import HostAlert
    from messaging.services import host_alert_raise

    access_code = lock_code.access_code
    reservation = access_code.reservation
    now = timezone.now()
    if access_code.cancelled_at is not None or not (
        reservation.check_in <= now < reservation.check_out
    ):
        return
    host = reservation.host
    link = reverse("conversation", kwargs={"pk": reservation.pk})
    lock = lock_code.lock
    subject = f"{reservation.guest_name}'s code is failing on {lock.name}"
    already = HostAlert.objects.filter(
        host=host,
        kind=HostAlert.Kind.CODE_FAILING_IN_STAY,
        link=link,
        subject=subject,
        resolved_at__isnull=True,
    )
    if already.exists():
        return
    sentence = reason_sentence(reason) or "the lock refused it"
    body = (
        f"{reservation.guest_name} is staying at {reservation.property.name} now, and the code "
        f"could not be set on {lock.name}: {sentence}. locksync keeps trying; open the stay to "
        "retry now, or give the guest another way in."
    )
    host_alert_raise(
        host=host, kind=HostAlert.Kind.CODE_FAILING_IN_STAY, subject=subject, body=body, link=link
    )
