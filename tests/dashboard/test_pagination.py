"""Long lists come 25 rows at a time with "Load more", can be searched, and never read PINs."""

import base64
import re
from datetime import timedelta
from unittest import mock

import pytest
from django.urls import reverse
from django.utils import timezone

from accesscodes.models import LockCode
from locksync import fields
from locksync.pagination import PAGE_SIZE
from messaging.models import HostAlert
from tests.factories import (
    HostAlertFactory,
    LockCodeFactory,
    LockFactory,
    PropertyFactory,
    ReservationFactory,
)

STAY_LINK = re.compile(r'href="/reservations/(\d+)/"')
CONVERSATION_LINK = re.compile(r'href="/inbox/(\d+)/"')
LOAD_MORE = re.compile(r'<a href="([^"]+)" hx-get="[^"]+"[^>]*>Load more</a>')


def stays(host, count: int, *, name: str = "Guest", days_ahead: int = 1):
    """`count` stays on one property, an hour apart, in check-in order."""
    property = PropertyFactory(host=host, name="Sea View")
    starts = timezone.now() + timedelta(days=days_ahead)
    return [
        ReservationFactory(
            property=property,
            guest_name=f"{name} {n:03d}",
            check_in=starts + timedelta(hours=n),
            check_out=starts + timedelta(hours=n, days=2),
        )
        for n in range(count)
    ]


def follow_pages(client, url: str, link: re.Pattern) -> list[list[int]]:
    """Every page of a list, following "Load more" as a browser without JavaScript would."""
    pages = []
    while url:
        response = client.get(url)
        assert response.status_code == 200
        html = response.content.decode()
        pages.append([int(pk) for pk in link.findall(html)])
        more = LOAD_MORE.search(html)
        url = more.group(1).replace("&amp;", "&") if more else ""
    return pages


def html_ids(response, link: re.Pattern = STAY_LINK) -> list[int]:
    return [int(pk) for pk in link.findall(response.content.decode())]


def test_the_reservations_list_shows_a_page_of_stays_and_load_more_brings_each_other_once(
    hannah, host
):
    booked = stays(host, 2 * PAGE_SIZE + 7)
    pages = follow_pages(hannah, reverse("reservation_list"), STAY_LINK)
    assert [len(page) for page in pages] == [PAGE_SIZE, PAGE_SIZE, 7]
    assert [pk for page in pages for pk in page] == [stay.pk for stay in booked]


def test_the_inbox_shows_a_page_of_stays_and_load_more_brings_the_rest(hannah, host):
    booked = stays(host, PAGE_SIZE + 3)
    pages = follow_pages(hannah, reverse("inbox"), CONVERSATION_LINK)
    assert [len(page) for page in pages] == [PAGE_SIZE, 3]
    assert [pk for page in pages for pk in page] == [stay.pk for stay in booked]


def test_the_last_page_has_no_load_more_link(hannah, host):
    stays(host, PAGE_SIZE)
    response = hannah.get(reverse("reservation_list"))
    assert len(html_ids(response)) == PAGE_SIZE
    assert "Load more" not in response.content.decode()


def test_load_more_through_htmx_answers_only_the_next_rows(hannah, host):
    booked = stays(host, PAGE_SIZE + 2)
    first = hannah.get(reverse("reservation_list")).content.decode()
    next_url = LOAD_MORE.search(first).group(1).replace("&amp;", "&")
    response = hannah.get(next_url, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert "<html" not in html and "<table" not in html
    assert html.count("<tr>") == 2
    assert html_ids(response) == [stay.pk for stay in booked[PAGE_SIZE:]]


def test_a_stay_booked_while_paging_earlier_than_the_page_is_not_repeated_and_later_is_shown(
    hannah, host
):
    booked = stays(host, PAGE_SIZE + 1)
    first = hannah.get(reverse("reservation_list")).content.decode()
    next_url = LOAD_MORE.search(first).group(1).replace("&amp;", "&")
    property = booked[0].property
    earlier = ReservationFactory(
        property=property,
        check_in=booked[0].check_in + timedelta(minutes=1),
        check_out=booked[0].check_out,
    )
    later = ReservationFactory(
        property=property,
        check_in=booked[-1].check_in + timedelta(hours=1),
        check_out=booked[-1].check_out + timedelta(hours=1),
    )
    assert html_ids(hannah.get(next_url)) == [booked[-1].pk, later.pk]
    assert earlier.pk not in html_ids(hannah.get(next_url))


def test_load_more_keeps_the_filter_and_the_search(hannah, host):
    stays(host, PAGE_SIZE + 4, name="Ana")
    stays(host, 3, name="Bruno")
    url = reverse("reservation_list") + "?show=upcoming&q=ana"
    pages = follow_pages(hannah, url, STAY_LINK)
    assert [len(page) for page in pages] == [PAGE_SIZE, 4]


@pytest.mark.parametrize(
    "query",
    ["Rosalind", "rosa", "HMX-7731", "rosalind@example.org", "Lighthouse", "rosalind lighthouse"],
)
def test_search_finds_a_stay_by_guest_code_email_or_property(hannah, host, query):
    stays(host, 5)
    wanted = ReservationFactory(
        property=PropertyFactory(host=host, name="The Lighthouse"),
        guest_name="Rosalind Franklin",
        reservation_code="HMX-7731",
        guest_email="rosalind@example.org",
    )
    for page in ("reservation_list", "inbox"):
        link = STAY_LINK if page == "reservation_list" else CONVERSATION_LINK
        response = hannah.get(reverse(page), {"q": query})
        assert html_ids(response, link) == [wanted.pk], page


def test_search_needs_every_word_and_says_when_nothing_matches(hannah, host):
    stays(host, 3)
    response = hannah.get(reverse("reservation_list"), {"q": "Guest nobody"})
    assert html_ids(response) == []
    assert "No reservations match “Guest nobody”." in response.content.decode()


def test_search_never_shows_another_hosts_stays(hannah, host, other_host):
    stays(other_host, 2, name="Shared Name")
    mine = stays(host, 1, name="Shared Name")
    response = hannah.get(reverse("reservation_list"), {"q": "shared"})
    assert html_ids(response) == [mine[0].pk]


def cursor(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "after",
    [
        "not-a-cursor!",
        "%%%",
        cursor(b"{}"),
        cursor(b"[1]"),
        cursor(b'["someday", 4]'),
        cursor(b'["2026-01-01T00:00:00+00:00", "four"]'),
        cursor(b"[null, 4]"),
        cursor(b"\xff\xfe"),
    ],
)
@pytest.mark.parametrize("page", ["reservation_list", "inbox", "alert_list"])
def test_a_mistyped_page_link_is_a_clear_400_not_an_error(hannah, host, page, after):
    stays(host, 2)
    response = hannah.get(reverse(page), {"after": after})
    assert response.status_code == 400
    assert "This page link is not valid" in response.content.decode()


def test_list_pages_never_decrypt_a_pin(hannah, host):
    lock = LockFactory(connection__host=host)
    for n, stay in enumerate(stays(host, 12)):
        state = LockCode.State.FAILED if n % 3 == 0 else LockCode.State.SET
        LockCodeFactory(access_code__reservation=stay, lock=lock, state=state)
    with mock.patch.object(fields, "decrypt_text", wraps=fields.decrypt_text) as decrypt:
        for url in ("reservation_list", "inbox"):
            for show in ("current", "failing", "all"):
                response = hannah.get(reverse(url), {"show": show})
                assert response.status_code == 200
                assert "set on 1 of 1 lock" in response.content.decode() or show == "failing"
    assert decrypt.call_count == 0


def test_the_code_column_still_tells_failed_from_set(hannah, host):
    lock = LockFactory(connection__host=host, device__name="Front door")
    failed, set_ = stays(host, 2)
    LockCodeFactory(access_code__reservation=failed, lock=lock, state=LockCode.State.FAILED)
    LockCodeFactory(access_code__reservation=set_, lock=lock, state=LockCode.State.SET)
    html = hannah.get(reverse("reservation_list")).content.decode()
    assert "failing on Front door" in html
    assert "set on 1 of 1 lock" in html


def test_alerts_come_newest_first_a_page_at_a_time_and_can_be_searched(hannah, host):
    alerts = [HostAlertFactory(host=host, subject=f"Alert {n:03d}") for n in range(PAGE_SIZE + 5)]
    HostAlert.objects.filter(pk=alerts[-1].pk).update(subject="Battery low on the back door")
    pages = follow_pages(hannah, reverse("alert_list"), re.compile(r"<strong>Alert (\d+)</strong>"))
    assert [len(page) for page in pages] == [PAGE_SIZE - 1, 5]
    numbers = [n for page in pages for n in page]
    assert numbers == sorted(numbers, reverse=True)
    response = hannah.get(reverse("alert_list"), {"q": "back door"})
    assert response.content.decode().count("<strong>") == 1
    assert "Battery low on the back door" in response.content.decode()


def test_the_second_page_runs_as_many_queries_as_the_first(
    hannah, host, django_assert_max_num_queries
):
    lock = LockFactory(connection__host=host)
    for stay in stays(host, PAGE_SIZE + 10):
        LockCodeFactory(access_code__reservation=stay, lock=lock)
    first = hannah.get(reverse("reservation_list")).content.decode()
    next_url = LOAD_MORE.search(first).group(1).replace("&amp;", "&")
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as page_one:
        hannah.get(reverse("reservation_list"))
    with CaptureQueriesContext(connection) as page_two:
        assert len(html_ids(hannah.get(next_url))) == 10
    assert len(page_two) == len(page_one)


def test_stays_arriving_at_the_same_moment_are_each_listed_once_across_pages(hannah, host):
    # Check-in at 15:00 for many properties at once: the id breaks the tie between pages.
    check_in = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(days=2)
    booked = [
        ReservationFactory(
            property=PropertyFactory(host=host),
            check_in=check_in,
            check_out=check_in + timedelta(days=2),
        )
        for _ in range(PAGE_SIZE + 4)
    ]
    pages = follow_pages(hannah, reverse("reservation_list"), STAY_LINK)
    assert [len(page) for page in pages] == [PAGE_SIZE, 4]
    assert [pk for page in pages for pk in page] == sorted(stay.pk for stay in booked)


def test_alerts_raised_at_the_same_moment_are_each_listed_once_newest_id_first(hannah, host):
    alerts = [HostAlertFactory(host=host, subject=f"Alert {n:03d}") for n in range(PAGE_SIZE + 2)]
    HostAlert.objects.filter(host=host).update(created_at=timezone.now())
    pages = follow_pages(hannah, reverse("alert_list"), re.compile(r"<strong>Alert (\d+)</strong>"))
    assert [len(page) for page in pages] == [PAGE_SIZE, 2]
    assert [n for page in pages for n in page] == list(range(len(alerts)))[::-1]


@pytest.mark.postgres
def test_stay_search_can_use_the_trigram_indexes_on_postgresql(host):
    """The search's condition can be answered from the trigram indexes (migration 0006), not
    only by reading every stay. Plain scans are switched off so that the small test table
    can't make the planner prefer one: what is left is the indexes on the search's UPPER()
    expressions, or nothing that works."""
    from django.db import connection

    from reservations.models import Reservation
    from reservations.selectors import stay_search

    stays(host, 3)
    found = Reservation.objects.filter(stay_search(host, "zzqx"))
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        plan = found.explain()
    for column in ("guest_name", "reservation_code", "external_id", "guest_email"):
        assert f"reservation_{column}_trgm" in plan, plan
