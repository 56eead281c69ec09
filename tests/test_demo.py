"""The demo command: a ready-made host to click through, safe to run twice."""

from datetime import UTC, datetime, time
from io import StringIO

import pytest
import time_machine
from django.apps import apps
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from accesscodes.models import AccessCode
from accesscodes.pin import pin_violations
from integrations.base import Constraint
from integrations.models import Lock, SimulatedCode, SimulatedDevice
from properties.models import Property, SmartLockSettings
from reservations.models import Reservation

OUR_APPS = ["properties", "integrations", "reservations", "accesscodes", "messaging"]


def row_counts() -> dict[str, int]:
    counts = {"users": apps.get_model("auth", "User").objects.count()}
    for app_label in OUR_APPS:
        for model in apps.get_app_config(app_label).get_models():
            counts[model._meta.label] = model._default_manager.count()
    return counts


@pytest.mark.django_db
def test_running_the_demo_twice_creates_everything_once():
    call_command("demo", stdout=StringIO())
    first = row_counts()
    output = StringIO()
    call_command("demo", stdout=output)
    assert row_counts() == first
    assert first["reservations.Reservation"] == 12
    assert first["integrations.Lock"] == 3
    assert first["properties.Property"] == 2
    assert "demo@locksync.test / locksync-demo" in output.getvalue()


@pytest.mark.django_db
def test_the_demo_user_logs_in_and_sees_the_properties_and_locks():
    call_command("demo", stdout=StringIO())
    client = Client()
    response = client.post(
        "/accounts/login/", {"username": "demo@locksync.test", "password": "locksync-demo"}
    )
    assert response.status_code == 302
    page = client.get("/").text
    for name in ["Lisbon Loft", "Brooklyn Brownstone", "Brooklyn Front Door", "Brooklyn Garage"]:
        assert name in page
    assert "Lisbon Front Door" in page


@pytest.mark.django_db
def test_the_support_user_gets_the_admin_but_not_the_pins():
    call_command("demo", stdout=StringIO())
    support = apps.get_model("auth", "User").objects.get(username="support@locksync.test")
    assert support.is_staff and not support.is_superuser
    assert support.has_perm("reservations.change_reservation")
    assert not support.has_perm("accesscodes.view_pin")
    client = Client()
    client.force_login(support)
    assert client.get("/admin/reservations/reservation/").status_code == 200


@pytest.mark.django_db
def test_the_demo_locks_have_the_rules_the_issue_names():
    call_command("demo", stdout=StringIO())
    nuki = Lock.objects.get(name="Brooklyn Front Door").capability_record
    assert nuki.supported_code_lengths == (6,)
    assert nuki.code_constraints == {Constraint.NO_ZEROS, Constraint.CANNOT_START_WITH_12}
    assert nuki.name_max_length == 20
    assert SimulatedDevice.objects.get(name="Brooklyn Garage").confirm_delay_seconds == 20
    assert {lock.capacity for lock in Lock.objects.all()} == {100}
    brooklyn = Property.objects.get(name="Brooklyn Brownstone")
    lisbon = Property.objects.get(name="Lisbon Loft")
    assert Lock.objects.filter(matches__property=brooklyn).count() == 2
    assert Lock.objects.filter(matches__property=lisbon).count() == 1
    cleaner = SimulatedCode.objects.get(name="Cleaner")
    assert cleaner.created_by_hand
    assert Lock.objects.get(remote_id=cleaner.device.device_id).code_count == 1
    assert SmartLockSettings.objects.filter(property=None).count() == 1
    assert SmartLockSettings.objects.get(property=brooklyn).code_length == 6


@pytest.mark.django_db
@time_machine.travel(datetime(2026, 3, 27, 12, 0, tzinfo=UTC), tick=False)
def test_demo_stays_start_and_end_at_each_propertys_local_times_around_today():
    # 2026-03-27: New York is already on summer time, Lisbon switches two days later, so the
    # Lisbon stays span a DST change and must still start at 15:00 local (rule W1).
    call_command("demo", stdout=StringIO())
    stays = Reservation.objects.select_related("property")
    statuses = {stay.status for stay in stays}
    assert statuses == {"accepted", "cancelled", "inquiry"}
    for stay in stays:
        zone = stay.property.zone
        assert stay.check_in.astimezone(zone).time() == stay.property.checkin_time
        assert stay.check_out.astimezone(zone).time() == stay.property.checkout_time
    arriving_today = Reservation.objects.get(external_id="DEMO-5")
    assert arriving_today.property.name == "Lisbon Loft"
    assert arriving_today.check_in.astimezone(arriving_today.property.zone).date().isoformat() == (
        "2026-03-27"
    )
    assert arriving_today.check_in.astimezone(arriving_today.property.zone).time() == time(15, 0)
    in_stay = Reservation.objects.get(external_id="DEMO-4")
    assert in_stay.check_in < datetime.now(tz=in_stay.check_in.tzinfo) < in_stay.check_out


@pytest.mark.django_db
def test_current_and_future_demo_guests_get_a_code_on_every_matched_lock():
    # rule S1, M2, P2: accepted stays that have not ended get one PIN on each lock of their
    # property, fitting every lock's rules (Brooklyn's Nuki: 6 digits, no 0, not 12…).
    call_command("demo", stdout=StringIO())
    now = timezone.now()
    for stay in Reservation.objects.select_related("property"):
        access_code = AccessCode.objects.filter(reservation=stay).first()
        wants_code = stay.status == "accepted" and stay.check_out > now
        assert (access_code is not None) == wants_code, stay.external_id
        if not wants_code:
            continue
        locks = set(Lock.objects.filter(matches__property=stay.property))
        assert {lc.lock for lc in access_code.lock_codes.all()} == locks, stay.external_id
        for lock in locks:
            assert not pin_violations(access_code.pin, lock.capability_record), stay.external_id
