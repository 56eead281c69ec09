"""Thin Celery tasks: load ids, call a service. Each is safe to run twice.

A lock pass stops taking codes after `PASS_BUDGET` (30 s); the soft time limit is the
backstop that ends a pass stuck in a vendor call before its lease (90 s) runs out (S5)."""

from celery import shared_task

from accesscodes import services
from accesscodes.healthcheck import healthcheck_run

PASS_SOFT_LIMIT = 60
PASS_HARD_LIMIT = 80


@shared_task(ignore_result=True, soft_time_limit=PASS_SOFT_LIMIT, time_limit=PASS_HARD_LIMIT)
def lock_dispatch(lock_id: int) -> None:
    """Fast path: carry out what is due on one lock right after a change commits (SPEC S3)."""
    services.lock_process(lock_id=lock_id)


@shared_task(ignore_result=True)
def dispatch_due() -> None:
    """The minute sweep: one pass task per lock with due work, so workers take locks in
    parallel (one writer per lock, the lease); re-queues while more locks are due."""
    lock_ids = services.due_lock_ids()
    for lock_id in lock_ids:
        lock_dispatch.delay(lock_id)
    services.pin_announcements_due()
    if len(lock_ids) >= services.BATCH_SIZE:
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
    """Daily: re-set our codes missing from locks, backup codes too (SPEC Y2, H5)."""
    services.locks_reconcile_all()
