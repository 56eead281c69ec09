"""How times, reasons and stay phases read (SPEC V4, V5): property time with the zone named,
across daylight-saving changes; reasons as sentences; phases at their boundaries."""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
import time_machine

from accesscodes.presentation import local_time, local_time_short, reason_sentence, stay_phase
from integrations.base import Reason


def test_a_new_york_check_in_reads_16_00_on_both_sides_of_the_dst_change():  # V5, W1
    before = datetime(2026, 3, 7, 21, 0, tzinfo=UTC)  # EST, UTC-5
    after = datetime(2026, 3, 9, 20, 0, tzinfo=UTC)  # EDT, UTC-4
    assert local_time(before, "America/New_York") == "Sat 7 Mar 2026, 16:00 (America/New_York)"
    assert local_time(after, "America/New_York") == "Mon 9 Mar 2026, 16:00 (America/New_York)"
    assert local_time_short(before, "America/New_York") == "Sat 7 Mar, 16:00 EST"
    assert local_time_short(after, "America/New_York") == "Mon 9 Mar, 16:00 EDT"


def test_a_property_object_or_an_unknown_zone_still_names_a_zone():
    moment = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    lisbon = SimpleNamespace(time_zone="Europe/Lisbon")
    assert local_time(moment, lisbon).endswith("13:00 (Europe/Lisbon)")
    assert local_time(moment, "Not/AZone").endswith("12:00 (UTC)")
    assert local_time(None, lisbon) == "—"


@pytest.mark.parametrize("reason", list(Reason))
def test_every_failure_reason_reads_as_a_sentence(reason):  # V5, R2
    sentence = reason_sentence(reason.value)
    assert sentence.startswith("the ") and "_" not in sentence


def test_a_reason_with_vendor_detail_keeps_the_detail_in_brackets():
    assert reason_sentence("lock_offline: simulated failure") == (
        "the lock was offline (simulated failure)"
    )
    assert reason_sentence("made room for a nearer stay") == "made room for a nearer stay"
    assert reason_sentence("") == ""


CHECK_IN = datetime(2026, 5, 1, 15, 0, tzinfo=UTC)
CHECK_OUT = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)


@pytest.mark.parametrize(
    ("moment", "phase"),
    [
        (CHECK_IN - SECOND, "upcoming"),
        (CHECK_IN, "in_stay"),
        (CHECK_OUT - SECOND, "in_stay"),
        (CHECK_OUT, "past"),
    ],
)
def test_a_stays_phase_changes_at_check_in_and_at_checkout(moment, phase):  # V4
    stay = SimpleNamespace(status="accepted", check_in=CHECK_IN, check_out=CHECK_OUT)
    with time_machine.travel(moment, tick=False):
        assert stay_phase(stay) == phase


def test_cancelled_and_inquiry_stays_are_told_apart_whatever_the_time():  # V4
    for status in ("cancelled", "inquiry"):
        stay = SimpleNamespace(status=status, check_in=CHECK_IN, check_out=CHECK_OUT)
        assert stay_phase(stay, CHECK_IN + SECOND) == status
