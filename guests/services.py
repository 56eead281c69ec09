"""The guest's page: private links, "Code not working?" and the host's settings (SPEC K1–K3)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accesscodes.models import CodeEvent
from guests import engine_adapter
from guests.models import GuestLink, GuestSettings, PropertyGuestInfo
from messaging.models import HostAlert
from messaging.services import host_alert_raise
from properties.models import Host, Property
from reservations.models import GUEST_LANGUAGES, Reservation

# SPEC K1: a link works until 24 hours after checkout.
LINK_GRACE = timedelta(hours=24)
# SPEC K3: at most this many "Code not working?" requests per stay.
HELP_REQUESTS_PER_STAY = 3
HELP_EVENT = "guest_reported_code_not_working"


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def guest_settings_get(*, host: Host) -> GuestSettings:
    """The host's guest settings; the defaults, unsaved, when the host never changed them."""
    found = GuestSettings.objects.filter(host=host).first()
    return found or GuestSettings(host=host)


def guest_settings_update(*, host: Host, **changes) -> GuestSettings:
    """Save the host's guest settings and move the stays' pending checks to match."""
    from guests.prearrival import stay_checks_reschedule_host

    guest_settings, _ = GuestSettings.objects.get_or_create(host=host)
    for field, value in changes.items():
        setattr(guest_settings, field, value)
    guest_settings.full_clean()
    guest_settings.save()
    stay_checks_reschedule_host(host=host)
    return guest_settings


def checkin_notes_update(*, property: Property, checkin_notes: str) -> PropertyGuestInfo:
    """Save what the property's guests read on their page (SPEC K2)."""
    info, _ = PropertyGuestInfo.objects.update_or_create(
        property=property, defaults={"checkin_notes": checkin_notes.strip()}
    )
    return info


def guest_link_issue(*, reservation: Reservation) -> str:
    """Return a new private link to the stay's page; only the token's hash is kept (K1)."""
    token = secrets.token_urlsafe(24)
    GuestLink.objects.create(reservation=reservation, token_hash=_token_hash(token))
    path = reverse("guest_page", kwargs={"token": token})
    return f"{settings.SITE_URL.rstrip('/')}{path}"


def guest_links_revoke(*, reservation: Reservation) -> int:
    """Turn off every link to the stay's page sent so far (a message forwarded to the wrong
    person); `%guest_link%` in later messages issues working ones. Returns how many."""
    revoked, _ = GuestLink.objects.filter(reservation=reservation).delete()
    return revoked


def guest_link_expires_at(*, reservation: Reservation) -> datetime:
    return reservation.check_out + LINK_GRACE


def guest_link_resolve(*, token: str, now: datetime | None = None) -> Reservation | None:
    """The stay a token opens, or None when it is unknown, expired or the stay is cancelled."""
    now = now or timezone.now()
    if not token or len(token) > 100:
        return None
    link = (
        GuestLink.objects.filter(token_hash=_token_hash(token))
        .select_related("reservation__property", "reservation__host")
        .first()
    )
    if link is None:
        return None
    reservation = link.reservation
    if reservation.status != Reservation.Status.ACCEPTED:
        return None
    if now >= guest_link_expires_at(reservation=reservation):
        return None
    GuestLink.objects.filter(pk=link.pk).update(last_opened_at=now)
    return reservation


# --- "Code not working?" (SPEC K3) ----------------------------------------------------------


class HelpOutcome:
    BACKUP = "backup"  # a backup code seen on the lock was assigned and is shown
    NO_BACKUP = "no_backup"  # nothing usable: call the host
    OUTSIDE_WINDOW = "outside_window"
    LIMIT = "limit"  # the stay used its requests


@dataclass(frozen=True)
class HelpResult:
    outcome: str
    lock_name: str
    backup_pin: str = ""


def help_requests_used(*, reservation: Reservation) -> int:
    return CodeEvent.objects.filter(access_code__reservation=reservation, kind=HELP_EVENT).count()


def code_not_working(
    *, reservation: Reservation, lock_id: int, now: datetime | None = None
) -> HelpResult | None:
    """Handle the guest's "Code not working?" on one lock; None for a lock not of the stay.

    Inside the window: give a backup code seen on that lock (H5), re-attempt the guest's own
    code (marked due, no vendor call here), email the host and log it. At most three per stay.
    """
    now = now or timezone.now()
    guest_code = next(
        (
            c
            for c in engine_adapter.guest_lock_codes(reservation=reservation)
            if c.lock.pk == lock_id
        ),
        None,
    )
    if guest_code is None:
        return None
    lock_name = guest_code.lock.name
    access_code = guest_code.lock_code.access_code
    if not access_code.starts_at <= now < access_code.ends_at:
        return HelpResult(HelpOutcome.OUTSIDE_WINDOW, lock_name)
    with transaction.atomic():
        # Serialises requests of one stay, so a double tap cannot pass the limit.
        Reservation.objects.select_for_update().filter(pk=reservation.pk).first()
        if help_requests_used(reservation=reservation) >= HELP_REQUESTS_PER_STAY:
            return HelpResult(HelpOutcome.LIMIT, lock_name)
        engine_adapter.guest_event_record(
            lock_code=guest_code.lock_code,
            kind=HELP_EVENT,
            reason=f"the guest pressed \u201cCode not working?\u201d for {lock_name}",
        )
        backup = engine_adapter.backup_assign_on_request(
            lock_code=guest_code.lock_code,
            reason=f"{lock_name}: the guest reported their code not working",
        )
        engine_adapter.lock_code_reattempt(lock_code=guest_code.lock_code, now=now)
        backup_name = backup.name if backup else None
        # After the commit, and robust: a mail server that is down must not take the
        # guest's backup code away or show them an error.
        transaction.on_commit(
            lambda: _tell_host(
                reservation=reservation, lock_name=lock_name, backup_name=backup_name
            ),
            robust=True,
        )
    if backup is None:
        return HelpResult(HelpOutcome.NO_BACKUP, lock_name)
    return HelpResult(HelpOutcome.BACKUP, lock_name, backup_pin=backup.pin)


def _tell_host(*, reservation: Reservation, lock_name: str, backup_name: str | None) -> None:
    prop = reservation.property
    local_now = timezone.now().astimezone(prop.zone)
    if backup_name:
        given = f"We gave them {backup_name}, which the lock's code list showed."
    else:
        given = "No backup code of this lock could be given, so they may call you."
    host_alert_raise(
        host=reservation.host,
        kind=HostAlert.Kind.HEALTHCHECK,
        subject=f"{reservation.guest_name}: code not working on {lock_name}",
        body=(
            f"{reservation.guest_name} ({prop.name}) reported at {local_now:%a %d %b %H:%M} "
            f"({prop.time_zone}) that their code does not open {lock_name}.\n\n{given}\n"
            "We are sending their own code to the lock again. If the lock is offline, check "
            "its battery and its hub's wifi."
        ),
        link=reverse("conversation", kwargs={"pk": reservation.pk}),
    )


def stay_language_set(*, reservation: Reservation, language: str) -> Reservation:
    """Set the language of the guest's page and messages; "" follows their browser (K4)."""
    known = {code for code, _ in GUEST_LANGUAGES}
    if language and language not in known:
        raise ValueError(f"Unknown language {language!r}")
    if reservation.language != language:
        reservation.language = language
        reservation.save(update_fields=["language", "updated_at"])
    return reservation


def arrival_json(*, reservation: Reservation) -> dict | None:
    """The stay's first entry for the API, in the property's time (K5), or None."""
    from guests.models import Arrival

    arrival = Arrival.objects.filter(reservation=reservation).first()
    if arrival is None:
        return None
    return {
        "entered_at": arrival.entered_at.astimezone(reservation.property.zone).isoformat(),
        "lock_id": arrival.lock_id,
        "lock_name": arrival.lock_name,
        "via": arrival.via,
    }
