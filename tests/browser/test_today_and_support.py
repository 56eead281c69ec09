"""Issue #24 in a real browser: "Connect" names the lock app, Today puts the failing arrival
first at desktop and phone widths, and support in the admin sees no guest link and no PIN
(SPEC V6, §3)."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from accesscodes.models import LockCode
from messaging.models import Conversation, Message
from tests.dashboard.conftest import book, make_estate

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TOKEN = "Zk3q_9aB-tY7uVw2xLmN0pQrS4eF6hJ8"


def signed_in(browser, live_server, user, width: int):
    client = Client()
    client.force_login(user)
    context = browser.new_context(viewport={"width": width, "height": 900})
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page = context.new_page()
    page.set_default_timeout(15000)
    return page


def test_connect_names_the_app_and_today_puts_the_failing_code_first(
    browser, live_server, host, host_user, shoot
):
    estate = make_estate(host, property_name="Seaside Cottage", lock_name="Garden Gate")
    LockCode.objects.filter(access_code__reservation=estate.reservation).update(
        state=LockCode.State.SET, vendor_code_id="v1"
    )
    failing = book(estate.property, name="Bo Lindqvist", starts_in=timedelta(hours=7), n=1)
    LockCode.objects.filter(access_code__reservation=failing).update(
        state=LockCode.State.FAILED, last_error="lock_offline"
    )
    for width in (1280, 390):
        page = signed_in(browser, live_server, host_user, width)
        page.goto(f"{live_server.url}{reverse('connection_new')}?vendor=ttlock")
        page.get_by_role("heading", name="Connect TTLock").wait_for()

        page.goto(f"{live_server.url}/")
        rows = page.locator(".today-stays tbody tr")
        assert "Bo Lindqvist" in rows.nth(0).inner_text()
        assert "failing: the lock was offline" in rows.nth(0).inner_text()
        assert "Ana Silva" in rows.nth(1).inner_text()
        overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
        assert not overflow, f"Today overflows at {width} px"
        shoot(page, f"today-{width}")
        rows.nth(0).get_by_role("link", name="Bo Lindqvist").click()
        page.wait_for_url(f"**{reverse('conversation', kwargs={'pk': failing.pk})}")
        page.context.close()


def test_support_in_the_admin_sees_no_guest_link_and_no_pin(browser, live_server, support_agent):
    from tests.factories import ReservationFactory

    conversation = Conversation.objects.create(reservation=ReservationFactory())
    message = Message.objects.create(
        conversation=conversation,
        channel="email",
        subject="Your stay",
        body=f"Code 482613. Your page: {live_server.url}/g/{TOKEN}/",
    )
    page = signed_in(browser, live_server, support_agent, 1280)
    page.goto(f"{live_server.url}/admin/messaging/message/{message.pk}/change/")
    text = page.inner_text("body")
    html = page.content()
    assert "[guest link hidden]" in text
    assert TOKEN not in html and "482613" not in html
    page.context.close()
