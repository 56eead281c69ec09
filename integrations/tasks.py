"""Thin Celery tasks for lock and account health; the work is in integrations.health."""

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from integrations.health import lock_states_refresh
from integrations.models import LockConnection

REFRESH_EVERY = timedelta(minutes=15)  # SPEC L1
BATCH_SIZE = 200


@shared_task
def lock_states_refresh_due() -> int:
    """Queue a refresh for a bounded batch of connections not refreshed for 15 minutes."""
    # Beat runs this every 5 minutes; a connection is due a minute early so a tick that lands
    # just short of 15 minutes does not push it to 20.
    due_before = timezone.now() - REFRESH_EVERY + timedelta(minutes=1)
    connection_ids = list(
        LockConnection.objects.filter(state=LockConnection.State.CONNECTED)
        .exclude(last_synced_at__gte=due_before)
        .order_by("last_synced_at", "id")
        .values_list("id", flat=True)[:BATCH_SIZE]
    )
    for connection_id in connection_ids:
        lock_states_refresh_task.delay(connection_id)
    return len(connection_ids)


@shared_task
def lock_states_refresh_task(connection_id: int) -> None:
    connection = (
        LockConnection.objects.filter(pk=connection_id, state=LockConnection.State.CONNECTED)
        .select_related("host")
        .first()
    )
    if connection is not None:
        lock_states_refresh(connection=connection)
