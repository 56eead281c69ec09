"""Connecting a lock app: credentials checked with the vendor, stored encrypted, locks imported."""

import pytest
from django.db import connection as db

from integrations.connections import (
    ConnectionNotSaved,
    connection_create,
    connection_disconnect,
    connection_reconnect,
    locks_import,
)
from integrations.models import Lock, LockConnection
from tests.fakes.ttlock import md5

pytestmark = pytest.mark.django_db


def test_connecting_nuki_imports_its_locks_with_capabilities(host, fake_nuki):
    front = fake_nuki.add_smartlock("Front door", battery=80)
    fake_nuki.add_smartlock("Garden gate")
    connection = connection_create(
        host=host, vendor="nuki", credentials={"api_token": "nuki-token"}
    )
    assert connection.state == LockConnection.State.CONNECTED
    assert connection.name == "Nuki"
    locks = {lock.name: lock for lock in connection.locks.all()}
    assert set(locks) == {"Front door", "Garden gate"}
    assert locks["Front door"].remote_id == str(front)
    assert locks["Front door"].battery_level == 80
    assert locks["Front door"].capabilities["supported_code_lengths"] == [6]


def test_credentials_are_stored_encrypted(host, fake_nuki):
    connection = connection_create(
        host=host, vendor="nuki", credentials={"api_token": "nuki-token"}
    )
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT credentials FROM integrations_lockconnection WHERE id = %s", [connection.pk]
        )
        [raw] = cursor.fetchone()
    assert "nuki-token" not in str(raw)
    connection.refresh_from_db()
    assert connection.credentials["api_token"] == "nuki-token"


def test_credentials_the_vendor_refuses_are_explained_and_nothing_is_stored(host, fake_nuki):
    with pytest.raises(ConnectionNotSaved) as refused:
        connection_create(host=host, vendor="nuki", credentials={"api_token": "wrong"})
    assert "Nuki did not accept these details" in refused.value.message
    assert not LockConnection.objects.filter(vendor="nuki").exists()


def test_missing_fields_are_named(host):
    with pytest.raises(ConnectionNotSaved) as refused:
        connection_create(host=host, vendor="ttlock", credentials={"username": "me"})
    assert "TTLock app password" in refused.value.message


def test_an_unreachable_vendor_is_not_mistaken_for_bad_credentials(host, settings):
    settings.NUKI_API_URL = "http://127.0.0.1:9"
    with pytest.raises(ConnectionNotSaved) as refused:
        connection_create(host=host, vendor="nuki", credentials={"api_token": "nuki-token"})
    assert "could not check" in refused.value.message
    assert not LockConnection.objects.exists()


def test_ttlock_keeps_tokens_and_the_md5_never_the_password(host, fake_ttlock):
    fake_ttlock.add_lock("Front door")
    connection = connection_create(
        host=host,
        vendor="ttlock",
        credentials={"username": "host@example.com", "password": "s3cret"},
    )
    connection.refresh_from_db()
    assert "password" not in connection.credentials
    assert connection.credentials["password_md5"] == md5("s3cret")
    assert connection.credentials["access_token"]
    assert connection.locks.count() == 1


def test_import_updates_by_remote_id_and_marks_vanished_locks(host, fake_nuki):
    front = fake_nuki.add_smartlock("Front door")
    gate = fake_nuki.add_smartlock("Garden gate")
    connection = connection_create(
        host=host, vendor="nuki", credentials={"api_token": "nuki-token"}
    )
    fake_nuki.smartlocks[front]["name"] = "Main entrance"
    del fake_nuki.smartlocks[gate]
    locks_import(connection=connection)
    assert Lock.objects.get(remote_id=str(front)).name == "Main entrance"
    assert Lock.objects.get(remote_id=str(gate)).is_present is False
    assert connection.locks.count() == 2


def test_reconnect_replaces_credentials_and_clears_the_disconnect(host, fake_seam):
    fake_seam.add_device("Front door")
    connection = connection_create(
        host=host, vendor="seam", credentials={"api_key": "seam_testkey_fake"}
    )
    connection_disconnect(connection=connection)
    connection.refresh_from_db()
    assert connection.state == LockConnection.State.DISCONNECTED
    assert connection.credentials == {}
    fake_seam.api_keys.add("seam_newkey")
    connection_reconnect(connection=connection, credentials={"api_key": "seam_newkey"})
    connection.refresh_from_db()
    assert connection.state == LockConnection.State.CONNECTED
    assert (connection.credentials["api_key"], connection.last_error) == ("seam_newkey", "")


def test_reconnect_with_refused_credentials_leaves_the_connection_as_it_was(host, fake_seam):
    connection = connection_create(
        host=host, vendor="seam", credentials={"api_key": "seam_testkey_fake"}
    )
    with pytest.raises(ConnectionNotSaved):
        connection_reconnect(connection=connection, credentials={"api_key": "seam_wrong"})
    connection.refresh_from_db()
    assert connection.credentials["api_key"] == "seam_testkey_fake"


def test_a_webhook_secret_survives_a_reconnect(host, fake_seam):
    from integrations.connections import connection_webhook_secret_set

    connection = connection_create(
        host=host, vendor="seam", credentials={"api_key": "seam_testkey_fake"}
    )
    connection_webhook_secret_set(connection=connection, secret=" whsec_abc ")
    connection_reconnect(connection=connection, credentials={"api_key": "seam_testkey_fake"})
    connection.refresh_from_db()
    assert connection.credentials["webhook_secret"] == "whsec_abc"
