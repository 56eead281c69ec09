"""The dashboard's home is "Today" (SPEC V6): today's and tomorrow's arrivals and departures
with each lock's code state, failing first, open alerts, locks offline or low on battery, each
line linking to where it is fixed, in a constant number of queries."""

from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accesscodes.models import LockCode
from integrations.models import Lock
from tests.dashboard.conftest import book, settle


def home(client) -> str:
    return client.get(reverse("home")).text


def test_today_lists_a_failing_arrival_before_a_set_one_with_links(hannah, estate):  # V6
    settle()
    LockCode.objects.filter(access_code__reservation=estate.reservation).update(
        state=LockCode.State.SET, vendor_code_id="v1"
    )
    failing = book(estate.property, name="Bo Lindqvist", starts_in=timedelta(hours=6), n=1)
    LockCode.objects.filter(access_code__reservation=failing).update(
        state=LockCode.State.FAILED, last_error="lock_offline"
    )

    page = home(hannah)

    today = page[page.index('id="today-heading"') : page.index("<h2>Properties</h2>")]
    assert today.index("Bo Lindqvist") < today.index("Ana Silva")
    assert "Garden Gate: failing: the lock was offline" in today
    assert reverse("conversation", kwargs={"pk": failing.pk}) in today
    assert "Garden Gate is offline" in today  # the open alert, linking to the lock
    assert f'href="/locks/{estate.lock.pk}/"' in today


def test_stays_beyond_tomorrow_are_not_on_today(hannah, estate):  # V6
    book(estate.property, name="Far Future", starts_in=timedelta(days=9), n=2)
    assert "Far Future" not in home(hannah)


def test_a_lock_at_23_percent_battery_or_offline_is_on_today(hannah, estate):  # V6
    Lock.objects.filter(pk=estate.lock.pk).update(battery_level=23)
    page = home(hannah)
    assert "battery 23%, replace soon" in page
    Lock.objects.filter(pk=estate.lock.pk).update(online=False)
    assert '<span class="offline">offline</span></li>' in home(hannah)


def test_today_takes_the_same_number_of_queries_for_more_stays(hannah, estate):  # V6
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert hannah.get(reverse("home")).status_code == 200
        return len(queries)

    book(estate.property, name="One More", starts_in=timedelta(hours=20), n=3)
    few = count()
    for n in range(4, 10):
        book(estate.property, name=f"Guest {n}", starts_in=timedelta(hours=2 + n), n=n)
    assert count() == few
