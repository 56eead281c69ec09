"""A support agent deletes a lock or a lock connection in the admin while codes are on it."""

from datetime import timedelta

import pytest
from django.urls import reverse

from accesscodes.models import LockCode
from integrations.models import Lock, LockConnection
from tests.accesscodes.conftest import settle
from tests.qa.helpers import book, on_lock

pytestmark = pytest.mark.django_db


@pytest.fixture
def guest_on_lock(clock, prop, lock):
    reservation = book(prop, starts_in=timedelta(hours=2))
    settle()
    assert set(on_lock(lock)) == {"Ana Silva"}
    return reservation


def test_a_lock_holding_guest_codes_cannot_be_deleted_in_the_admin(
    client, support_agent, lock, guest_on_lock
):  # rules D1, D2: a deleted lock's codes would stay on the door for ever
    client.force_login(support_agent)
    url = reverse("admin:integrations_lock_delete", args=[lock.pk])
    response = client.post(url, {"post": "yes"})
    assert response.status_code == 403
    assert Lock.objects.filter(pk=lock.pk).exists()
    assert LockCode.objects.filter(lock=lock).exclude(state="removed").exists()


def test_a_connection_whose_locks_hold_guest_codes_cannot_be_deleted_in_the_admin(
    client, support_agent, lock, guest_on_lock
):  # rules D1, L3
    client.force_login(support_agent)
    url = reverse("admin:integrations_lockconnection_delete", args=[lock.connection_id])
    response = client.post(url, {"post": "yes"})
    assert response.status_code == 403
    assert LockConnection.objects.filter(pk=lock.connection_id).exists()


def test_the_bulk_delete_action_leaves_locks_with_codes_alone(
    client, support_agent, lock, guest_on_lock
):  # rule D1
    client.force_login(support_agent)
    response = client.post(
        reverse("admin:integrations_lock_changelist"),
        {"action": "delete_selected", "_selected_action": [lock.pk], "post": "yes"},
    )
    assert response.status_code in (200, 302, 403)
    assert Lock.objects.filter(pk=lock.pk).exists()


def test_a_lock_without_codes_of_ours_can_be_deleted(client, support_agent, lock):
    client.force_login(support_agent)
    lock.matches.all().delete()
    url = reverse("admin:integrations_lock_delete", args=[lock.pk])
    response = client.post(url, {"post": "yes"})
    assert response.status_code == 302
    assert not Lock.objects.filter(pk=lock.pk).exists()
