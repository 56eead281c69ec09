"""Every dashboard page and action with an id answers 404 for another host's ids (SPEC §3)."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.converters import IntConverter

from accesscodes.models import LockCode
from pms.models import PmsConnection

DASHBOARD = "locksync.dashboard_urls"


def patterns_with_ids(resolver=None, prefix=""):
    resolver = resolver or get_resolver(DASHBOARD)
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            yield from patterns_with_ids(pattern, prefix)
        elif isinstance(pattern, URLPattern) and any(
            isinstance(converter, IntConverter) for converter in pattern.pattern.converters.values()
        ):  # a <str:pms> key names a kind of PMS, not an object of any host
            yield pattern


def ids_of(estate) -> dict[str, dict[str, int]]:
    """For each page with ids, the ids of the given estate's objects it takes."""
    lock_code = LockCode.objects.get(access_code__reservation=estate.reservation)
    pms_connection, _ = PmsConnection.objects.get_or_create(
        host=estate.property.host, pms="smoobu", defaults={"credentials": {"api_key": "k"}}
    )
    property_pk = {"pk": estate.property.pk}
    return {
        "property_detail": property_pk,
        "property_edit": property_pk,
        "property_calendar": property_pk,
        "match_new": property_pk,
        "property_settings": property_pk,
        "property_settings_reset": property_pk,
        "match_remove": {"pk": estate.match.pk},
        "lock_detail": {"pk": estate.lock.pk},
        "lock_resync": {"pk": estate.lock.pk},
        "lock_code_slots": {"pk": estate.lock.pk},
        "reservation_detail": {"pk": estate.reservation.pk},
        "reservation_cancel": {"pk": estate.reservation.pk},
        "reservation_edit": {"pk": estate.reservation.pk},
        "reservation_simulate_entry": {"pk": estate.reservation.pk},
        "conversation": {"pk": estate.reservation.pk},
        "access_panel": {"pk": estate.reservation.pk},
        "conversation_lock_resync": {"pk": estate.reservation.pk, "lock_pk": estate.lock.pk},
        "lock_code_retry": {"pk": lock_code.pk},
        "connection_detail": {"pk": estate.lock.connection_id},
        "connection_reconnect": {"pk": estate.lock.connection_id},
        "connection_disconnect": {"pk": estate.lock.connection_id},
        "connection_refresh": {"pk": estate.lock.connection_id},
        "rule_detail": {"pk": estate.rule.pk},
        "alert_resolve": {"pk": estate.property.host.alerts.get().pk},
        "rule_edit": {"pk": estate.rule.pk},
        "rule_send_skipped": {"pk": estate.rule.pk},
        "ical_feed_new": property_pk,
        "ical_feed_remove": {"pk": estate.feed.pk},
        "ical_feed_confirm_drop": {"pk": estate.feed.pk},
        "pms_connection_detail": {"pk": pms_connection.pk},
    }


def answer(client, url):
    response = client.get(url)
    if response.status_code == 405:
        response = client.post(url)
    return response


def test_every_dashboard_page_with_an_id_is_covered_by_this_test(estate):
    known = ids_of(estate)
    names = [pattern.name for pattern in patterns_with_ids()]
    assert names, "the dashboard has pages with ids"
    assert [name for name in names if name not in known] == []


def test_another_hosts_ids_answer_404_on_every_page_and_action(hannah, estate, foreign_estate):
    foreign = ids_of(foreign_estate)
    for pattern in patterns_with_ids():
        url = reverse(pattern.name, kwargs=foreign[pattern.name])
        assert answer(hannah, url).status_code == 404, url


def test_a_mixed_url_with_one_foreign_id_answers_404(hannah, estate, foreign_estate):
    url = reverse(
        "conversation_lock_resync",
        kwargs={"pk": estate.reservation.pk, "lock_pk": foreign_estate.lock.pk},
    )
    assert hannah.post(url).status_code == 404


@pytest.mark.parametrize(
    "name",
    ["property_detail", "lock_detail", "conversation", "reservation_edit", "property_calendar"],
)
def test_the_same_pages_answer_for_the_hosts_own_ids(hannah, estate, foreign_estate, name):
    # The 404s above are not vacuous: the owner reaches the page.
    assert hannah.get(reverse(name, kwargs=ids_of(estate)[name])).status_code == 200


def test_nothing_of_another_host_shows_on_the_list_pages(hannah, estate, foreign_estate):
    for name in [
        "home",
        "property_list",
        "lock_list",
        "connection_list",
        "reservation_list",
        "inbox",
        "alert_list",
    ]:
        page = hannah.get(reverse(name)).text
        assert "Oscar" not in page, name
