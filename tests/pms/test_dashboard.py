"""The dashboard: connect a PMS, listings suggested by name, mapping imports (SPEC Q1, Q2, Q5)."""

from __future__ import annotations

import pytest

from pms.models import PmsConnection
from reservations.models import Reservation
from tests.fakes.pms import FakeSmoobu
from tests.pms.conftest import day

pytestmark = pytest.mark.django_db


def test_connect_suggest_map_and_turn_write_back_off(client, host_user, smoobu, prop, lock):
    # rules Q1, Q2, Q5
    client.force_login(host_user)
    smoobu.add("701", listing="101", arrival=day(2), departure=day(4))
    refused = client.post("/pms/new/smoobu/", {"api_key": "wrong"})
    assert "did not accept" in refused.content.decode()
    assert not PmsConnection.objects.exists()
    response = client.post("/pms/new/smoobu/", {"api_key": FakeSmoobu.api_key})
    connection = PmsConnection.objects.get()
    assert response.url == f"/pms/{connection.pk}/"
    assert connection.credentials == {"api_key": FakeSmoobu.api_key}
    page = client.get(response.url).content.decode()
    assert connection.webhook_secret in page
    listing = connection.listings.get(remote_id="101")
    assert f'value="{prop.pk}" selected' in page  # "Alfama Loft" suggested for Alfama Loft
    assert not Reservation.objects.exists()  # nothing imported before mapping
    client.post(response.url, {f"listing-{listing.pk}": str(prop.pk), "write_back": "off"})
    assert Reservation.objects.get().property == prop
    connection.refresh_from_db()
    assert connection.write_back_codes is False


def test_another_hosts_connection_is_not_found(client, other_host, host_user):
    client.force_login(host_user)
    theirs = PmsConnection.objects.create(host=other_host, pms="smoobu", credentials={})
    assert client.get(f"/pms/{theirs.pk}/").status_code == 404


def test_messages_go_to_the_pms_thread_where_it_has_one(
    hospitable, hospitable_connection, smoobu, smoobu_connection
):
    from pms.registry import adapter_for

    hospitable.add("res-1", listing="prop-uuid-1", arrival=day(1), departure=day(3))
    smoobu.add("801", listing="101", arrival=day(1), departure=day(3))
    adapter_for(hospitable_connection).send_message("res-1", "Your code is ready")
    adapter_for(smoobu_connection).send_message("801", "Ihr Code ist bereit")
    assert hospitable.threads == {"res-1": ["Your code is ready"]}
    assert smoobu.threads == {"801": ["Ihr Code ist bereit"]}
