"""A guest-page link is a credential like a PIN (SPEC §3 as amended): support without
accesscodes.view_pin never sees one in the admin, no log line carries one, and a message preview
shows a placeholder that opens nothing."""

import io
import logging

import pytest
from django.test import Client

from messaging.models import Conversation, Message
from tests.factories import ReservationFactory

pytestmark = pytest.mark.django_db

TOKEN = "Zk3q_9aB-tY7uVw2xLmN0pQrS4eF6hJ8"
LINK = f"http://127.0.0.1:8000/g/{TOKEN}/"


@pytest.fixture
def message():
    conversation = Conversation.objects.create(reservation=ReservationFactory())
    return Message.objects.create(
        conversation=conversation,
        channel="email",
        subject=f"Your page {LINK}",
        body=f"Hello! Everything about your stay: {LINK}\nSee you soon.",
    )


def pages(message) -> list[str]:
    return [
        "/admin/messaging/message/",
        f"/admin/messaging/message/{message.pk}/change/",
        f"/admin/messaging/conversation/{message.conversation.pk}/change/",
    ]


def test_support_without_view_pin_never_sees_a_guest_link(client, support_agent, message):
    # rule §3: message bodies in the admin carry no guest link for them
    client.force_login(support_agent)
    for url in pages(message):
        page = client.get(url).content.decode()
        assert TOKEN not in page, url
    detail = client.get(f"/admin/messaging/message/{message.pk}/change/").content.decode()
    assert "Everything about your stay: [guest link hidden]" in detail


def test_a_pin_viewer_still_reads_the_message_as_sent(client, pin_viewer, message):
    client.force_login(pin_viewer)
    detail = client.get(f"/admin/messaging/message/{message.pk}/change/").content.decode()
    assert LINK in detail


def _console_output(logger_name: str, write) -> str:
    """What the configured console handler writes while `write` logs through logger_name."""
    logger = logging.getLogger(logger_name)
    handlers = logger.handlers or logging.getLogger().handlers
    handler = next(h for h in handlers if isinstance(h, logging.StreamHandler))
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        write(logger)
    finally:
        handler.setStream(previous)
    return stream.getvalue()


@pytest.mark.parametrize("logger_name", ["django.server", "django.request", "messaging"])
def test_no_log_line_carries_a_guest_link(logger_name):
    # rule §3: runserver's access lines, Django's "Not Found" lines and our own
    output = _console_output(
        logger_name, lambda logger: logger.warning('"GET %s HTTP/1.1" 200 2817', f"/g/{TOKEN}/")
    )
    assert "GET [guest link hidden] HTTP/1.1" in output
    assert TOKEN not in output


def test_a_guest_page_request_is_logged_without_its_token(db):
    client = Client()
    output = _console_output(
        "django.request", lambda logger: client.get(f"/g/{TOKEN}/locks/1/help/")
    )
    assert TOKEN not in output
