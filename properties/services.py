"""Writes for hosts, properties, smart lock settings and API tokens."""

import hashlib
import secrets
from datetime import time
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from properties.models import ApiToken, Host, HostMember, Property, SmartLockSettings
from properties.selectors import host_for_user

# Keys look like "lsk_<43 url-safe characters>": the prefix makes a leaked key recognisable
# (secret scanners, logs) and tells it apart from other services' keys.
API_KEY_PREFIX = "lsk_"


def api_key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def api_token_create(*, user: User, name: str) -> tuple[ApiToken, str]:
    """Create a token for the user's host; return it with the key, which is never stored."""
    host = host_for_user(user=user)
    if host is None:
        raise ValidationError("This user belongs to no host, so an API key would reach nothing.")
    key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        host=host, user=user, name=name, prefix=key[:12], key_hash=api_key_hash(key)
    )
    return token, key


def api_token_revoke(*, token: ApiToken) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at", "updated_at"])
    return token


def property_create(
    *,
    host: Host,
    name: str,
    time_zone: str,
    address: str = "",
    checkin_time: time | None = None,
    checkout_time: time | None = None,
) -> Property:
    prop = Property(host=host, name=name, time_zone=time_zone, address=address)
    if checkin_time is not None:
        prop.checkin_time = checkin_time
    if checkout_time is not None:
        prop.checkout_time = checkout_time
    prop.full_clean()
    prop.save()
    return prop


PROPERTY_EDITABLE_FIELDS = ("name", "address", "time_zone", "checkin_time", "checkout_time")


@transaction.atomic
def property_update(*, property: Property, **changes) -> Property:
    """Change a property's own fields.

    Stays are wall-clock times in the property's zone (SPEC W1): when the zone changes, the
    stays not yet over keep their local dates and times, so their instants and their codes'
    windows move with the zone (C1). Past stays keep their history. New default check-in and
    checkout times apply to stays entered from now on.
    """
    unknown = set(changes) - set(PROPERTY_EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not editable: {', '.join(sorted(unknown))}")
    old_zone = Property.objects.get(pk=property.pk).zone if property.pk else None
    for field, value in changes.items():
        setattr(property, field, value)
    property.full_clean()
    property.save()
    if old_zone is not None and old_zone.key != property.time_zone:
        _stays_keep_wall_clock(property=property, old_zone=old_zone)
    return property


def _stays_keep_wall_clock(*, property: Property, old_zone) -> None:
    from reservations.models import Reservation
    from reservations.services import reservation_alter

    stays = Reservation.objects.filter(property=property, check_out__gt=timezone.now()).exclude(
        status=Reservation.Status.CANCELLED
    )
    for stay in stays.select_related("property"):
        stay.property = property
        check_in, check_out = (
            property.local_datetime(local.date(), local.time())
            for local in (stay.check_in.astimezone(old_zone), stay.check_out.astimezone(old_zone))
        )
        reservation_alter(reservation=stay, check_in=check_in, check_out=check_out)


# --- sign-up and smart lock settings (dashboard) ---------------------------------------------

SETTINGS_FIELDS = (
    "code_source",
    "code_length",
    "buffer_before",
    "buffer_after",
    "backup_codes_enabled",
    "backup_pool_size",
)


@transaction.atomic
def host_signup(*, email: str, password: str, host_name: str) -> User:
    """Create a user, the host they run and the membership joining them; return the user."""
    users = get_user_model().objects
    email = users.normalize_email(email).strip()
    if users.filter(username__iexact=email).exists():
        raise ValidationError({"email": "An account with this email already exists."})
    user = users.create_user(username=email, email=email, password=password)
    host = Host.objects.create(name=host_name.strip() or email, alert_email=email)
    HostMember.objects.create(user=user, host=host)
    return user


@transaction.atomic
def smart_lock_settings_update(
    *, host: Host, property: Property | None = None, **fields: Any
) -> SmartLockSettings:
    """Save the host's defaults (no property) or one property's override of them.

    A new override starts from the host's defaults, so fields left out keep what the
    property had. Backup pools follow at once on the locks concerned (SPEC H3).
    """
    unknown = set(fields) - set(SETTINGS_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown settings: {', '.join(sorted(unknown))}.")
    if property is not None and property.host_id != host.pk:
        raise ValidationError({"property": "No such property."})
    row = SmartLockSettings.objects.filter(host=host, property=property).first()
    if row is None:
        defaults = SmartLockSettings.objects.filter(host=host, property=None).first()
        row = SmartLockSettings(host=host, property=property)
        if defaults is not None and property is not None:
            for field in SETTINGS_FIELDS:
                setattr(row, field, getattr(defaults, field))
    for field, value in fields.items():
        setattr(row, field, value)
    row.full_clean()
    row.save()
    _backup_pools_follow(host=host, property=property)
    _access_windows_follow(host=host, property=property)
    return row


@transaction.atomic
def smart_lock_settings_reset(*, host: Host, property: Property) -> None:
    """Drop a property's override: it follows the host's defaults again."""
    SmartLockSettings.objects.filter(host=host, property=property).delete()
    _backup_pools_follow(host=host, property=property)
    _access_windows_follow(host=host, property=property)


def _access_windows_follow(*, host: Host, property: Property | None) -> None:
    """New buffers apply to the stays that still have access to come (SPEC W1, C1).

    A guest whose code is on the lock gets the new window there, with the same PIN; stays
    whose access already ended keep their history.
    """
    from accesscodes.models import AccessCode
    from accesscodes.services import access_code_provision, access_window
    from reservations.models import Reservation

    now = timezone.now()
    properties = Property.objects.filter(host=host)
    if property is not None:
        properties = properties.filter(pk=property.pk)
    else:
        # The host's defaults reach only the properties that have no override of their own.
        properties = properties.filter(smart_lock_settings__isnull=True)
    access_codes = AccessCode.objects.filter(
        reservation__property__in=properties,
        reservation__status=Reservation.Status.ACCEPTED,
        ends_at__gt=now,
    ).select_related("reservation__property")
    for access_code in access_codes:
        reservation = access_code.reservation
        if access_window(reservation=reservation) != (access_code.starts_at, access_code.ends_at):
            access_code_provision(reservation=reservation)


def _backup_pools_follow(*, host: Host, property: Property | None) -> None:
    from accesscodes.services import backup_pool_ensure
    from integrations.models import Lock

    locks = Lock.objects.filter(connection__host=host, matches__isnull=False)
    if property is not None:
        locks = locks.filter(matches__property=property)
    for lock in locks.distinct().select_related("connection"):
        backup_pool_ensure(lock=lock)
