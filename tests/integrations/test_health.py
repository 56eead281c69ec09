"""Lock and account health (SPEC L1–L3): what the host is told, once, and what changes."""

import pytest
from django.core import mail

from integrations.connections import connection_create
from integrations.health import lock_states_refresh
from integrations.models import LockConnection
from integrations.tasks import lock_states_refresh_due
from messaging.models import HostAlert

pytestmark = pytest.mark.django_db


@pytest.fixture
def nuki_connection(host, fake_nuki):
    fake_nuki.add_smartlock("Front door", battery=80)
    fake_nuki.add_smartlock("Garden gate", battery=80)
    return connection_create(host=host, vendor="nuki", credentials={"api_token": "nuki-token"})


def ids(fake_nuki):
    return list(fake_nuki.smartlocks)


def test_one_lock_offline_says_move_the_hub_closer_once(nuki_connection, fake_nuki, host):
    # rule L2
    front, _ = ids(fake_nuki)
    fake_nuki.set_offline(front)
    lock_states_refresh(connection=nuki_connection)
    lock_states_refresh(connection=nuki_connection)
    [email] = mail.outbox
    assert email.to == [host.alert_email]
    assert email.subject == "Front door is offline"
    assert "Replace the battery if it is low" in email.body
    assert "move the hub closer to the lock" in email.body
    lock = nuki_connection.locks.get(remote_id=str(front))
    assert lock.online is False
    assert lock.offline_notified_at is not None
    assert f"/locks/{lock.pk}/" in email.body  # where the host can look at it


def test_several_locks_offline_say_check_the_hubs_wifi(nuki_connection, fake_nuki):  # rule L2
    for smartlock in ids(fake_nuki):
        fake_nuki.set_offline(smartlock)
    lock_states_refresh(connection=nuki_connection)
    [email] = mail.outbox
    assert email.subject == "2 locks are offline"
    assert "check the hub and improve its wifi connection" in email.body


def test_a_lock_is_notified_again_only_after_it_was_back_online(nuki_connection, fake_nuki):
    # rule L2
    front, _ = ids(fake_nuki)
    fake_nuki.set_offline(front)
    lock_states_refresh(connection=nuki_connection)
    fake_nuki.set_offline(front, False)
    lock_states_refresh(connection=nuki_connection)
    assert nuki_connection.locks.get(remote_id=str(front)).offline_notified_at is None
    assert nuki_connection.locks.get(remote_id=str(front)).last_seen_at is not None
    fake_nuki.set_offline(front)
    lock_states_refresh(connection=nuki_connection)
    assert [m.subject for m in mail.outbox] == ["Front door is offline"] * 2


def test_low_battery_gets_its_own_notice_once_until_replaced(nuki_connection, fake_nuki):
    # rule L2
    front, _ = ids(fake_nuki)
    fake_nuki.set_battery(front, 15)
    lock_states_refresh(connection=nuki_connection)
    fake_nuki.set_battery(front, 14)
    lock_states_refresh(connection=nuki_connection)
    fake_nuki.set_battery(front, 22)  # a hovering reading is not a new battery
    lock_states_refresh(connection=nuki_connection)
    fake_nuki.set_battery(front, 15)
    lock_states_refresh(connection=nuki_connection)
    assert [m.subject for m in mail.outbox] == ["Front door: battery low (15%)"]
    fake_nuki.set_battery(front, 100)
    lock_states_refresh(connection=nuki_connection)
    fake_nuki.set_battery(front, 12)
    lock_states_refresh(connection=nuki_connection)
    assert len(mail.outbox) == 2
    assert HostAlert.objects.filter(kind=HostAlert.Kind.LOW_BATTERY).count() == 2


def test_credentials_that_stop_working_disconnect_the_account_with_one_alert(
    nuki_connection, fake_nuki
):  # rule L3
    fake_nuki.revoke()
    lock_states_refresh(connection=nuki_connection)
    lock_states_refresh(connection=nuki_connection)
    nuki_connection.refresh_from_db()
    assert nuki_connection.state == LockConnection.State.DISCONNECTED
    assert "API token" in nuki_connection.last_error
    [email] = mail.outbox
    assert email.subject == "Your Nuki account is disconnected"
    assert "Reconnect the account" in email.body


def test_a_passing_vendor_failure_changes_nothing(nuki_connection, fake_nuki):
    fake_nuki.rate_limited = True
    lock_states_refresh(connection=nuki_connection)
    nuki_connection.refresh_from_db()
    assert nuki_connection.state == LockConnection.State.CONNECTED
    assert mail.outbox == []


def test_the_periodic_job_refreshes_connections_not_read_for_15_minutes(
    nuki_connection, fake_nuki, clock
):  # rule L1
    from datetime import timedelta

    front, _ = ids(fake_nuki)
    fake_nuki.set_battery(front, 41)
    assert lock_states_refresh_due() == 0  # just imported
    clock.shift(timedelta(minutes=15))
    assert lock_states_refresh_due() == 1
    assert nuki_connection.locks.get(remote_id=str(front)).battery_level == 41
    assert lock_states_refresh_due() == 0


def test_a_ttlock_lock_whose_clock_offset_is_wrong_for_the_property_is_pointed_out(
    host, fake_ttlock, client, host_user
):
    from integrations.models import Match
    from tests.factories import PropertyFactory

    lock_id = fake_ttlock.add_lock("Front door")
    fake_ttlock.locks[lock_id]["timezoneRawOffset"] = 8 * 3600 * 1000
    connection = connection_create(
        host=host,
        vendor="ttlock",
        credentials={"username": "host@example.com", "password": "s3cret"},
    )
    lock = connection.locks.get()
    Match.objects.create(
        lock=lock,
        property=PropertyFactory(host=host, name="Alfama flat", time_zone="Europe/Lisbon"),
    )
    lock_states_refresh(connection=connection)
    lock.refresh_from_db()
    assert lock.clock_offset_minutes == 480
    client.force_login(host_user)
    page = client.get(f"/locks/{lock.pk}/").content.decode()
    assert "clock is set to UTC+8, but Alfama flat is in Europe/Lisbon (UTC+0)" in page
    # The host fixes the lock's zone: the next daily check clears the notice.
    fake_ttlock.locks[lock_id]["timezoneRawOffset"] = 0
    lock.clock_checked_at = None
    lock.save()
    lock_states_refresh(connection=connection)
    page = client.get(f"/locks/{lock.pk}/").content.decode()
    assert "clock is set to" not in page


def test_a_lock_whose_offset_fits_the_property_raises_no_clock_notice(
    host, fake_ttlock, client, host_user
):
    from integrations.models import Match
    from tests.factories import PropertyFactory

    lock_id = fake_ttlock.add_lock("Front door")
    fake_ttlock.locks[lock_id]["timezoneRawOffset"] = 3600 * 1000
    connection = connection_create(
        host=host,
        vendor="ttlock",
        credentials={"username": "host@example.com", "password": "s3cret"},
    )
    lock = connection.locks.get()
    Match.objects.create(lock=lock, property=PropertyFactory(host=host, time_zone="Europe/Paris"))
    lock_states_refresh(connection=connection)
    client.force_login(host_user)
    assert "clock is set to" not in client.get(f"/locks/{lock.pk}/").content.decode()


def test_a_ttlock_lock_whose_clock_is_in_another_zone_is_emailed_to_the_host_once(
    host, fake_ttlock, clock
):  # rule L2: one notice per problem, news again once it was fixed
    from datetime import timedelta

    from integrations.models import Match
    from tests.factories import PropertyFactory

    lock_id = fake_ttlock.add_lock("Front door")
    fake_ttlock.locks[lock_id]["timezoneRawOffset"] = 8 * 3600 * 1000
    connection = connection_create(
        host=host,
        vendor="ttlock",
        credentials={"username": "host@example.com", "password": "s3cret"},
    )
    lock = connection.locks.get()
    Match.objects.create(
        lock=lock,
        property=PropertyFactory(host=host, name="Alfama flat", time_zone="Europe/Lisbon"),
    )

    def next_daily_check():
        clock.shift(timedelta(days=1, minutes=1))
        lock_states_refresh(connection=connection)

    next_daily_check()
    [email] = mail.outbox
    assert email.to == [host.alert_email]
    assert email.subject == "Front door's clock is set to another time zone"
    assert (
        "Front door's clock is set to UTC+8, but Alfama flat is in Europe/Lisbon (UTC+0)"
        in email.body
    )
    assert "Set the lock's time zone in the lock app" in email.body
    assert f"/locks/{lock.pk}/" in email.body
    assert HostAlert.objects.get(host=host).kind == HostAlert.Kind.LOCK_CLOCK

    next_daily_check()  # still wrong the next day: not told again
    assert len(mail.outbox) == 1

    fake_ttlock.locks[lock_id]["timezoneRawOffset"] = 0  # the host fixes it
    next_daily_check()
    assert len(mail.outbox) == 1
    fake_ttlock.locks[lock_id]["timezoneRawOffset"] = -5 * 3600 * 1000  # and it goes wrong again
    next_daily_check()
    assert len(mail.outbox) == 2
    assert "clock is set to UTC−5, but Alfama flat" in mail.outbox[1].body
