"""Shared fixtures: named personas, and markers that skip without PostgreSQL or Redis."""

import os

import pytest
from django.contrib.auth.models import Permission

from tests.factories import HostMemberFactory, UserFactory


def pytest_collection_modifyitems(config, items):
    database_url = os.environ.get("DATABASE_URL", "")
    redis_url = os.environ.get("REDIS_URL", "")
    no_postgres = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://...")
    no_redis = pytest.mark.skip(reason="needs Redis: set REDIS_URL=redis://...")
    for item in items:
        if "postgres" in item.keywords and not database_url.startswith(("postgres", "pgsql")):
            item.add_marker(no_postgres)
        if "redis" in item.keywords and not redis_url.startswith("redis"):
            item.add_marker(no_redis)


@pytest.fixture
def host(db):
    """A host with one user, Hannah."""
    member = HostMemberFactory(user__username="hannah@example.com", host__name="Hannah's Homes")
    return member.host


@pytest.fixture
def host_user(host):
    return host.members.get().user


@pytest.fixture
def other_host(db):
    """Another host, Oscar, whose data Hannah must never reach."""
    member = HostMemberFactory(user__username="oscar@example.com", host__name="Oscar's Flats")
    return member.host


@pytest.fixture
def support_agent(db):
    """A support agent: staff in the admin, no host, cannot see PINs."""
    user = UserFactory(username="sam@locksync.test", is_staff=True)
    permissions = Permission.objects.filter(
        content_type__app_label__in=[
            "properties",
            "integrations",
            "reservations",
            "accesscodes",
            "messaging",
            "pms",
        ]
    ).exclude(codename="view_pin")
    user.user_permissions.set(permissions)
    return user


@pytest.fixture
def pin_viewer(support_agent):
    """A support agent allowed to reveal PINs (accesscodes.view_pin)."""
    support_agent.user_permissions.add(Permission.objects.get(codename="view_pin"))
    return support_agent
