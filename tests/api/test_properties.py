"""Properties over the API, scoped to the caller's host (SPEC §3, §4)."""

from properties.models import Property
from tests.factories import MatchFactory, PropertyFactory


def test_a_host_lists_only_their_own_properties(host, other_host, api):
    PropertyFactory(host=host, name="Casa Azul")
    PropertyFactory(host=other_host, name="Oscar's Loft")
    response = api.get("/api/v1/properties/")
    assert response.status_code == 200
    assert [p["name"] for p in response.json()["results"]] == ["Casa Azul"]


def test_another_hosts_property_answers_404(other_host, api):
    foreign = PropertyFactory(host=other_host)
    assert api.get(f"/api/v1/properties/{foreign.pk}/").status_code == 404
    assert api.patch(f"/api/v1/properties/{foreign.pk}/", {"name": "Mine"}).status_code == 404
    foreign.refresh_from_db()
    assert foreign.name != "Mine"


def test_a_property_is_created_with_the_default_times(host, api):
    response = api.post(
        "/api/v1/properties/",
        {"name": "Casa Azul", "time_zone": "Europe/Lisbon", "address": "Rua 1"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["checkin_time"] == "16:00:00"
    assert body["checkout_time"] == "11:00:00"
    assert Property.objects.get(pk=body["id"]).host == host


def test_a_bad_time_zone_is_a_400_on_that_field_and_stores_nothing(host, api):
    response = api.post(
        "/api/v1/properties/", {"name": "Casa Azul", "time_zone": "Mars/Olympus"}, format="json"
    )
    assert response.status_code == 400
    assert "time_zone" in response.json()
    assert not Property.objects.exists()


def test_a_property_is_updated_and_shows_its_matched_locks(host, api):
    match = MatchFactory(lock__connection__host=host, property__host=host)
    response = api.patch(
        f"/api/v1/properties/{match.property.pk}/",
        {"checkin_time": "15:00", "time_zone": "America/New_York"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["checkin_time"] == "15:00:00"
    assert response.json()["matched_lock_ids"] == [match.lock.pk]
    match.property.refresh_from_db()
    assert match.property.time_zone == "America/New_York"


def test_an_unknown_query_parameter_is_a_400_not_silently_ignored(host, api):
    response = api.get("/api/v1/properties/?ofset=100")
    assert response.status_code == 400
    assert response.json() == {"ofset": ["Unknown query parameter."]}
    assert api.get("/api/v1/properties/?offset=0&limit=10").status_code == 200


def test_ical_feeds_are_added_to_the_hosts_own_properties_only(host, other_host, api):
    from reservations.models import ICalFeed

    mine = PropertyFactory(host=host)
    foreign = PropertyFactory(host=other_host)
    url = "https://www.airbnb.com/calendar/ical/123.ics?s=secret"
    created = api.post(
        "/api/v1/ical-feeds/", {"property": mine.pk, "url": url, "source": "airbnb"}, format="json"
    )
    assert created.status_code == 201, created.json()
    refused = api.post(
        "/api/v1/ical-feeds/",
        {"property": foreign.pk, "url": url, "source": "airbnb"},
        format="json",
    )
    assert refused.status_code == 400
    assert ICalFeed.objects.get().property == mine
    other_feed = ICalFeed.objects.create(property=foreign, url=url)
    assert api.get(f"/api/v1/ical-feeds/{other_feed.pk}/").status_code == 404
    assert api.delete(f"/api/v1/ical-feeds/{other_feed.pk}/").status_code == 404
