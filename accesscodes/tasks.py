"""Thin Celery tasks: load ids, call a service. Each is safe to run twice."""

from celery import shared_task

from accesscodes import services
from accesscodes.healthcheck import healthcheck_run


@shared_task(ignore_result=True)
def lock_dispatch(lock_id: int) -> None:
    """Fast path: carry out what is due on one lock right after a change commits (SPEC S3)."""
    services.lock_process(lock_id=lock_id)


@shared_task(ignore_result=True)
def dispatch_due() -> None:
    """The minute sweep over due sends, follow-ups and retries; re-queues while work remains."""
    if services.dispatch_due() >= services.BATCH_SIZE:
        dispatch_due.delay()


@shared_task(ignore_result=True)
def delete_due() -> None:
    """The deletion sweep: our codes past their deletion time, backup codes to rotate."""
    if services.delete_due() >= services.BATCH_SIZE:
        delete_due.delay()


@shared_task(ignore_result=True)
def healthcheck() -> None:
    healthcheck_run()


@shared_task(ignore_result=True)
def reconcile_locks() -> None:
    """Daily: re-set our codes missing from locks, record codes changed by hand (SPEC Y2)."""
    services.locks_reconcile_all()
