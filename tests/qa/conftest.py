"""QA fixtures: the engine's world of simulated locks and the API clients, reused."""

from tests.accesscodes.conftest import clock, lock, prop, second_lock  # noqa: F401
from tests.api.conftest import _fresh_throttle_counts, api, other_api  # noqa: F401
