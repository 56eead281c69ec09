"""'Simulate entering the code': what the guest would see at each simulated lock's keypad,
now or at check-in (issue #25). Only simulated locks have a keypad locksync can read."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_POST

from accesscodes.engine.provisioning import NOT_ON_LOCK
from accesscodes.presentation import local_time
from integrations.models import Lock
from integrations.simulator_keypad import KeypadAnswer, keypad_try
from locksync.dashboard import get_or_404, host_required
from reservations.selectors import reservation_get


def simulated_locks(reservation) -> list[Lock]:
    return list(
        Lock.objects.filter(
            matches__property=reservation.property, connection__vendor="simulator"
        ).order_by("name", "id")
    )


def _sentence(lock: Lock, answer: KeypadAnswer, where) -> str:
    if answer.opens:
        return f"{lock.name}: the door opens."
    if answer.why == "no_code":
        return f"{lock.name}: the door stays shut; the lock holds no code with this PIN."
    if answer.why == "not_taken":
        return f"{lock.name}: the door stays shut; the lock has not taken the code yet."
    if answer.why == "not_yet":
        return (
            f"{lock.name}: the door stays shut; the code works from "
            f"{local_time(answer.starts_at, where)}."
        )
    return (
        f"{lock.name}: the door stays shut; the code stopped working at "
        f"{local_time(answer.ends_at, where)}."
    )


@host_required
@require_POST
def reservation_simulate_entry(request: HttpRequest, pk: int) -> HttpResponse:
    reservation = get_or_404(reservation_get, host=request.host, pk=pk)
    access_code = getattr(reservation, "access_code", None)
    at_check_in = request.POST.get("when") == "check_in"
    at = reservation.check_in if at_check_in else timezone.now()
    moment = f"at check-in ({local_time(at, reservation.property)})" if at_check_in else "now"
    locks = simulated_locks(reservation)
    if access_code is None or not locks:
        messages.error(request, "This stay has no code on a simulated lock to try.")
        return redirect("reservation_detail", pk=reservation.pk)
    lock_codes = {lock_code.lock_id: lock_code for lock_code in access_code.lock_codes.all()}
    for lock in locks:
        lock_code = lock_codes.get(lock.pk)
        pin = (lock_code and lock_code.pin) or access_code.pin
        answer = keypad_try(device_id=lock.remote_id, pin=pin, at=at)
        text = f"Typing {pin} {moment}. {_sentence(lock, answer, reservation.property)}"
        if answer.why == "no_code" and lock_code and lock_code.state in NOT_ON_LOCK:
            due = lock_code.next_attempt_at
            text += (
                f" It is due on the lock {local_time(due, reservation.property)}." if due else ""
            )
        (messages.success if answer.opens else messages.warning)(request, text)
    return redirect("reservation_detail", pk=reservation.pk)
