"""Skip tests that need the code lifecycle engine's services until they are merged."""

import importlib

import pytest

ENGINE_NAMES = [
    ("reservations.services", "reservation_upsert"),
    ("reservations.services", "reservation_alter"),
    ("reservations.services", "reservation_move"),
    ("reservations.services", "reservation_cancel"),
    ("integrations.services", "match_create"),
    ("integrations.services", "match_delete"),
    ("accesscodes.services", "lock_resync"),
    ("accesscodes.selectors", "smartlock_codes_for_reservation"),
]


def _engine_present() -> bool:
    for module, name in ENGINE_NAMES:
        try:
            if not hasattr(importlib.import_module(module), name):
                return False
        except ImportError:
            return False
    return True


needs_engine = pytest.mark.skipif(
    not _engine_present(), reason="needs the engine's reservation/code services (not merged yet)"
)
