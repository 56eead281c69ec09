"""Support staff see message bodies (which may hold a PIN) only with view_pin (SPEC §3)."""

import pytest

from messaging.models import Conversation, Message
from tests.factories import ReservationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def message():
    conversation = Conversation.objects.create(reservation=ReservationFactory())
    return Message.objects.create(
        conversation=conversation, channel="email", subject="Your code", body="Your code: 482613"
    )


def test_a_support_agent_without_view_pin_does_not_see_message_bodies(
    client, support_agent, message
):
    client.force_login(support_agent)
    for url in (
        f"/admin/messaging/message/{message.pk}/change/",
        f"/admin/messaging/conversation/{message.conversation.pk}/change/",
    ):
        response = client.get(url)
        assert response.status_code == 200
        assert "482613" not in response.content.decode()


def test_a_pin_viewer_sees_message_bodies(client, pin_viewer, message):
    client.force_login(pin_viewer)
    response = client.get(f"/admin/messaging/message/{message.pk}/change/")
    assert "482613" in response.content.decode()
