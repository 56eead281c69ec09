"""A small estate per host: a property, a matched simulated lock, one booked stay."""

from dataclasses import dataclass
from datetime import time, timedelta

import pytest
from django.utils import timezone

from accesscodes import services as engine
from integrations.models import Lock, Match
from messaging.models import MessageRule
from messaging.services import message_rule_create
from properties.models import Property
from reservations.ical import ical_feed_create
from reservations.models import ICalFeed, Reservation
from reservations.services import reservation_upsert
from tests.factories import HostAlertFactory, MatchFactory


@dataclass
class Estate:
    property: Property
    lock: Lock
    match: Match
    reservation: Reservation
    rule: MessageRule
    feed: ICalFeed


def book(property: Property, *, name: str = "Ana Silva", starts_in=timedelta(hours=5), n=0):
    check_in = timezone.now() + starts_in
    reservation, _ = reservation_upsert(
        host=property.host,
        external_id=f"EXT-{property.pk}-{n}-{name}",
        property=property,
        guest_name=name,
        reservation_code=f"HM{property.pk:04d}{n:04d}",
        check_in=check_in,
        check_out=check_in + timedelta(days=3),
    )
    return reservation


def make_estate(host, *, property_name: str, lock_name: str) -> Estate:
    match = MatchFactory(
        lock__connection__host=host,
        lock__device__name=lock_name,
        property__host=host,
        property__name=property_name,
        property__time_zone="Europe/Lisbon",
        property__checkin_time=time(16),
        property__checkout_time=time(11),
    )
    reservation = book(match.property)
    HostAlertFactory(host=host, subject=f"{lock_name} is offline", link=f"/locks/{match.lock.pk}/")
    rule = message_rule_create(
        host=host,
        name=f"Welcome to {property_name}",
        body="Hello %guest_first_name%, your code is %smartlock_code%.",
        trigger=MessageRule.Trigger.BEFORE_CHECK_IN,
        days_before=1,
        properties=[match.property],
    )
    feed = ical_feed_create(property=match.property, url=f"https://example.com/{host.pk}.ics")
    return Estate(match.property, match.lock, match, reservation, rule, feed)


def settle() -> None:
    for _ in range(5):
        if not engine.dispatch_due() and not engine.delete_due():
            return


@pytest.fixture
def estate(host) -> Estate:
    return make_estate(host, property_name="Seaside Cottage", lock_name="Garden Gate")


@pytest.fixture
def foreign_estate(other_host) -> Estate:
    return make_estate(other_host, property_name="Oscar's Penthouse", lock_name="Oscar's Door")


@pytest.fixture
def hannah(client, host_user):
    client.force_login(host_user)
    return client
