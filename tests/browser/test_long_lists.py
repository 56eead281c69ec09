"""A host with many stays pages through them in a real browser: "Load more" appends the next
rows in place (htmx), and the search box narrows the list."""

from datetime import timedelta

import pytest
from django.utils import timezone

from locksync.pagination import PAGE_SIZE
from tests.factories import HostMemberFactory, PropertyFactory, ReservationFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_load_more_appends_the_next_stays_and_search_finds_one(browser, live_server, shoot):
    member = HostMemberFactory(user__username="lena@example.com", host__name="Lena's Lofts")
    member.user.set_password("a long pass 42!")
    member.user.save()
    property = PropertyFactory(host=member.host, name="Harbour Loft")
    starts = timezone.now() + timedelta(days=1)
    for n in range(PAGE_SIZE + 5):
        ReservationFactory(
            property=property,
            guest_name=f"Guest {n:03d}",
            check_in=starts + timedelta(hours=n),
            check_out=starts + timedelta(hours=n, days=2),
        )
    ReservationFactory(
        property=property,
        guest_name="Rosalind Franklin",
        check_in=starts + timedelta(days=30),
        check_out=starts + timedelta(days=32),
    )
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.set_default_timeout(15000)
    base = live_server.url
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email").fill("lena@example.com")
    page.get_by_label("Password").fill("a long pass 42!")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/")

    page.goto(f"{base}/reservations/")
    rows = page.locator("main tbody tr:not(.load-more)")
    assert rows.count() == PAGE_SIZE
    page.get_by_role("link", name="Load more").click()
    page.wait_for_function(f"document.querySelectorAll('main tbody tr').length > {PAGE_SIZE}")
    assert page.url == f"{base}/reservations/"  # appended in place, no navigation
    assert rows.count() == PAGE_SIZE + 6
    assert page.get_by_role("link", name="Load more").count() == 0
    names = rows.locator("td:first-child a").all_inner_texts()
    assert names[0] == "Guest 000" and names[-1] == "Rosalind Franklin"
    assert len(set(names)) == len(names)
    shoot(page, "reservations-load-more")

    page.get_by_label("Search").fill("rosalind")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**q=rosalind**")
    assert rows.locator("td:first-child a").all_inner_texts() == ["Rosalind Franklin"]
