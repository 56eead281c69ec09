"""Messages carry PINs: encrypted at rest, masked for support without view_pin (SPEC §3)."""

import pytest
from django.db import connection

from messaging.models import Conversation, Message
from tests.factories import ReservationFactory

pytestmark = pytest.mark.django_db

PIN = "482613"


@pytest.fixture
def message():
    conversation = Conversation.objects.create(reservation=ReservationFactory())
    return Message.objects.create(
        conversation=conversation,
        channel="email",
        subject=f"Your code is {PIN}",
        body=f"Hello! Your door code: {PIN}",
    )


def message_admin_pages(message) -> list[str]:
    return [
        "/admin/messaging/message/",
        f"/admin/messaging/message/{message.pk}/change/",
        f"/admin/messaging/message/{message.pk}/history/",
        "/admin/messaging/conversation/",
        f"/admin/messaging/conversation/{message.conversation.pk}/change/",
        f"/admin/messaging/conversation/{message.conversation.pk}/history/",
    ]


def test_message_subject_and_body_are_not_in_clear_in_a_database_dump(message):
    # rule §3: messages that carry a PIN are stored encrypted
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM messaging_message")
        dump = repr(cursor.fetchall())
    assert PIN not in dump
    assert "door code" not in dump
    message.refresh_from_db()
    assert message.body == f"Hello! Your door code: {PIN}"


def test_a_support_agent_without_view_pin_sees_messages_with_pins_masked(
    client, support_agent, message
):
    # rule §3: masked in list, detail, page title and history
    client.force_login(support_agent)
    for url in message_admin_pages(message):
        response = client.get(url)
        assert response.status_code == 200, url
        page = response.content.decode()
        assert PIN not in page, url
    detail = client.get(f"/admin/messaging/message/{message.pk}/change/").content.decode()
    assert "Hello! Your door code: ••••" in detail


def test_the_admin_cannot_search_messages_by_pin(client, pin_viewer, message):
    client.force_login(pin_viewer)
    response = client.get("/admin/messaging/message/", {"q": PIN})
    assert response.status_code == 200
    assert response.context["cl"].result_count == 0
    by_guest = client.get(
        "/admin/messaging/message/", {"q": message.conversation.reservation.guest_name}
    )
    assert by_guest.context["cl"].result_count == 1


def test_a_pin_viewer_sees_message_bodies(client, pin_viewer, message):
    client.force_login(pin_viewer)
    response = client.get(f"/admin/messaging/message/{message.pk}/change/")
    assert f"Hello! Your door code: {PIN}" in response.content.decode()
    conversation = client.get(
        f"/admin/messaging/conversation/{message.conversation.pk}/change/"
    ).content.decode()
    assert f"Hello! Your door code: {PIN}" in conversation
