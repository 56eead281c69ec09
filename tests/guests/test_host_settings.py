"""The host's side of the guest page: settings, check-in notes, opening a stay's page, and
the panel include (rules K2, K3, K5, H6)."""

from datetime import timedelta

import pytest
from django.urls import reverse

from guests.models import GuestSettings, PropertyGuestInfo, StayCheck
from tests.guests.conftest import book

pytestmark = pytest.mark.django_db


def test_checks_are_on_and_the_not_arrived_notice_off_by_default(host):  # rules H6, K5
    defaults = GuestSettings(host=host)
    assert defaults.check_24h and defaults.check_2h
    assert defaults.not_arrived_after_hours is None
    assert defaults.reveal_before == timedelta(days=3)


def test_host_changes_guest_settings_in_the_dashboard(client, host_user, clock, prop, lock):
    reservation = book(prop, starts_in=timedelta(days=5))
    client.force_login(host_user)
    assert client.get("/settings/guests/").status_code == 200
    response = client.post(
        "/settings/guests/",
        {
            "reveal_before_days": "1",
            "host_phone": "+49 30 1234567",
            "check_24h": "on",
            "not_arrived_after_hours": "4",
        },
    )
    assert response.status_code == 302
    saved = GuestSettings.objects.get(host=prop.host)
    assert (saved.reveal_before, saved.check_24h, saved.check_2h) == (
        timedelta(days=1),
        True,
        False,
    )
    notice = StayCheck.objects.get(reservation=reservation, kind=StayCheck.Kind.NOT_ARRIVED)
    assert notice.due_at == reservation.check_in + timedelta(hours=4)


def test_guest_settings_need_a_signed_in_host(client, prop):
    response = client.get("/settings/guests/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert client.post(f"/inbox/{prop.pk}/guest-page/").status_code == 302
    assert not GuestSettings.objects.exists()


def test_bad_settings_are_form_errors_not_500s(client, host_user, prop):
    client.force_login(host_user)
    response = client.post(
        "/settings/guests/", {"reveal_before_days": "-2", "not_arrived_after_hours": "500"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors.keys() >= {
        "reveal_before_days",
        "not_arrived_after_hours",
    }
    assert not GuestSettings.objects.filter(host=prop.host).exists()


def test_check_in_notes_are_per_property_and_only_the_hosts_own(
    client, host_user, other_host, prop
):  # rule K2
    from tests.factories import PropertyFactory

    client.force_login(host_user)
    response = client.post(
        f"/settings/guests/properties/{prop.pk}/notes/", {"checkin_notes": "Key box: 2468"}
    )
    assert response.status_code == 302
    assert PropertyGuestInfo.objects.get(property=prop).checkin_notes == "Key box: 2468"
    foreign = PropertyFactory(host=other_host)
    assert client.get(f"/settings/guests/properties/{foreign.pk}/notes/").status_code == 404


def test_host_opens_a_stays_guest_page(client, host_user, other_host, clock, prop, lock):
    reservation = book(prop, starts_in=timedelta(days=1))
    client.force_login(host_user)
    response = client.post(f"/inbox/{reservation.pk}/guest-page/")
    assert response.status_code == 302 and "/g/" in response["Location"]
    from tests.factories import ReservationFactory

    foreign = ReservationFactory(property__host=other_host)
    assert client.post(f"/inbox/{foreign.pk}/guest-page/").status_code == 404


def test_panel_include_shows_the_last_check_and_the_next(clock, prop, lock):  # rule H6
    from django.template import Context, Template

    from guests.prearrival import stay_checks_run_due

    reservation = book(prop, starts_in=timedelta(days=2))
    html = Template("{% load guest_panel %}{% guest_panel r %}").render(Context({"r": reservation}))
    assert "none yet" in html and "next:" in html
    clock.move_to(StayCheck.objects.get(reservation=reservation, kind="before_24h").due_at)
    stay_checks_run_due()
    html = Template("{% load guest_panel %}{% guest_panel r %}").render(Context({"r": reservation}))
    assert "(24 hours before):" in html


def test_the_property_access_panel_shows_the_checks_and_opens_the_guest_page(
    client, host_user, clock, prop, lock
):  # rule H6, K1
    reservation = book(prop, starts_in=timedelta(days=2))
    client.force_login(host_user)
    panel = client.get(reverse("access_panel", kwargs={"pk": reservation.pk})).content.decode()
    assert 'data-testid="last-check"' in panel and "next:" in panel
    assert f"/inbox/{reservation.pk}/guest-page/" in panel
    assert "/settings/guests/" in client.get("/settings/").content.decode()
