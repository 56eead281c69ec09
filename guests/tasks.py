"""Thin Celery tasks for the guest's side. Each is safe to run twice."""

from celery import shared_task

from guests import prearrival


@shared_task(ignore_result=True)
def stay_checks_due() -> None:
    """The minute job: due pre-arrival checks and "not arrived" notices (SPEC H6, K5)."""
    if prearrival.stay_checks_run_due() >= prearrival.BATCH_SIZE:
        stay_checks_due.delay()
