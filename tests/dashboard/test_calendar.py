"""The property calendar: one row per lock, a bar per stay coloured by its code's state,
overlaps marked, today marked, each bar a link to the stay's panel, and a bounded number of
queries whatever the number of stays."""

import re
from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from accesscodes.models import LockCode
from tests.dashboard.conftest import book, settle


def calendar_of(client, estate, **params) -> str:
    url = reverse("property_calendar", kwargs={"pk": estate.property.pk})
    response = client.get(url, params)
    assert response.status_code == 200
    return response.text


def bars(page: str) -> list[str]:
    return re.findall(r'<a role="listitem" class="bar [^"]*"[^>]*>', page)


def test_each_stay_is_a_bar_on_its_locks_row_linking_to_its_panel(hannah, estate):
    page = calendar_of(hannah, estate)
    assert 'id="lock-' in page and "Garden Gate" in page
    [bar] = bars(page)
    assert reverse("conversation", kwargs={"pk": estate.reservation.pk}) in bar
    assert "Ana Silva" in bar


def test_bars_are_coloured_by_the_codes_state(hannah, estate):
    failing = book(estate.property, name="Failing Guest", starts_in=timedelta(days=8), n=2)
    settle()
    LockCode.objects.filter(access_code__reservation=failing).update(
        state=LockCode.State.FAILED, last_error="lock_offline"
    )
    LockCode.objects.filter(access_code__reservation=estate.reservation).update(
        state=LockCode.State.SET
    )
    states = dict(
        (re.search(r'aria-label="([^:]+):', bar).group(1), re.search(r'data-state="(\w+)"', bar)[1])
        for bar in bars(calendar_of(hannah, estate))
    )
    assert states == {"Ana Silva": "set", "Failing Guest": "failing"}


def test_overlapping_stays_are_marked_and_drawn_on_separate_lanes(hannah, estate):
    book(estate.property, name="Double Booked", starts_in=timedelta(days=1), n=2)
    page = calendar_of(hannah, estate)
    overlapping = [bar for bar in bars(page) if "overlap" in bar.split('"')[3]]
    assert len(overlapping) == 2
    assert "(overlaps another stay)" in page
    assert "top: calc(.4rem + 1 * 1.6rem)" in page


def test_today_is_marked_only_on_weeks_that_hold_it(hannah, estate):
    assert 'class="today"' in calendar_of(hannah, estate)
    later = (timezone.now() + timedelta(weeks=10)).date().isoformat()
    assert 'class="today"' not in calendar_of(hannah, estate, **{"from": later})


def test_odd_parameters_fall_back_instead_of_failing(hannah, estate):
    for params in [{"from": "9999-99-99"}, {"from": "0001-01-01"}, {"weeks": "²"}, {"weeks": "-3"}]:
        calendar_of(hannah, estate, **params)
    assert "8 weeks" in calendar_of(hannah, estate, weeks="50")


def test_the_calendar_reads_a_bounded_number_of_rows_and_queries(
    hannah, estate, django_assert_max_num_queries
):
    for n in range(30):
        book(estate.property, name=f"Guest {n}", starts_in=timedelta(days=60 + 4 * n), n=10 + n)
    with django_assert_max_num_queries(30):
        page = calendar_of(hannah, estate)
    assert len(bars(page)) == 1, "only the visible weeks' stays are read"


def test_the_calendar_shows_each_locks_capacity_over_the_coming_weeks(hannah, estate):
    page = calendar_of(hannah, estate)
    assert "Capacity in the coming weeks" in page
    assert re.search(r"\d+ / \d+ codes", page)
    assert "ours 1" in page


def test_the_lock_page_shows_its_capacity_by_week_and_lisbon_times(hannah, estate):  # V5, D3
    settle()
    page = hannah.get(reverse("lock_detail", kwargs={"pk": estate.lock.pk})).text
    assert "Capacity in the coming weeks" in page
    assert "ours 1, others 0" in " ".join(page.split())
    assert " UTC" not in page
    assert reverse("property_calendar", kwargs={"pk": estate.property.pk}) in page
