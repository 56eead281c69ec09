"""PMS work runs on the `feeds` queue (CELERY_TASK_ROUTES: pms.tasks.*), never delaying code
work (F4, Q3)."""

from __future__ import annotations

from celery import shared_task

from pms import services, writeback
from pms.base import VendorError
from pms.models import PmsConnection, PmsEvent


@shared_task(
    autoretry_for=(VendorError,),
    retry_backoff=60,
    max_retries=5,
    acks_late=True,
)
def pms_event_process(event_id: int) -> str:
    """Fetch the reservation a webhook named and apply it (Q3)."""
    event = PmsEvent.objects.select_related("connection__host").filter(pk=event_id).first()
    if event is None or event.outcome != PmsEvent.Outcome.PENDING:
        return "done already"
    outcome = services.booking_sync(event.connection, event.reservation_remote_id)
    event.outcome = PmsEvent.Outcome.APPLIED if outcome == "applied" else PmsEvent.Outcome.IGNORED
    event.detail = outcome[:300]
    event.save(update_fields=["outcome", "detail", "updated_at"])
    return outcome


@shared_task
def pms_poll_all() -> int:
    """Every 15 minutes: what changed since the last good poll, per connection (Q3)."""
    return sum(
        services.connection_poll(connection)
        for connection in PmsConnection.objects.select_related("host")
    )


@shared_task
def pms_write_backs_due() -> int:
    """Every minute: PINs now on every lock of their stay go into the PMS (Q5)."""
    return writeback.write_backs_due()
