"""Thin Celery tasks for reservations: load ids, call a service. Each is safe to run twice."""

from celery import shared_task

from reservations.ical import ical_feed_import
from reservations.models import ICalFeed


@shared_task(ignore_result=True)
def ical_feeds_import() -> None:
    """Every 15 minutes: one import task per enabled feed, so one slow channel delays no other."""
    for feed_id in ICalFeed.objects.filter(enabled=True).values_list("pk", flat=True):
        ical_feed_import_one.delay(feed_id)


@shared_task(ignore_result=True)
def ical_feed_import_one(feed_id: int) -> None:
    feed = ICalFeed.objects.select_related("property__host").filter(pk=feed_id).first()
    if feed is not None and feed.enabled:
        ical_feed_import(feed=feed)
