"""Each invariant is a named database constraint: the database refuses the bad row."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction

from accesscodes.models import CodeEvent, LockCode
from integrations.models import Match
from properties.models import SmartLockSettings
from reservations.models import Reservation
from tests.factories import (
    CodeEventFactory,
    HostFactory,
    LockCodeFactory,
    MatchFactory,
    PropertyFactory,
    ReservationFactory,
    SmartLockSettingsFactory,
)

pytestmark = pytest.mark.django_db


def test_a_reservation_cannot_check_out_before_or_when_it_checks_in():
    reservation = ReservationFactory()
    for check_out in (reservation.check_in, reservation.check_in - timedelta(hours=1)):
        with pytest.raises(IntegrityError), transaction.atomic():
            Reservation.objects.filter(pk=reservation.pk).update(check_out=check_out)
    with pytest.raises(IntegrityError), transaction.atomic():
        ReservationFactory(
            check_in=reservation.check_in, check_out=reservation.check_in - timedelta(days=1)
        )


def test_a_host_cannot_have_two_reservations_with_one_external_id():
    reservation = ReservationFactory(external_id="HM-42")
    with pytest.raises(IntegrityError), transaction.atomic():
        ReservationFactory(property=reservation.property, external_id="HM-42")
    # Another host may use the same id for its own booking.
    other = ReservationFactory(external_id="HM-42")
    assert other.host != reservation.host


def test_an_access_code_has_one_lock_code_per_lock():
    lock_code = LockCodeFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        LockCode.objects.create(
            access_code=lock_code.access_code, lock=lock_code.lock, pin=lock_code.pin
        )


def test_a_lock_is_matched_to_a_property_once():
    match = MatchFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Match.objects.create(lock=match.lock, property=match.property)


def test_a_host_has_one_default_smart_lock_settings_but_many_overrides():
    host = HostFactory()
    SmartLockSettingsFactory(host=host)
    with pytest.raises(IntegrityError), transaction.atomic():
        SmartLockSettingsFactory(host=host)
    SmartLockSettingsFactory(host=host, property=PropertyFactory(host=host))
    SmartLockSettingsFactory(host=host, property=PropertyFactory(host=host))
    assert SmartLockSettings.objects.filter(host=host).count() == 3


@pytest.mark.parametrize("length", [3, 9, 0])
def test_code_length_outside_4_to_8_is_refused(length):
    with pytest.raises(IntegrityError), transaction.atomic():
        SmartLockSettingsFactory(code_length=length)


@pytest.mark.parametrize("length", [4, 8])
def test_code_length_at_the_bounds_is_accepted(length):
    assert SmartLockSettingsFactory(code_length=length).pk


def test_a_code_event_cannot_be_changed_or_deleted():
    event = CodeEventFactory(kind="created")
    event.kind = "tampered"
    with pytest.raises(ValueError, match="append-only"):
        event.save()
    with pytest.raises(ValueError, match="append-only"):
        event.delete()
    assert CodeEvent.objects.get(pk=event.pk).kind == "created"
