"""QA fixtures: the engine's world of simulated locks, reused from tests/accesscodes."""

from tests.accesscodes.conftest import clock, lock, prop, second_lock  # noqa: F401
