"""Nothing of one host can be reached through another host's selectors (SPEC §3)."""

import pytest

from accesscodes import selectors as code_selectors
from integrations import selectors as lock_selectors
from properties import selectors as property_selectors
from reservations import selectors as reservation_selectors
from tests.factories import (
    BackupCodeFactory,
    CodeEventFactory,
    LockCodeFactory,
    MatchFactory,
    ReservationFactory,
)


@pytest.fixture
def estate(host, other_host):
    """Each host with a property, a matched lock, a reservation and its codes."""
    result = {}
    for owner in (host, other_host):
        match = MatchFactory(lock__connection__host=owner)
        reservation = ReservationFactory(property=match.property)
        lock_code = LockCodeFactory(access_code__reservation=reservation, lock=match.lock)
        BackupCodeFactory(lock=match.lock)
        CodeEventFactory(access_code=lock_code.access_code)
        result[owner] = (match, reservation, lock_code)
    return result


def test_every_selector_returns_only_the_hosts_own_rows(host, other_host, estate):
    match, reservation, lock_code = estate[host]
    listings = {
        "properties": property_selectors.property_list(host=host),
        "connections": lock_selectors.connection_list(host=host),
        "locks": lock_selectors.lock_list(host=host),
        "matches": lock_selectors.match_list(host=host),
        "reservations": reservation_selectors.reservation_list(host=host),
        "access codes": code_selectors.access_code_list(host=host),
        "lock codes": code_selectors.lock_code_list(host=host),
        "backup codes": code_selectors.backup_code_list(host=host),
        "events": code_selectors.code_event_list(host=host),
    }
    for name, queryset in listings.items():
        assert queryset.count() == 1, name
    assert list(listings["reservations"]) == [reservation]


def test_another_hosts_ids_are_not_found(host, other_host, estate):
    foreign_match, foreign_reservation, foreign_lock_code = estate[other_host]
    lookups = [
        (property_selectors.property_get, foreign_match.property.pk),
        (lock_selectors.lock_get, foreign_match.lock.pk),
        (lock_selectors.connection_get, foreign_match.lock.connection.pk),
        (reservation_selectors.reservation_get, foreign_reservation.pk),
        (code_selectors.lock_code_get, foreign_lock_code.pk),
    ]
    for selector, pk in lookups:
        with pytest.raises(Exception) as error:
            selector(host=host, pk=pk)
        assert type(error.value).__name__ == "DoesNotExist"
