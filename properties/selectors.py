"""Reads of a host's properties and settings. Every read takes the host (tenancy)."""

from collections import defaultdict

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet

from properties.models import Host, Property, SmartLockSettings


def host_for_user(*, user: AbstractBaseUser | AnonymousUser) -> Host | None:
    """Return the host the user belongs to, or None (support staff, anonymous)."""
    if not user.is_authenticated:
        return None
    membership = getattr(user, "host_membership", None)
    return membership.host if membership else None


def property_list(*, host: Host) -> QuerySet[Property]:
    return Property.objects.filter(host=host)


def property_get(*, host: Host, pk: int) -> Property:
    """Return one of the host's properties; raise Property.DoesNotExist for any other id."""
    return property_list(host=host).get(pk=pk)


def smart_lock_settings_effective(*, property: Property) -> SmartLockSettings:
    """Return the property's override, else the host's defaults, else the product defaults."""
    override = SmartLockSettings.objects.filter(property=property).first()
    if override:
        return override
    default = SmartLockSettings.objects.filter(host_id=property.host_id, property=None).first()
    return default or SmartLockSettings(host_id=property.host_id)


def smart_lock_settings_own(*, host: Host, property: Property | None = None):
    """The host's defaults row (no property) or the property's override; None if not saved."""
    return SmartLockSettings.objects.filter(host=host, property=property).first()


def property_list_with_locks(*, host: Host) -> list[Property]:
    """The host's properties, each with `matched_locks` (two queries whatever the count)."""
    from integrations.selectors import match_list

    locks_by_property: dict[int, list] = defaultdict(list)
    for match in match_list(host=host).order_by("lock__name", "lock_id"):
        locks_by_property[match.property_id].append(match.lock)
    properties = list(property_list(host=host))
    for property in properties:
        property.matched_locks = locks_by_property[property.pk]  # type: ignore[attr-defined]
    return properties
