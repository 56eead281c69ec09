"""The Celery app; the beat schedule lives in settings (CELERY_BEAT_SCHEDULE)."""

import os

import click
from celery import Celery, bootsteps
from celery.beat import EmbeddedService

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "locksync.settings.local")

app = Celery("locksync")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


class BeatThread(bootsteps.StartStopStep):
    """Celery beat as a thread of the worker (`worker --beat-thread`).

    Celery's own `-B` forks beat into a second process of ~100 MiB; on one machine (dev.py
    run) a thread does the same job: beat only enqueues, the worker's pool runs the tasks.
    """

    label = "Beat (thread)"
    conditional = True

    def __init__(self, worker, beat_thread: bool = False, **kwargs):
        self.enabled = beat_thread
        super().__init__(worker, **kwargs)

    def create(self, worker):
        return EmbeddedService(
            worker.app,
            thread=True,
            schedule_filename=worker.schedule_filename,
            scheduler_cls=worker.scheduler,
        )


app.user_options["worker"].add(
    click.Option(
        ["--beat-thread"],
        is_flag=True,
        default=False,
        help="Run celery beat as a thread of this worker (one process instead of two).",
    )
)
app.steps["worker"].add(BeatThread)
