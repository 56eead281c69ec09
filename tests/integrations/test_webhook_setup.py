"""Webhooks a host can use: registered at the vendor on connect where its API allows (Seam
webhooks.create, Nuki decentral webhooks) and SITE_URL is public, the secret stored encrypted,
the registration removed on disconnect; otherwise the page and the API take a pasted secret."""

import pytest
from django.db import connection as db

from integrations.connections import (
    connection_create,
    connection_disconnect,
    site_url_is_public,
    webhook_secret_problem,
)
from tests.api.conftest import client_for

pytestmark = pytest.mark.django_db

SEAM_SECRET = "whsec_" + "c2VjcmV0LXNlY3JldC1zZWNyZXQ="


@pytest.fixture
def public_site(settings):
    settings.SITE_URL = "https://locksync.example"


def raw_credentials(connection) -> str:
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT credentials FROM integrations_lockconnection WHERE id = %s", [connection.pk]
        )
        return str(cursor.fetchone()[0])


@pytest.mark.parametrize(
    ("url", "public"),
    [
        ("https://locksync.example", True),
        ("https://app.locksync.io/", True),
        ("http://app.locksync.io", False),  # vendors post to https only
        ("http://127.0.0.1:8000", False),
        ("https://localhost:8000", False),
        ("https://192.168.1.20", False),
        ("https://locksync.local", False),
        ("https://10.0.0.5:8443", False),
    ],
)
def test_only_an_https_address_the_internet_can_reach_counts_as_public(url, public):
    assert site_url_is_public(url) is public


def test_connecting_seam_registers_locksyncs_webhook_and_keeps_the_secret_encrypted(
    host, fake_seam, public_site
):
    fake_seam.add_device("Front door")
    connection = connection_create(
        host=host, vendor="seam", credentials={"api_key": "seam_testkey_fake"}
    )
    [webhook] = fake_seam.webhooks.values()
    assert webhook["url"] == f"https://locksync.example/webhooks/seam/{connection.pk}/"
    connection.refresh_from_db()
    assert connection.webhook_id == webhook["webhook_id"]
    assert connection.credentials["webhook_secret"] == webhook["secret"]
    assert webhook["secret"] not in raw_credentials(connection)
    connection_disconnect(connection=connection)
    assert fake_seam.webhooks == {}
    connection.refresh_from_db()
    assert (connection.webhook_id, connection.credentials) == ("", {})


def test_connecting_nuki_registers_a_decentral_webhook(host, fake_nuki, public_site):
    fake_nuki.add_smartlock("Front door")
    connection = connection_create(
        host=host, vendor="nuki", credentials={"api_token": "nuki-token"}
    )
    [webhook] = fake_nuki.webhooks.values()
    assert webhook["webhookUrl"] == f"https://locksync.example/webhooks/nuki/{connection.pk}/"
    assert "DEVICE_AUTHS" in webhook["webhookFeatures"]
    connection.refresh_from_db()
    assert connection.credentials["webhook_secret"] == webhook["secret"]
    connection_disconnect(connection=connection)
    assert fake_nuki.webhooks == {}


def test_a_nuki_account_without_webhook_approval_still_connects_and_is_asked_to_paste(
    host, fake_nuki, public_site, client, host_user
):
    fake_nuki.add_smartlock("Front door")
    fake_nuki.webhooks_allowed = False
    connection = connection_create(
        host=host, vendor="nuki", credentials={"api_token": "nuki-token"}
    )
    assert connection.state == "connected"
    assert connection.webhook_id == ""
    client.force_login(host_user)
    page = client.get(f"/connections/{connection.pk}/").content.decode()
    assert f"https://locksync.example/webhooks/nuki/{connection.pk}/" in page
    assert "Webhook signing secret" in page


def test_on_a_local_address_nothing_is_registered_and_the_page_shows_what_to_paste(
    host, fake_seam, settings, client, host_user
):
    settings.SITE_URL = "http://127.0.0.1:8000"
    fake_seam.add_device("Front door")
    connection = connection_create(
        host=host, vendor="seam", credentials={"api_key": "seam_testkey_fake"}
    )
    assert fake_seam.webhooks == {}
    client.force_login(host_user)
    page = client.get(f"/connections/{connection.pk}/").content.decode()
    assert f"http://127.0.0.1:8000/webhooks/seam/{connection.pk}/" in page
    assert "none received yet" in page
    response = client.post(f"/connections/{connection.pk}/", {"webhook_secret": "not-a-secret"})
    assert response.status_code == 400
    assert "A Seam webhook secret starts with whsec_." in response.content.decode()
    response = client.post(f"/connections/{connection.pk}/", {"webhook_secret": SEAM_SECRET})
    assert response.status_code == 302
    connection.refresh_from_db()
    assert connection.credentials["webhook_secret"] == SEAM_SECRET
    page = client.get(f"/connections/{connection.pk}/").content.decode()
    assert "A secret is saved" in page


def test_a_registered_webhook_page_says_so_and_when_the_last_one_arrived(
    host, fake_seam, public_site, client, host_user
):
    fake_seam.add_device("Front door")
    connection = connection_create(
        host=host, vendor="seam", credentials={"api_key": "seam_testkey_fake"}
    )
    client.force_login(host_user)
    page = client.get(f"/connections/{connection.pk}/").content.decode()
    assert "locksync registered its webhook" in page
    assert "Webhook signing secret" not in page
    assert "none received yet" in page


def test_ttlock_needs_nothing_pasted(host, fake_ttlock, client, host_user):
    fake_ttlock.add_lock("Front door")
    connection = connection_create(
        host=host,
        vendor="ttlock",
        credentials={"username": "host@example.com", "password": "s3cret"},
    )
    client.force_login(host_user)
    page = client.get(f"/connections/{connection.pk}/").content.decode()
    assert "nothing to paste" in page
    assert "Webhook signing secret" not in page


def test_the_api_shows_the_webhook_state_and_takes_a_pasted_secret(
    host, fake_seam, settings, host_user
):
    settings.SITE_URL = "http://127.0.0.1:8000"
    fake_seam.add_device("Front door")
    connection = connection_create(
        host=host, vendor="seam", credentials={"api_key": "seam_testkey_fake"}
    )
    api = client_for(host_user)
    row = api.get(f"/api/v1/lock-connections/{connection.pk}/").json()
    assert row["webhook_url"] == f"http://127.0.0.1:8000/webhooks/seam/{connection.pk}/"
    assert (row["webhook_registered"], row["webhook_secret_set"]) == (False, False)
    url = f"/api/v1/lock-connections/{connection.pk}/webhook-secret/"
    refused = api.post(url, {"secret": "abc"}, format="json")
    assert refused.status_code == 400
    assert "whsec_" in str(refused.json())
    saved = api.post(url, {"secret": SEAM_SECRET}, format="json")
    assert saved.status_code == 200
    assert saved.json()["webhook_secret_set"] is True
    assert SEAM_SECRET not in saved.content.decode()
    connection.refresh_from_db()
    assert connection.credentials["webhook_secret"] == SEAM_SECRET


def test_secrets_are_checked_in_the_hosts_words():
    assert (
        webhook_secret_problem("seam", "") == "Paste the secret the lock app shows for the webhook."
    )
    assert "whsec_" in webhook_secret_problem("seam", "abcdef")
    assert "incomplete" in webhook_secret_problem("seam", "whsec_***")
    assert webhook_secret_problem("nuki", "0123456789abcdef0123") == ""
    assert "too short" in webhook_secret_problem("nuki", "abc")
