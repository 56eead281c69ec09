"""The real-process tests run only with PostgreSQL and Redis; see tests/chaos/harness.py."""

import pytest

from tests.chaos.harness import chaos_urls

needs_services = pytest.mark.skipif(
    not chaos_urls()[0],
    reason="real worker processes need PostgreSQL and Redis: set DATABASE_URL=postgres://... "
    "and REDIS_URL=redis://... (or CHAOS_DATABASE_URL / CHAOS_REDIS_URL)",
)
