"""The private guest link: issued per message, stored hashed, valid until 24 h after checkout
(rule K1)."""

import hashlib
from datetime import timedelta

import pytest

from guests.models import GuestLink
from messaging.rendering import render, unknown_shortcodes
from reservations.services import reservation_cancel
from tests.guests.conftest import book, link_path

pytestmark = pytest.mark.django_db


def test_guest_link_is_a_shortcode_and_renders_a_private_link(clock, prop, lock):  # rule K1, G2
    assert unknown_shortcodes("Your page: %guest_link%") == []
    reservation = book(prop, starts_in=timedelta(days=5))
    rendered = render(reservation=reservation, subject="Hi", body="Your page: %guest_link%")
    url = rendered.body.removeprefix("Your page: ")
    assert "/g/" in url and "%" not in url
    token = url.rstrip("/").rsplit("/", 1)[1]
    assert len(token) >= 32
    # Only the hash is stored: the token itself appears nowhere in the database.
    link = GuestLink.objects.get(reservation=reservation)
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert not GuestLink.objects.filter(token_hash=token).exists()


def test_each_message_gets_its_own_link_and_both_open_the_stay(client, clock, prop, lock):
    reservation = book(prop, starts_in=timedelta(days=5))
    first, second = link_path(reservation), link_path(reservation)
    assert first != second
    for path in (first, second):
        assert client.get(path).status_code == 200


def test_guest_page_needs_no_login_and_is_never_indexed(client, clock, prop, lock):  # rule K1
    reservation = book(prop, starts_in=timedelta(days=5))
    response = client.get(link_path(reservation))
    assert response.status_code == 200
    assert "noindex" in response["X-Robots-Tag"]
    assert '<meta name="robots" content="noindex, nofollow">' in response.content.decode()
    assert response["Cache-Control"].startswith("no-store")
    assert response["Referrer-Policy"] == "same-origin"  # the token never leaves the site


def test_a_wrong_token_says_only_that_the_link_has_expired(client, clock, prop, lock):  # rule K1
    book(prop, starts_in=timedelta(days=5))
    for path in ("/g/not-a-token/", "/g/" + "x" * 300 + "/", "/g/%00%ff/"):
        response = client.get(path)
        assert response.status_code == 404
        body = response.content.decode()
        assert "This link has expired" in body
        assert prop.name not in body and "Ana" not in body
        assert "noindex" in response["X-Robots-Tag"]


def test_link_works_until_24_hours_after_checkout(client, clock, prop, lock):  # rule K1
    reservation = book(prop, starts_in=timedelta(days=2), nights=2)
    path = link_path(reservation)
    end = reservation.check_out + timedelta(hours=24)
    clock.move_to(end - timedelta(seconds=1))
    assert client.get(path).status_code == 200
    clock.move_to(end)
    response = client.get(path)
    assert response.status_code == 404
    assert "This link has expired" in response.content.decode()


def test_a_cancelled_stays_link_has_expired(client, clock, prop, lock):  # rule K1
    reservation = book(prop, starts_in=timedelta(days=2))
    path = link_path(reservation)
    reservation_cancel(reservation=reservation)
    response = client.get(path)
    assert response.status_code == 404
    assert prop.name not in response.content.decode()


def test_guest_page_is_rate_limited_per_address(client, clock, prop, lock):  # rule K1
    reservation = book(prop, starts_in=timedelta(days=2))
    path = link_path(reservation)
    statuses = [client.get(path).status_code for _ in range(61)]
    assert statuses[:60] == [200] * 60
    assert statuses[60] == 429
    # Guessing tokens counts too.
    assert client.get("/g/guess/").status_code == 429
    clock.shift(timedelta(minutes=1))
    assert client.get(path).status_code == 200


def test_posting_help_for_an_unknown_token_or_lock_never_errors(client, clock, prop, lock):
    reservation = book(prop, starts_in=timedelta(days=2))
    path = link_path(reservation)
    assert client.post("/g/nope/locks/1/help/").status_code == 404
    assert client.post(f"{path}locks/999999/help/").status_code == 404
    assert client.get(f"{path}locks/{lock.pk}/help/").status_code == 405


def test_the_host_can_turn_off_the_links_sent_so_far(client, clock, prop, lock):  # rule K1
    from django.urls import reverse

    reservation = book(prop, starts_in=timedelta(days=5))
    sent = [link_path(reservation), link_path(reservation)]
    host_client = type(client)()
    host_client.force_login(prop.host.members.get().user)
    assert (
        "Turn off the links sent so far"
        in host_client.get(reverse("conversation", args=[reservation.pk])).content.decode()
    )

    response = host_client.post(reverse("guest_links_revoke", args=[reservation.pk]), follow=True)

    assert "Turned off 2 links to" in response.content.decode()
    for path in sent:
        assert client.get(path).status_code == 404
    assert client.get(link_path(reservation)).status_code == 200  # the next message's link


def test_another_host_cannot_turn_off_a_stays_links(client, clock, prop, lock, other_host):
    from django.urls import reverse

    reservation = book(prop, starts_in=timedelta(days=5))
    path = link_path(reservation)
    client.force_login(other_host.members.get().user)
    assert client.post(reverse("guest_links_revoke", args=[reservation.pk])).status_code == 404
    assert client.get(path).status_code == 200
