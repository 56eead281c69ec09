"""A stay's timeline, planned at booking, against what the engine, the sender and the stay
checks then do as the clock runs through the stay (issue #25, SPEC S2, W1, D1, G2)."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from accesscodes import services as engine
from accesscodes.presentation import local_time
from guests.models import StayCheck
from guests.prearrival import stay_checks_run_due
from guests.timeline import stay_timeline
from integrations.models import SimulatedCode
from messaging.models import MessageRule
from messaging.services import message_rule_create
from messaging.tasks import messages_send_due
from properties.services import api_token_create
from reservations.services import reservation_cancel, reservation_upsert
from tests.factories import HostMemberFactory, MatchFactory

pytestmark = pytest.mark.django_db

MINUTE = timedelta(minutes=1)


@pytest.fixture
def clock():
    with time_machine.travel(datetime(2026, 6, 1, 9, 0, tzinfo=UTC), tick=False) as traveller:
        yield traveller


@pytest.fixture
def lock(prop):
    return MatchFactory(property=prop, lock__connection__host=prop.host).lock


@pytest.fixture
def stay(clock, prop, lock):
    message_rule_create(
        host=prop.host,
        name="Your code",
        body="Hi %guest_first_name%, your code is %smartlock_code%.",
        trigger=MessageRule.Trigger.BEFORE_CHECK_IN,
        days_before=1,
        properties=[prop],
    )
    check_in = prop.local_datetime(datetime(2026, 6, 7).date(), prop.checkin_time)
    reservation, _ = reservation_upsert(
        host=prop.host,
        external_id="T1",
        property=prop,
        guest_name="Ana Silva",
        guest_email="ana@example.com",
        check_in=check_in,
        check_out=check_in + timedelta(days=2),
        reservation_code="HMTIME01",
    )
    return reservation


def run_jobs() -> None:
    for _ in range(10):
        if not engine.dispatch_due() and not engine.delete_due():
            break
    messages_send_due()
    stay_checks_run_due()


def on_lock(lock) -> list[SimulatedCode]:
    return list(SimulatedCode.objects.filter(device__device_id=lock.remote_id, never_applies=False))


def planned(steps, kind: str):
    [step] = [step for step in steps if step.kind == kind]
    return step.at


def test_the_timeline_planned_at_booking_is_what_then_happens(
    clock, stay, lock, mailoutbox
):  # the timeline's times are the engine's, to the minute, across the whole stay
    steps = stay_timeline(reservation=stay)
    pin = stay.access_code.pin
    write_at, removal = planned(steps, "write"), planned(steps, "remove")
    works_from, works_until = planned(steps, "works_from"), planned(steps, "works_until")
    [message_at] = [step.at for step in steps if step.kind == "message"]
    checks = sorted(step.at for step in steps if step.kind == "check")
    assert write_at == works_from - timedelta(days=3)  # the simulator's lead time (S2)
    kinds = [step.kind for step in steps]
    assert kinds.index("write") + 1 == kinds.index("confirm")
    assert checks and all(check < stay.check_in for check in checks[:2])

    clock.move_to(write_at - MINUTE)
    run_jobs()
    assert on_lock(lock) == []
    clock.move_to(write_at + MINUTE)
    run_jobs()
    [code] = on_lock(lock)
    assert (code.pin, code.starts_at, code.ends_at) == (pin, works_from, works_until)

    clock.move_to(message_at - MINUTE)
    run_jobs()
    assert mailoutbox == []
    clock.move_to(message_at + MINUTE)
    run_jobs()
    [email] = mailoutbox
    assert pin in email.body

    for check_at in checks[:2]:
        clock.move_to(check_at + MINUTE)
        run_jobs()
    assert (
        StayCheck.objects.filter(reservation=stay, due_at__lte=checks[1])
        .exclude(state=StayCheck.State.DONE)
        .count()
        == 0
    )

    clock.move_to(removal - MINUTE)
    run_jobs()
    assert len(on_lock(lock)) == 1
    clock.move_to(removal + MINUTE)
    run_jobs()
    assert on_lock(lock) == []
    clock.shift(2 * MINUTE)
    run_jobs()  # the lock is read back to confirm the deletion (D1)
    assert [step for step in stay_timeline(reservation=stay) if not step.done] == []


def test_a_cancelled_stays_timeline_shows_its_cut_window_and_early_removal(
    clock, stay, lock
):  # rule C3: the plan follows the change at once
    clock.move_to(planned(stay_timeline(reservation=stay), "write") + MINUTE)
    run_jobs()
    reservation_cancel(reservation=stay)
    cancelled_at = stay.access_code.__class__.objects.get(pk=stay.access_code.pk).cancelled_at
    steps = stay_timeline(reservation=stay)
    assert planned(steps, "works_until") == cancelled_at
    assert planned(steps, "remove") == cancelled_at + timedelta(hours=24)
    assert not [step for step in steps if step.kind == "message" and not step.done]


def test_the_timeline_is_on_the_stays_page_and_in_the_api(client, clock, stay, prop):
    user = HostMemberFactory(host=prop.host).user
    client.force_login(user)
    page = client.get(reverse("reservation_detail", kwargs={"pk": stay.pk})).text
    assert "Timeline" in page
    assert f"PIN {stay.access_code.pin} is written to" in page
    write_at = planned(stay_timeline(reservation=stay), "write")
    assert local_time(write_at, prop) in page  # in the property's zone
    _, key = api_token_create(user=user, name="PMS")
    client.logout()
    answer = client.get(
        f"/api/v1/reservations/{stay.external_id}/timeline/",
        headers={"authorization": f"Token {key}"},
    )
    assert answer.status_code == 200, answer.content
    kinds = [step["kind"] for step in answer.json()]
    assert {"write", "works_from", "works_until", "remove", "message", "check_in"} <= set(kinds)


def test_simulate_entering_the_code_shows_what_the_guest_sees_at_the_door(
    client, clock, stay, prop, lock
):  # issue #25: before the write, at check-in once written, and after a cancel
    client.force_login(HostMemberFactory(host=prop.host).user)
    url = reverse("reservation_simulate_entry", kwargs={"pk": stay.pk})
    pin = stay.access_code.pin

    def door(when: str) -> str:
        page = client.post(url, {"when": when}, follow=True)
        return " ".join(str(message) for message in page.context["messages"])

    assert f"Typing {pin} now. Front door" in door("now")
    before = door("check_in")
    assert "the lock holds no code with this PIN" in before
    assert "It is due on the lock" in before
    clock.move_to(planned(stay_timeline(reservation=stay), "write") + MINUTE)
    run_jobs()
    assert "the door stays shut; the code works from" in door("now")
    assert "the door opens" in door("check_in")
    reservation_cancel(reservation=stay)
    run_jobs()
    assert "the door opens" not in door("check_in")
