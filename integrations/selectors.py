"""Reads of a host's lock connections, locks and matches. Every read takes the host."""

from django.db.models import QuerySet

from integrations.models import Lock, LockConnection, Match
from properties.models import Host, Property


def connection_list(*, host: Host) -> QuerySet[LockConnection]:
    return LockConnection.objects.filter(host=host)


def connection_get(*, host: Host, pk: int) -> LockConnection:
    return connection_list(host=host).get(pk=pk)


def lock_list(*, host: Host) -> QuerySet[Lock]:
    return Lock.objects.filter(connection__host=host).select_related("connection")


def lock_get(*, host: Host, pk: int) -> Lock:
    return lock_list(host=host).get(pk=pk)


def match_list(*, host: Host) -> QuerySet[Match]:
    return Match.objects.filter(property__host=host, lock__connection__host=host).select_related(
        "lock", "property"
    )


def locks_for_property(*, property: Property) -> QuerySet[Lock]:
    """Return the locks matched to a property (the property is already the host's)."""
    return Lock.objects.filter(matches__property=property, connection__host_id=property.host_id)
