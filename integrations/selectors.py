"""Reads of a host's lock connections, locks and matches. Every read takes the host."""

from django.db.models import QuerySet

from integrations.models import Lock, LockConnection, Match
from properties.models import Host, Property


def connection_list(*, host: Host, credentials: bool = True) -> QuerySet[LockConnection]:
    """The host's lock-app accounts; `credentials=False` leaves the encrypted credentials
    unread (pages that only list accounts need not decrypt one per row)."""
    connections = LockConnection.objects.filter(host=host)
    return connections if credentials else connections.defer("credentials")


def connection_get(*, host: Host, pk: int) -> LockConnection:
    return connection_list(host=host).get(pk=pk)


def lock_list(*, host: Host, credentials: bool = True) -> QuerySet[Lock]:
    """The host's locks with their connection; `credentials=False` as in connection_list."""
    locks = Lock.objects.filter(connection__host=host).select_related("connection")
    return locks if credentials else locks.defer("connection__credentials")


def lock_get(*, host: Host, pk: int) -> Lock:
    return lock_list(host=host).get(pk=pk)


def match_list(*, host: Host) -> QuerySet[Match]:
    return Match.objects.filter(property__host=host, lock__connection__host=host).select_related(
        "lock", "property"
    )


def match_get(*, host: Host, pk: int) -> Match:
    return match_list(host=host).get(pk=pk)


def match_create_preview(*, host: Host, lock: Lock, property: Property) -> int:
    """How many stays get a code on the lock if it is matched to the property (SPEC M3)."""
    from django.utils import timezone

    from reservations.models import Reservation

    return (
        Reservation.objects.filter(
            host=host,
            property=property,
            status=Reservation.Status.ACCEPTED,
            check_out__gt=timezone.now(),
        )
        .exclude(access_code__lock_codes__lock=lock, access_code__lock_codes__state__in=["set"])
        .count()
    )


def match_delete_preview(*, host: Host, match: Match) -> dict[str, int]:
    """What unmatching does to our codes on the lock (SPEC M4): deleted now, or never sent."""
    from accesscodes.models import LockCode

    lock_codes = LockCode.objects.filter(
        lock=match.lock,
        access_code__reservation__property=match.property,
        access_code__reservation__host=host,
    ).exclude(state=LockCode.State.REMOVED)
    on_lock = lock_codes.exclude(vendor_code_id="").count()
    return {"delete_now": on_lock, "drop": lock_codes.count() - on_lock}
