"""A host's ordinary day in a real browser: the panel updates by itself while a code is being
sent, the stay is edited (the effect on the code is said first), then cancelled; the calendar
is read with the keyboard; and no page overflows sideways on a phone (SPEC V4, V5, C1, C3).

Every page is saved at desktop and phone width under artifacts/screenshots/.
"""

import html
from datetime import time, timedelta

import pytest
from django.utils import timezone

from accesscodes.models import LockCode
from accesscodes.presentation import local_time
from accesscodes.services import dispatch_due
from integrations.models import SimulatedCode
from messaging.models import MessageRule
from messaging.services import message_rule_create
from reservations.services import reservation_upsert
from tests.factories import HostAlertFactory, HostMemberFactory, MatchFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture
def rita():
    """Rita's Lisbon cottage, its Front Door lock, and Ana's stay starting tomorrow."""
    member = HostMemberFactory(user__username="rita@example.com", host__name="Rita's Rentals")
    match = MatchFactory(
        lock__connection__host=member.host,
        lock__device__name="Front Door",
        lock__device__confirm_delay_seconds=3600,
        property__host=member.host,
        property__name="Seaside Cottage",
        property__time_zone="Europe/Lisbon",
        property__checkin_time=time(16),
        property__checkout_time=time(11),
    )
    tomorrow = (timezone.now().astimezone(match.property.zone) + timedelta(days=1)).date()
    reservation, _ = reservation_upsert(
        host=member.host,
        external_id="HM-ANA",
        property=match.property,
        guest_name="Ana Silva",
        guest_email="ana@example.com",
        reservation_code="HMANA123",
        check_in=match.property.local_datetime(tomorrow, time(16)),
        check_out=match.property.local_datetime(tomorrow + timedelta(days=3), time(11)),
    )
    message_rule_create(
        host=member.host,
        name="Door code",
        body="Hi %guest_first_name%, your code is %smartlock_code%.",
        trigger=MessageRule.Trigger.BEFORE_CHECK_IN,
        days_before=1,
        properties=[match.property],
    )
    HostAlertFactory(host=member.host, subject="Front Door battery is low")
    dispatch_due()
    return {"match": match, "reservation": reservation, "user": member.user}


def log_in(browser, base: str, viewport: dict):
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.set_default_timeout(15000)
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email").fill("rita@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/")
    return context, page


def panel_state(page, lock_name: str) -> str:
    return page.locator(f'#access-panel .lock-state[data-lock="{lock_name}"] .state').inner_text()


def test_edit_then_cancel_a_stay_and_read_the_calendar(browser, live_server, shoot, rita):
    base = live_server.url
    reservation = rita["reservation"]
    context, page = log_in(browser, base, DESKTOP)

    # The code was sent and the lock has not confirmed it yet: the panel keeps looking.
    page.goto(f"{base}/inbox/{reservation.pk}/")
    assert panel_state(page, "Front Door").startswith("sending")
    assert page.get_attribute("#access-panel", "data-polling") == "yes"
    shoot(page, "journey-panel-sending")

    # The lock confirms: within seconds, without a reload, the panel says so and stops polling.
    SimulatedCode.objects.update(applies_at=timezone.now())
    LockCode.objects.update(next_attempt_at=timezone.now())
    dispatch_due()
    page.wait_for_function(
        "document.querySelector('#access-panel .lock-state .state').innerText.startsWith('set')",
        timeout=6000,
    )
    assert page.get_attribute("#access-panel", "data-polling") == "no"
    shoot(page, "journey-panel-set")

    # Edit: a checkout a day later at 10:00, the effect on the lock said before saving.
    page.get_by_role("link", name="Edit this stay").click()
    zone = reservation.property.zone
    new_out_day = (reservation.check_out.astimezone(zone) + timedelta(days=1)).date()
    page.get_by_label("Checkout date").fill(new_out_day.isoformat())
    page.get_by_label("Checkout time").fill("10:00")
    page.get_by_role("button", name="Review the changes").click()
    new_out = reservation.property.local_datetime(new_out_day, time(10))
    access_code = reservation.access_code
    window_end = new_out + (access_code.ends_at - reservation.check_out)
    effect = (
        f"The code's window on Front Door will end {local_time(window_end, zone, 'D j M, H:i')}"
    )
    page.get_by_text(effect).wait_for()
    shoot(page, "journey-edit-review")
    page.get_by_role("button", name="Save the changes").click()

    # The panel shows the new window.
    page.get_by_text("was changed").wait_for()
    access = page.inner_text("#access-panel")
    assert window_end.astimezone(zone).strftime("%a %-d %b, %H:%M") in access
    shoot(page, "journey-panel-new-window")

    # Cancel: the panel then looks cancelled, no Copy or Retry, and says when the code leaves.
    page.goto(f"{base}/reservations/{reservation.pk}/")
    page.get_by_role("link", name="Cancel this stay…").click()
    page.get_by_role("button", name="Cancel the stay").click()
    page.get_by_text("was cancelled").wait_for()
    panel = page.locator("#access-panel")
    assert "Cancelled stay" in panel.inner_text()
    assert panel.get_by_role("button", name="Copy code").count() == 0
    assert panel.get_by_role("button", name="Retry now").count() == 0
    assert "leaves the lock" in panel_state(page, "Front Door")
    shoot(page, "journey-panel-cancelled")

    # The calendar: a bar per stay; reached and opened with the keyboard.
    page.goto(f"{base}/properties/{reservation.property_id}/calendar/")
    bar = page.locator("a.bar").first
    assert "Ana Silva" in html.unescape(bar.get_attribute("aria-label"))
    assert bar.get_attribute("data-state") == "removed"
    shoot(page, "journey-calendar")
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('bar')"):
            break
    else:
        pytest.fail("no calendar bar is reachable with the Tab key")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/inbox/{reservation.pk}/")
    context.close()


def pages_of(rita) -> list[tuple[str, str]]:
    reservation, match = rita["reservation"], rita["match"]
    return [
        ("home", "/"),
        ("properties", "/properties/"),
        ("property-new", "/properties/new/"),
        ("property", f"/properties/{match.property_id}/"),
        ("property-edit", f"/properties/{match.property_id}/edit/"),
        ("property-settings", f"/properties/{match.property_id}/settings/"),
        ("calendar", f"/properties/{match.property_id}/calendar/"),
        ("locks", "/locks/"),
        ("lock", f"/locks/{match.lock_id}/"),
        ("connections", "/connections/"),
        ("connection", f"/connections/{match.lock.connection_id}/"),
        ("connection-new", "/connections/new/"),
        ("reservations", "/reservations/"),
        ("reservation-new", "/reservations/new/"),
        ("reservation", f"/reservations/{reservation.pk}/"),
        ("reservation-edit", f"/reservations/{reservation.pk}/edit/"),
        ("reservation-cancel", f"/reservations/{reservation.pk}/cancel/"),
        ("inbox", "/inbox/"),
        ("conversation", f"/inbox/{reservation.pk}/"),
        ("rules", "/rules/"),
        ("rule-new", "/rules/new/"),
        ("settings", "/settings/"),
        ("alerts", "/alerts/"),
    ]


OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


def test_no_page_overflows_sideways_on_a_phone_and_every_page_is_shot(
    browser, live_server, shoot, rita
):
    base = live_server.url
    wide = []
    for viewport, suffix in [(DESKTOP, "desktop"), (PHONE, "phone")]:
        context, page = log_in(browser, base, viewport)
        for name, path in pages_of(rita):
            response = page.goto(base + path)
            assert response.status == 200, path
            shoot(page, f"{name}-{suffix}")
            if page.evaluate(OVERFLOW) > 0:
                wide.append(f"{path} at {suffix}")
        context.close()
    anonymous = browser.new_context(viewport=PHONE).new_page()
    for name, path in [("login", "/accounts/login/"), ("signup", "/accounts/signup/")]:
        anonymous.goto(base + path)
        shoot(anonymous, f"{name}-phone")
        if anonymous.evaluate(OVERFLOW) > 0:
            wide.append(f"{path} at phone")
    assert wide == []


def test_the_phone_menu_is_compact_and_keeps_the_open_alert_count(browser, live_server, rita):
    context, page = log_in(browser, live_server.url, PHONE)
    page.goto(f"{live_server.url}/reservations/")
    header_height = page.evaluate("document.querySelector('header.top').offsetHeight")
    assert header_height < 110, header_height
    nav = page.get_by_role("navigation", name="Main")
    assert not nav.is_visible()
    # The reservations table keeps the code state on a phone.
    assert page.locator("td.code-state").first.is_visible()
    page.get_by_role("button", name="Menu").click()
    assert nav.is_visible()
    assert nav.get_by_role("link", name="Alerts 1").is_visible()
    context.close()
