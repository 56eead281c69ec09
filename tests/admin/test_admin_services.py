"""Changes made in the admin reach the locks: they go through the same services as the API."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accesscodes.models import AccessCode, LockCode
from integrations.models import Match
from reservations.models import Reservation
from reservations.services import reservation_upsert
from tests.factories import LockFactory, MatchFactory, PropertyFactory


def _form_datetime(value, prefix: str) -> dict[str, str]:
    local = timezone.localtime(value)
    return {f"{prefix}_0": local.strftime("%Y-%m-%d"), f"{prefix}_1": local.strftime("%H:%M:%S")}


@pytest.fixture
def stay(host):
    match = MatchFactory(lock__connection__host=host, property__host=host)
    check_in = timezone.now() + timedelta(days=10)
    reservation, _ = reservation_upsert(
        host=host,
        external_id="ADMIN-1",
        property=match.property,
        guest_name="Grace Hopper",
        check_in=check_in,
        check_out=check_in + timedelta(days=2),
    )
    return reservation


def _reservation_form(reservation: Reservation, **changes) -> dict[str, str]:
    data = {
        "property": str(reservation.property_id),
        "guest_name": reservation.guest_name,
        "reservation_code": reservation.reservation_code,
        "guest_phone": reservation.guest_phone,
        "guest_phone_last_digits": reservation.guest_phone_last_digits,
        "guest_email": reservation.guest_email,
        "status": reservation.status,
        **_form_datetime(changes.pop("check_in", reservation.check_in), "check_in"),
        **_form_datetime(changes.pop("check_out", reservation.check_out), "check_out"),
    }
    data.update(changes)
    return data


def test_extending_a_stay_in_the_admin_moves_the_code_window(client, support_agent, stay):
    # rule C1
    client.force_login(support_agent)
    new_check_out = stay.check_out.replace(microsecond=0) + timedelta(days=1)
    url = reverse("admin:reservations_reservation_change", args=[stay.pk])
    response = client.post(url, _reservation_form(stay, check_out=new_check_out))
    assert response.status_code == 302, response.context["adminform"].form.errors
    access_code = AccessCode.objects.get(reservation=stay)
    assert access_code.ends_at >= new_check_out
    assert stay.access_code.pin == access_code.pin


def test_cancelling_a_stay_in_the_admin_cancels_its_code(client, support_agent, stay):
    # rule C3
    client.force_login(support_agent)
    url = reverse("admin:reservations_reservation_change", args=[stay.pk])
    response = client.post(url, _reservation_form(stay, status="cancelled"))
    assert response.status_code == 302
    stay.refresh_from_db()
    assert stay.status == "cancelled" and stay.cancelled_at is not None
    assert AccessCode.objects.get(reservation=stay).cancelled_at is not None


def test_changing_a_cancelled_stay_is_refused_with_a_message(client, support_agent, stay):
    client.force_login(support_agent)
    url = reverse("admin:reservations_reservation_change", args=[stay.pk])
    client.post(url, _reservation_form(stay, status="cancelled"), follow=True)
    stay.refresh_from_db()
    later = stay.check_out.replace(microsecond=0) + timedelta(days=3)
    response = client.post(
        url, _reservation_form(stay, check_out=later, status="cancelled"), follow=True
    )
    assert response.redirect_chain[-1][0] == url
    assert "cannot be changed" in response.text
    assert "was changed successfully" not in response.text
    stay.refresh_from_db()
    assert stay.check_out != later
    assert stay.status == "cancelled"


def test_accepting_a_cancelled_stay_again_with_a_new_checkout_takes_both(
    client, support_agent, stay
):  # rules S1, C1: the booking was reinstated with one more night
    client.force_login(support_agent)
    url = reverse("admin:reservations_reservation_change", args=[stay.pk])
    client.post(url, _reservation_form(stay, status="cancelled"), follow=True)
    stay.refresh_from_db()
    pin = stay.access_code.pin
    later = stay.check_out.replace(microsecond=0) + timedelta(days=1)
    response = client.post(
        url, _reservation_form(stay, check_out=later, status="accepted"), follow=True
    )
    assert "was changed successfully" in response.text
    stay.refresh_from_db()
    assert (stay.status, stay.check_out) == ("accepted", later)
    access_code = AccessCode.objects.get(reservation=stay)
    assert (access_code.pin, access_code.cancelled_at, access_code.ends_at) == (pin, None, later)


def test_adding_an_accepted_reservation_in_the_admin_creates_its_code(client, support_agent, host):
    # rule S1
    match = MatchFactory(lock__connection__host=host, property__host=host)
    client.force_login(support_agent)
    check_in = (timezone.now() + timedelta(days=3)).replace(microsecond=0)
    data = {
        "host": str(host.pk),
        "external_id": "ADMIN-NEW",
        "source": "manual",
        "property": str(match.property_id),
        "guest_name": "Alan Turing",
        "status": "accepted",
        **_form_datetime(check_in, "check_in"),
        **_form_datetime(check_in + timedelta(days=2), "check_out"),
    }
    response = client.post(reverse("admin:reservations_reservation_add"), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    reservation = Reservation.objects.get(external_id="ADMIN-NEW")
    assert LockCode.objects.filter(access_code__reservation=reservation, lock=match.lock).exists()


def test_matching_a_lock_in_the_admin_gives_existing_guests_a_code_on_it(
    client, support_agent, host, stay
):
    # rule M3
    new_lock = LockFactory(connection__host=host)
    client.force_login(support_agent)
    response = client.post(
        reverse("admin:integrations_match_add"),
        {"lock": str(new_lock.pk), "property": str(stay.property_id)},
    )
    assert response.status_code == 302
    assert LockCode.objects.filter(access_code__reservation=stay, lock=new_lock).exists()


def test_unmatching_a_lock_in_the_admin_takes_the_codes_off_it(client, support_agent, stay):
    # rule M4
    match = Match.objects.get(property=stay.property)
    client.force_login(support_agent)
    response = client.post(
        reverse("admin:integrations_match_delete", args=[match.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not Match.objects.filter(pk=match.pk).exists()
    # The stay is 10 days out, so its code was not sent yet: it is dropped at once.
    lock_code = LockCode.objects.get(access_code__reservation=stay, lock=match.lock)
    assert lock_code.state == LockCode.State.REMOVED


def test_a_lock_cannot_be_matched_to_another_hosts_property(
    client, support_agent, host, other_host
):
    lock = LockFactory(connection__host=host)
    foreign = PropertyFactory(host=other_host)
    client.force_login(support_agent)
    response = client.post(
        reverse("admin:integrations_match_add"), {"lock": str(lock.pk), "property": str(foreign.pk)}
    )
    assert response.status_code == 200
    assert "different hosts" in response.text
    assert not Match.objects.exists()


def test_support_retries_a_failed_code_and_resyncs_a_lock_from_admin_actions(
    client, support_agent, host, django_capture_on_commit_callbacks
):  # SPEC §4 Admin: actions to retry codes and resync locks
    from integrations.models import SimulatedDevice

    match = MatchFactory(lock__connection__host=host, property__host=host)
    lock = match.lock
    device = SimulatedDevice.objects.get(device_id=lock.remote_id)
    device.online = False
    device.save()
    check_in = timezone.now() + timedelta(hours=3)
    reservation, _ = reservation_upsert(
        host=host,
        external_id="ADMIN-2",
        property=match.property,
        guest_name="Ada Lovelace",
        reservation_code="HMADA",
        check_in=check_in,
        check_out=check_in + timedelta(days=2),
    )
    from accesscodes.services import dispatch_due

    dispatch_due()
    lock_code = LockCode.objects.get(access_code__reservation=reservation)
    assert lock_code.state == LockCode.State.FAILED
    client.force_login(support_agent)

    found = client.get(reverse("admin:accesscodes_lockcode_changelist"), {"q": "HMADA"})
    assert "Ada Lovelace" in found.text
    device.online = True
    device.save()
    with django_capture_on_commit_callbacks() as queued:
        client.post(
            reverse("admin:accesscodes_lockcode_changelist"),
            {"action": "retry_now", "_selected_action": [lock_code.pk]},
        )
    lock_code.refresh_from_db()
    # The action only marked the code due and queued a pass: no vendor call in the request.
    assert lock_code.state == LockCode.State.FAILED
    assert lock_code.next_attempt_at <= timezone.now()
    for callback in queued:
        callback()  # the worker's pass
    lock_code.refresh_from_db()
    assert lock_code.state == LockCode.State.SET
    assert device.codes.get().name == "Ada Lovelace"

    device.codes.all().delete()  # a factory reset
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("admin:integrations_lock_changelist"),
            {"action": "resync", "_selected_action": [lock.pk]},
        )
    assert device.codes.get().pin == lock_code.pin
    page = client.get(reverse("admin:integrations_lock_change", args=[lock.pk])).text
    assert "resync_requested" in page and "missing_from_lock" in page
