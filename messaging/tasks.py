"""Thin Celery tasks for guest messages. Each is safe to run twice."""

from celery import shared_task

from messaging import services


@shared_task(ignore_result=True)
def messages_send_due() -> None:
    """Every minute: send what is due; re-queue while a full batch was due."""
    if services.messages_send_due() >= services.BATCH_SIZE:
        messages_send_due.delay()


@shared_task(ignore_result=True)
def message_send(scheduled_id: int) -> None:
    """Fast path for a message due at once (new or backup code); the sweep is the safety net."""
    services.message_send(scheduled_id=scheduled_id)
