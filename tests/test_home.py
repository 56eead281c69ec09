"""The dashboard's first page: a host sees their own properties and locks, nobody else's."""

from datetime import time

import pytest
from django.urls import reverse

from tests.factories import LockFactory, MatchFactory, PropertyFactory, UserFactory


@pytest.fixture
def hannahs_estate(host):
    match = MatchFactory(
        lock__connection__host=host,
        lock__device__name="Garden Gate",
        lock__battery_level=42,
        property__host=host,
        property__name="Seaside Cottage",
        property__time_zone="Europe/Lisbon",
        property__checkin_time=time(15, 0),
        property__checkout_time=time(11, 0),
    )
    return match


@pytest.fixture
def oscars_estate(other_host):
    return MatchFactory(
        lock__connection__host=other_host,
        lock__device__name="Oscar's Back Door",
        property__host=other_host,
        property__name="Oscar's Penthouse",
    )


def test_anonymous_visitors_are_sent_to_the_login_page(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")
    login_page = client.get(response.url)
    assert login_page.status_code == 200
    assert 'name="password"' in login_page.text


def test_a_host_sees_their_properties_and_locks_and_not_another_hosts(
    client, host_user, hannahs_estate, oscars_estate
):
    client.force_login(host_user)
    page = client.get(reverse("home")).text
    assert "Seaside Cottage" in page
    assert "Europe/Lisbon" in page
    assert "15:00" in page and "11:00" in page
    assert "Garden Gate" in page
    assert "42%" in page
    assert "0 / 100" in page
    assert "Oscar" not in page


def test_a_lock_matched_to_another_hosts_property_does_not_leak_into_the_page(
    client, host_user, hannahs_estate, other_host
):
    # A corrupt cross-host match must not show Oscar's property name on Hannah's lock or vice
    # versa: the page reads matches through the tenancy selector.
    foreign_property = PropertyFactory(host=other_host, name="Oscar's Penthouse")
    MatchFactory(lock=hannahs_estate.lock, property=foreign_property)
    client.force_login(host_user)
    assert "Oscar" not in client.get(reverse("home")).text


def test_staff_without_a_host_get_a_link_to_the_admin(client, support_agent):
    client.force_login(support_agent)
    page = client.get(reverse("home")).text
    assert reverse("admin:index") in page


def test_a_user_logs_in_with_the_form_and_out_with_a_post(client, host_user, hannahs_estate):
    response = client.post(
        reverse("login"),
        {"username": "hannah@example.com", "password": "correct horse battery"},
    )
    assert response.status_code == 302 and response.url == "/"
    assert "Seaside Cottage" in client.get("/").text
    assert client.get(reverse("logout")).status_code == 405
    assert client.post(reverse("logout")).status_code == 302
    assert client.get("/").status_code == 302


def test_the_home_page_runs_a_bounded_number_of_queries(
    client, host, host_user, django_assert_max_num_queries
):
    client.force_login(host_user)
    MatchFactory(lock__connection__host=host, property__host=host)
    # 4 for the session and the host, 7 for Today (matches, properties, locks, the day's
    # stays, their locks' codes, open alerts and their count): a constant, whatever the data.
    with django_assert_max_num_queries(11):
        assert client.get("/").status_code == 200
    for _ in range(10):
        match = MatchFactory(lock__connection__host=host, property__host=host)
        LockFactory(connection=match.lock.connection)
    with django_assert_max_num_queries(11):
        page = client.get("/")
    assert len(page.context["locks"]) == 21


def test_a_user_without_a_host_sees_no_data(client, hannahs_estate):
    client.force_login(UserFactory())
    page = client.get("/").text
    assert "Seaside Cottage" not in page
    assert "not linked to a host" in page
