"""A host's first evening, in a real browser: sign up, connect the simulator, match a lock,
book a guest, watch the code reach the lock, see a refusal, retry, resync, and use the
Property Access panel on a phone (SPEC V1–V3)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accesscodes.models import LockCode
from accesscodes.services import dispatch_due
from integrations.models import SimulatedCode, SimulatedDevice
from tests.factories import SimulatedAccountFactory, SimulatedDeviceFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def confirm_writes_on(device: SimulatedDevice) -> None:
    """The lock applies what it was sent, and the engine's follow-up comes due now."""
    SimulatedCode.objects.filter(device=device).update(applies_at=timezone.now())
    LockCode.objects.filter(lock__remote_id=device.device_id, state="setting").update(
        next_attempt_at=timezone.now()
    )
    dispatch_due()


def nav(page, name: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=name).click()


def panel_state(page, lock_name: str) -> str:
    return page.locator(f'#access-panel .lock-state[data-lock="{lock_name}"] .state').inner_text()


def test_a_host_goes_from_sign_up_to_a_guest_code_on_the_lock(browser, live_server, shoot):
    account = SimulatedAccountFactory(api_key="demo-rita")
    device = SimulatedDeviceFactory(account=account, name="Front door", confirm_delay_seconds=60)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    base = live_server.url

    # Sign up.
    page.goto(f"{base}/accounts/signup/")
    shoot(page, "signup")
    page.get_by_label("Email").fill("rita@example.com")
    page.get_by_label("Your business or host name").fill("Rita's Rentals")
    page.get_by_label("Password").fill("a long pass 42!")
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_url(f"{base}/")
    assert "Rita's Rentals" in page.inner_text("main")

    # A property.
    nav(page, "Properties")
    page.get_by_role("link", name="Add a property").click()
    page.get_by_label("Name").fill("Seaside Cottage")
    page.get_by_label("Time zone").select_option("Europe/Lisbon")
    page.get_by_label("Check-in time").fill("16:00")
    page.get_by_label("Checkout time").fill("11:00")
    page.get_by_role("button", name="Save").click()
    page.get_by_role("heading", name="Seaside Cottage").wait_for()

    # Connect the simulator.
    nav(page, "Lock apps")
    page.get_by_role("link", name="Connect a lock app").click()
    page.get_by_role("link", name="Simulator").click()
    page.get_by_label("Simulator account key").fill("demo-rita")
    page.get_by_role("button", name="Connect").click()
    page.get_by_text("1 lock found").wait_for()
    shoot(page, "connection")

    # Match the lock to the property, seeing what it will do first.
    nav(page, "Properties")
    page.get_by_role("link", name="Seaside Cottage").click()
    page.get_by_label("Lock to match").select_option(label="Front door")
    page.get_by_role("button", name="Match…").click()
    page.get_by_text("codes will be created on Front door as stays are accepted").wait_for()
    page.get_by_role("button", name="Match the lock").click()
    page.get_by_text("Front door is now matched to Seaside Cottage").wait_for()
    shoot(page, "property")

    # Book a guest arriving tomorrow, in the property's local time.
    tomorrow = (timezone.localtime(timezone.now()) + timedelta(days=1)).date()
    nav(page, "Reservations")
    page.get_by_role("link", name="Add a reservation").click()
    page.get_by_label("Guest's full name").fill("Ana Silva")
    page.get_by_label("Check-in date").fill(tomorrow.isoformat())
    page.get_by_label("Checkout date").fill((tomorrow + timedelta(days=3)).isoformat())
    page.get_by_role("button", name="Add the reservation").click()

    # The conversation opens with the Property Access panel: the code was sent, not yet seen.
    page.get_by_role("heading", name="Property Access").wait_for()
    lock_code = LockCode.objects.get(access_code__reservation__guest_name="Ana Silva")
    pin = lock_code.access_code.pin
    assert pin in page.inner_text("#access-panel")
    assert panel_state(page, "Front door").startswith(("sending", "scheduled for"))
    assert "16:00" in page.inner_text("#access-panel")  # the window in Lisbon time
    shoot(page, "conversation-sending")

    # The lock applies the code; the panel says it was read back from the lock (SPEC S7).
    confirm_writes_on(device)
    page.reload()
    assert panel_state(page, "Front door").startswith("set (seen on the lock")
    shoot(page, "conversation-set")

    # Copy code puts the PIN on the clipboard (SPEC V2).
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    page.get_by_role("button", name="Copy code").click()
    page.get_by_text("Copied.").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == pin

    # The lock goes offline; a second guest's code is refused, with the reason and the
    # time of the next attempt.
    device.online = False
    device.save()
    page.goto(f"{base}/reservations/new/")
    page.get_by_label("Guest's full name").fill("Bruno Reis")
    page.get_by_label("Check-in date").fill(tomorrow.isoformat())
    page.get_by_label("Checkout date").fill((tomorrow + timedelta(days=2)).isoformat())
    page.get_by_role("button", name="Add the reservation").click()
    # Bruno's stay overlaps Ana's: the host is warned and confirms.
    page.get_by_text("Overlaps the stay of Ana Silva").wait_for()
    shoot(page, "reservation-overlap-warning")
    page.get_by_label("Yes, keep this stay although it overlaps").check()
    page.get_by_role("button", name="Add the reservation").click()
    page.get_by_role("heading", name="Property Access").wait_for()
    state = panel_state(page, "Front door")
    assert state.startswith("failing: the lock was offline; next attempt "), state
    shoot(page, "conversation-failed")

    # The host brings the lock back and retries now, from the panel, in place (htmx).
    device.online = True
    device.save()
    page.get_by_role("button", name="Retry now").click()
    page.get_by_text("Trying again on Front door").wait_for()
    # The result takes the keyboard focus, inside the refreshed panel.
    page.wait_for_function("document.activeElement?.closest('#access-panel') != null")
    confirm_writes_on(device)
    page.reload()
    assert panel_state(page, "Front door").startswith("set")

    # Someone wipes the lock; Resync lock puts both guests' codes back.
    SimulatedCode.objects.filter(device=device).delete()
    page.get_by_role("button", name="Resync lock").click()
    page.get_by_text("Resyncing Front door").wait_for()
    assert SimulatedCode.objects.filter(device=device).count() == 2

    # A message rule that sends the code the day before, previewed against Ana's stay.
    nav(page, "Messages")
    page.get_by_role("link", name="New message rule").click()
    page.get_by_label("Name").fill("Door code")
    page.get_by_label("Seaside Cottage").check()
    page.get_by_label("When").select_option("before_check_in")
    page.get_by_label("Days before").fill("1")
    page.get_by_label("Body").fill("Hi %guest_first_name%, your door code is %smartlock_code%.")
    page.get_by_label("Preview with the stay of").select_option(label="Ana Silva · Seaside Cottage")
    page.get_by_role("button", name="Preview").click()
    page.get_by_text(f"Hi Ana, your door code is {pin}.").wait_for()
    shoot(page, "rule-preview")
    page.get_by_role("button", name="Save rule").click()
    # G11 (issue #23): Ana and Bruno have no email address; the rule check names them before
    # saving, and the host saves anyway.
    page.get_by_text("These guests have no usable address for this message").wait_for()
    shoot(page, "rule-check")
    page.get_by_role("button", name="Save anyway").click()
    page.get_by_text("The rule “Door code” was saved.").wait_for()

    # The other pages, for the record.
    for name, path in [
        ("home", "/"),
        ("locks", "/locks/"),
        ("lock", f"/locks/{lock_code.lock_id}/"),
        ("reservations", "/reservations/"),
        ("settings", "/settings/"),
        ("alerts", "/alerts/"),
        ("rules", "/rules/"),
    ]:
        page.goto(base + path)
        shoot(page, name)

    # On a phone, the panel lives behind "…" at the top right of the conversation (SPEC V3).
    phone = browser.new_context(
        viewport={"width": 390, "height": 844}, storage_state=context.storage_state()
    )
    mobile = phone.new_page()
    mobile.goto(f"{base}/inbox/{lock_code.access_code.reservation_id}/")
    panel = mobile.locator("#access-panel")
    more = mobile.get_by_role("button", name="Property Access and stay details")
    assert not panel.is_visible()
    assert more.get_attribute("aria-expanded") == "false"
    shoot(mobile, "conversation-phone")
    more.focus()
    mobile.keyboard.press("Enter")
    assert more.get_attribute("aria-expanded") == "true"
    assert panel.is_visible() and pin in panel.inner_text()
    shoot(mobile, "conversation-phone-menu")
    mobile.keyboard.press("Escape")
    assert not panel.is_visible()
    phone.close()
    context.close()
