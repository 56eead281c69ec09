"""Reads of a host's reservations. Every read takes the host."""

from django.db.models import Q, QuerySet

from locksync.pagination import search_filter
from properties.models import Host, Property
from reservations.models import Reservation


def reservation_list(*, host: Host) -> QuerySet[Reservation]:
    return Reservation.objects.filter(host=host).select_related("property")


def reservation_get(*, host: Host, pk: int) -> Reservation:
    return reservation_list(host=host).get(pk=pk)


def reservation_get_by_external_id(*, host: Host, external_id: str) -> Reservation | None:
    return reservation_list(host=host).filter(external_id=external_id).first()


def reservation_list_with_codes(*, host: Host, show: str = "current", now=None):
    """The host's stays with their codes prefetched, filtered for the reservations page.

    `show`: current (not yet over), upcoming, in_stay, failing, or all.
    """
    from django.db.models import Prefetch
    from django.utils import timezone

    from accesscodes.models import LockCode

    now = now or timezone.now()
    stays = reservation_list(host=host).select_related("access_code")
    accepted = Reservation.Status.ACCEPTED
    if show == "upcoming":
        stays = stays.filter(status=accepted, check_in__gt=now)
    elif show == "in_stay":
        stays = stays.filter(status=accepted, check_in__lte=now, check_out__gt=now)
    elif show == "failing":
        stays = stays.filter(
            status=accepted,
            check_out__gt=now,
            access_code__lock_codes__state=LockCode.State.FAILED,
        ).distinct()
    elif show == "current":
        stays = stays.filter(check_out__gt=now)
    # The lists show code states, never PINs: the encrypted columns stay unread (a Fernet
    # decryption per row was most of the page's time at 10,000 stays).
    return stays.defer("access_code__pin").prefetch_related(
        Prefetch(
            "access_code__lock_codes",
            queryset=LockCode.objects.select_related("lock")
            .defer("pin")
            .order_by("lock__name", "lock_id"),
        )
    )


def ical_feed_list(*, host: Host):
    from reservations.models import ICalFeed

    return ICalFeed.objects.filter(property__host=host).select_related("property")


def ical_feed_get(*, host: Host, pk: int):
    return ical_feed_list(host=host).get(pk=pk)


# Served on PostgreSQL by the trigram indexes of migration 0006.
STAY_SEARCH_FIELDS = ("guest_name", "reservation_code", "external_id", "guest_email")


def stay_search(host: Host, text: str) -> Q:
    """Stays where every word of `text` is in a searched field or in the property's name.

    The properties a word names are looked up first (a host has few), so the stays are
    filtered by `property_id IN (…)` rather than through a join, which lets PostgreSQL combine
    the trigram indexes with the property index instead of reading every stay.
    """
    found = Q()
    for word in text.split():
        names = Property.objects.filter(host=host, name__icontains=word)
        ids = list(names.values_list("id", flat=True))
        found &= search_filter(word, STAY_SEARCH_FIELDS) | Q(property_id__in=ids)
    return found
