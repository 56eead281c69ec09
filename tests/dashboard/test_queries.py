"""Every list page runs a bounded number of queries, with 1 row as with 50."""

from datetime import timedelta
from unittest import mock

import pytest
from django.urls import reverse
from django.utils import timezone

from accesscodes.models import LockCode
from locksync import fields
from messaging.models import MessageRule
from tests.factories import (
    HostAlertFactory,
    LockCodeFactory,
    LockConnectionFactory,
    LockFactory,
    MatchFactory,
    PropertyFactory,
    ReservationFactory,
)

LIST_PAGES = [
    "home",
    "property_list",
    "lock_list",
    "connection_list",
    "reservation_list",
    "reservation_list?show=upcoming",
    "reservation_list?show=in_stay",
    "reservation_list?show=failing",
    "reservation_list?show=all",
    "inbox",
    "alert_list",
    "rule_list",
    # Searches run the same queries, with a filter.
    "reservation_list?q=guest",
    "reservation_list?show=all&q=guest+number",
    "inbox?q=guest",
    "alert_list?q=offline",
]
BOUND = 14


def populate(host, count: int) -> None:
    """`count` of everything: properties, connections, locks, matches, stays, codes, alerts."""
    for n in range(count):
        connection = LockConnectionFactory(host=host)
        lock = LockFactory(connection=connection)
        property = PropertyFactory(host=host)
        MatchFactory(lock=lock, property=property)
        starts = timezone.now() + timedelta(hours=1 if n % 2 else -1)
        reservation = ReservationFactory(
            property=property, check_in=starts, check_out=starts + timedelta(days=2)
        )
        state = LockCode.State.FAILED if n % 3 == 0 else LockCode.State.SET
        LockCodeFactory(access_code__reservation=reservation, lock=lock, state=state)
        HostAlertFactory(host=host)
        rule = MessageRule.objects.create(
            host=host, name=f"Rule {n}", body="Hello", trigger="booking_accepted"
        )
        rule.properties.add(property)


def url_of(page: str) -> str:
    name, _, query = page.partition("?")
    return reverse(name) + (f"?{query}" if query else "")


@pytest.mark.parametrize("page", LIST_PAGES)
def test_a_list_page_runs_the_same_bounded_queries_for_1_and_50_rows(
    hannah, host, page, django_assert_max_num_queries
):
    populate(host, 1)
    with django_assert_max_num_queries(BOUND):
        assert hannah.get(url_of(page)).status_code == 200
    populate(host, 49)
    with django_assert_max_num_queries(BOUND):
        response = hannah.get(url_of(page))
    assert response.status_code == 200


@pytest.mark.parametrize("page", ["home", "property_detail", "lock_list", "connection_list"])
def test_pages_listing_locks_never_decrypt_lock_app_credentials(hannah, host, page):
    populate(host, 5)
    unmatched = LockFactory(connection=LockConnectionFactory(host=host), device__name="Shed")
    url = (
        reverse(page, args=[host.properties.first().pk])
        if page == "property_detail"
        else reverse(page)
    )
    with mock.patch.object(fields, "decrypt_text", wraps=fields.decrypt_text) as decrypt:
        response = hannah.get(url)
    assert response.status_code == 200
    assert unmatched.name in response.content.decode() or page == "connection_list"
    assert decrypt.call_count == 0
