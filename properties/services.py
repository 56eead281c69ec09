"""Writes for properties and API tokens."""

import hashlib
import secrets
from datetime import time

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.utils import timezone

from properties.models import ApiToken, Host, Property
from properties.selectors import host_for_user

# Keys look like "lsk_<43 url-safe characters>": the prefix makes a leaked key recognisable
# (secret scanners, logs) and tells it apart from other services' keys.
API_KEY_PREFIX = "lsk_"


def api_key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def api_token_create(*, user: AbstractBaseUser, name: str) -> tuple[ApiToken, str]:
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


def property_update(*, property: Property, **changes) -> Property:
    """Change a property's own fields. Existing reservations keep their instants."""
    unknown = set(changes) - set(PROPERTY_EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not editable: {', '.join(sorted(unknown))}")
    for field, value in changes.items():
        setattr(property, field, value)
    property.full_clean()
    property.save()
    return property
