"""Messages written in clear before encryption are encrypted by the migration (SPEC §3)."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from messaging.models import Conversation, Message
from tests.factories import ReservationFactory

BEFORE = [("messaging", "0002_rules_conversations_scheduled_messages")]
AFTER = [("messaging", "0003_encrypt_message_subject_and_body")]


def migrate(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


@pytest.mark.django_db(transaction=True)
def test_messages_stored_in_clear_are_encrypted_by_the_migration_and_read_back_the_same():
    conversation = Conversation.objects.create(reservation=ReservationFactory())
    migrate(BEFORE)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO messaging_message (created_at, updated_at, conversation_id, "
                "direction, channel, recipient, subject, body, state, error) VALUES "
                "(CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, %s, 'out', 'email', 'g@example.com', "
                "'Code 739104', 'Your code: 739104', 'sent', '')",
                [conversation.pk],
            )
    finally:
        migrate(AFTER)
    with connection.cursor() as cursor:
        cursor.execute("SELECT subject, body FROM messaging_message")
        dump = repr(cursor.fetchall())
    assert "739104" not in dump
    message = Message.objects.get()
    assert (message.subject, message.body) == ("Code 739104", "Your code: 739104")
