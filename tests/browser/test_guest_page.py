"""A guest on a phone (390×844): opens their private link, sees the code appear at the reveal
time, presses "Code not working?" at the door and gets a backup code that is on the lock; the
host gets the alert (SPEC K1–K3, H5)."""

from datetime import datetime, time, timedelta

import pytest
import time_machine
from django.core import mail

from accesscodes import services
from accesscodes.models import BackupCode
from properties.models import SmartLockSettings
from reservations.services import reservation_upsert
from tests.accesscodes.conftest import codes_on, settle
from tests.factories import MatchFactory, PropertyFactory, SmartLockSettingsFactory
from tests.guests.conftest import link_path

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_guest_gets_their_code_and_a_backup_code_on_a_phone(
    browser, live_server, host, shoot
):  # rules K1, K2, K3, H5
    SmartLockSettingsFactory(host=host, backup_codes_enabled=True, backup_pool_size=1)
    prop = PropertyFactory(
        host=host, name="Altbau Loft", time_zone="Europe/Berlin", checkin_time=time(16)
    )
    lock = MatchFactory(
        property=prop, lock__connection__host=host, lock__device__name="Front Door"
    ).lock
    check_in = prop.local_datetime(datetime(2026, 7, 10).date(), time(16))
    reveal = check_in - timedelta(days=3)

    with time_machine.travel(reveal - timedelta(hours=1), tick=True) as clock:
        reservation, _ = reservation_upsert(
            host=host,
            external_id="BK-1",
            property=prop,
            guest_name="Ana Silva",
            guest_email="ana@example.com",
            check_in=check_in,
            check_out=check_in + timedelta(days=2),
        )
        services.backup_pool_ensure(lock=lock)
        settle()
        pin = reservation.access_code.pin
        url = live_server.url + link_path(reservation)

        context = browser.new_context(
            viewport={"width": 390, "height": 844}, is_mobile=True, locale="en-GB"
        )
        page = context.new_page()
        page.set_default_timeout(15000)
        page.goto(url)
        assert "Altbau Loft" in page.inner_text("h1")
        assert page.get_by_text("Your door code will appear here on").is_visible()
        assert pin not in page.inner_text("main")
        shoot(page, "guest-before-reveal")

        # The reveal time: the code is sent to the lock and appears on the page.
        clock.move_to(reveal + timedelta(minutes=1))
        settle()
        page.reload()
        front = page.locator(f"#lock-{lock.pk}")
        assert front.get_by_test_id("code").inner_text() == pin
        assert front.get_by_text("Ready on Front Door").is_visible()
        shoot(page, "guest-code-revealed")

        # At the door; this morning's reconciliation read the lock's list (H5: at most a
        # day old, and it showed the backup code).
        clock.move_to(check_in - timedelta(hours=6))
        services.locks_reconcile_all()
        clock.move_to(check_in + timedelta(minutes=20))
        mail.outbox.clear()
        page.reload()
        page.locator(f"#lock-{lock.pk}").get_by_role("button", name="Code not working?").click()
        page.wait_for_url(f"{url}?**")
        backup = BackupCode.objects.get(reservation=reservation)
        front = page.locator(f"#lock-{lock.pk}")
        assert front.get_by_test_id("backup").inner_text() == backup.pin
        assert backup.pin in codes_on(lock).values()
        assert front.get_by_text("Please try the backup code shown above").is_visible()
        shoot(page, "guest-backup-code")
        # Nothing needs scrolling sideways on a phone.
        assert page.evaluate("document.documentElement.scrollWidth") <= 390

        [alert] = [m for m in mail.outbox if m.to == [host.alert_email]]
        assert "Ana Silva" in alert.subject and "Front Door" in alert.subject
        context.close()
    assert SmartLockSettings.objects.get(host=host).backup_codes_enabled
