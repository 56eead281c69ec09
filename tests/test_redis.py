"""With REDIS_URL set, Redis serves as Django's cache and as Celery's broker."""

import uuid

import pytest
from celery import Celery
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.core.cache import caches

pytestmark = pytest.mark.redis


def test_django_cache_is_redis_and_stores_values():
    cache = caches["default"]
    assert cache.__class__.__name__ == "RedisCache"
    key = f"locksync-test-{uuid.uuid4().hex}"
    cache.set(key, {"answer": 42}, timeout=30)
    try:
        assert cache.get(key) == {"answer": 42}
    finally:
        cache.delete(key)
    assert cache.get(key) is None


def test_a_task_round_trips_through_the_redis_broker_to_a_real_worker():
    redis_url = settings.TEST_REDIS_URL
    app = Celery("locksync-redis-test", broker=redis_url, backend=redis_url)
    # A queue of its own, so a locksync worker running on the same Redis cannot take the task.
    queue = f"locksync-test-{uuid.uuid4().hex}"
    app.conf.update(
        task_default_queue=queue,
        task_always_eager=False,
        broker_connection_retry_on_startup=False,
        result_expires=60,
    )

    @app.task(name="tests.add", bind=True)
    def add(task, x: int, y: int) -> tuple[int, bool, str]:
        return x + y, task.request.is_eager, task.request.delivery_info["routing_key"]

    assert app.connection().transport.driver_type == "redis"
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        total, eager, routing_key = add.delay(2, 3).get(timeout=10)
    # The answer came back from the worker through Redis, not from an eager call.
    assert total == 5
    assert eager is False
    assert routing_key == queue
