"""Issue #11's chaos run: a few hundred stays on simulated locks with random faults (offline
flips, rejections, timeouts after the write, writes acknowledged and never applied), stays
extended or cancelled mid-write, two real workers and beat, one worker killed mid-dispatch and
started again. Every stay must end with exactly its PIN on each of its locks and its current
window, nothing lost or doubled, no cancelled guest let in, no hand-made code touched.

Run alone: `DATABASE_URL=postgres://... REDIS_URL=redis://... python3 dev.py test -m chaos -s
tests/chaos/test_chaos.py` (or `.venv/bin/python -m tests.chaos.scenarios chaos`)."""

import pytest

from tests.chaos import scenarios
from tests.chaos.conftest import needs_services

pytestmark = [needs_services, pytest.mark.chaos]


@pytest.fixture(scope="module")
def result(request):
    """One chaos run (under 3 minutes), judged by the tests below; its counts go to the log."""
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        return scenarios.chaos()


def test_after_faults_and_a_killed_worker_every_stay_has_exactly_its_pin_on_each_lock(result):
    # rules S4, S7, S9, R4, C1, D2
    counts = result["counts"]
    assert sum(result["fault_hits"].values()) > 1, "no fault reached a vendor call"
    cancelled_stays = result["faults"]["played"]["stays_cancelled"]
    assert counts["expected"] == 2 * (result["stays"] - cancelled_stays)
    assert counts["lost"] == 0, result["problems"]
    assert counts["duplicated"] == 0, result["problems"]
    assert result["untracked_on_locks"] == 0, result["problems"]
    assert result["foreign_changed"] == 0, result["problems"]
    # A code that failed three times in the fault window waits R1's 2-hour retry, past the
    # run's end: late, not lost. It must be rare, and everything else exactly on the lock.
    assert counts["retry_scheduled"] <= counts["expected"] // 100, result["problems"]
    assert counts["ok"] + counts["retry_scheduled"] == counts["expected"], result["problems"]
    # Stays extended while their codes were being written keep their new window (S9, C1).
    assert counts["window_differs"] == 0, result["problems"]


def test_after_the_chaos_no_cancelled_stay_still_opens_a_lock(result):
    # rules C3, S9, R4
    assert result["counts"]["cancelled_still_open"] == 0, result["problems"]
    assert result["untracked_of_cancelled_stays"] == 0, result["problems"]
