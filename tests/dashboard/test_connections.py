"""Connecting, reconnecting and disconnecting lock apps from the dashboard (SPEC L3)."""

from django.urls import reverse

from integrations.models import LockConnection
from tests.factories import SimulatedAccountFactory, SimulatedDeviceFactory


def test_the_connect_page_offers_every_vendor_and_asks_for_its_credentials(hannah):
    choices = hannah.get(reverse("connection_new")).text
    for label in ("Simulator", "Nuki", "Seam", "TTLock"):
        assert label in choices
    ttlock = hannah.get(reverse("connection_new"), {"vendor": "ttlock"}).text
    assert "TTLock app username" in ttlock and 'type="password"' in ttlock


def test_the_connect_page_names_the_vendor(hannah):
    # issue #24 wall 2: the page read "Connect" and "We check these details with before saving"
    ttlock = hannah.get(reverse("connection_new"), {"vendor": "ttlock"}).text
    assert "<h1>Connect TTLock</h1>" in ttlock
    assert "We check these details with TTLock before saving them" in ttlock
    assert 'name="vendor" value="ttlock"' in ttlock


def test_connecting_the_simulator_imports_its_locks(hannah, host):
    account = SimulatedAccountFactory(api_key="demo-hannah")
    SimulatedDeviceFactory(account=account, name="Front door")
    response = hannah.post(
        reverse("connection_new"), {"vendor": "simulator", "api_key": "demo-hannah", "name": ""}
    )
    connection = LockConnection.objects.get(host=host)
    assert response.url == reverse("connection_detail", kwargs={"pk": connection.pk})
    page = hannah.get(response.url).text
    assert "1 lock found" in page and "Front door" in page and "connected" in page
    assert "demo-hannah" not in page  # credentials never echoed


def test_a_wrong_key_is_refused_and_nothing_is_saved(hannah, host):
    response = hannah.post(
        reverse("connection_new"), {"vendor": "simulator", "api_key": "nope", "name": ""}
    )
    assert response.status_code == 200
    assert "did not accept these details" in response.text
    assert not LockConnection.objects.filter(host=host).exists()


def test_disconnect_asks_first_then_reconnect_brings_the_account_back(hannah, estate):
    connection = estate.lock.connection
    url = reverse("connection_disconnect", kwargs={"pk": connection.pk})
    assert "Disconnect" in hannah.get(url).text
    connection.refresh_from_db()
    assert connection.state == LockConnection.State.CONNECTED
    hannah.post(url)
    connection.refresh_from_db()
    assert connection.state == LockConnection.State.DISCONNECTED
    detail = hannah.get(reverse("connection_detail", kwargs={"pk": connection.pk})).text
    assert "This account is disconnected" in detail
    lock_page = hannah.get(reverse("lock_detail", kwargs={"pk": estate.lock.pk})).text
    assert "account is disconnected" in lock_page

    from integrations.models import SimulatedDevice

    api_key = SimulatedDevice.objects.get(device_id=estate.lock.remote_id).account.api_key
    hannah.post(reverse("connection_reconnect", kwargs={"pk": connection.pk}), {"api_key": api_key})
    connection.refresh_from_db()
    assert connection.state == LockConnection.State.CONNECTED
