"""Reads of a host's reservations. Every read takes the host."""

from django.db.models import QuerySet

from properties.models import Host
from reservations.models import Reservation


def reservation_list(*, host: Host) -> QuerySet[Reservation]:
    return Reservation.objects.filter(host=host).select_related("property")


def reservation_get(*, host: Host, pk: int) -> Reservation:
    return reservation_list(host=host).get(pk=pk)


def reservation_get_by_external_id(*, host: Host, external_id: str) -> Reservation | None:
    return reservation_list(host=host).filter(external_id=external_id).first()
