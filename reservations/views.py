"""Dashboard pages for reservations and the inbox with its Property Access panel (SPEC V1–V3)."""

import secrets

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accesscodes.models import LockCode
from accesscodes.selectors import lock_code_get, reservation_access
from accesscodes.services import EngineError, lock_code_retry_now, lock_resync
from integrations.selectors import lock_get
from locksync.dashboard import get_or_404, host_required
from messaging.selectors import conversation_messages
from properties.selectors import property_list
from reservations.forms import ReservationForm
from reservations.models import Reservation
from reservations.selectors import reservation_get, reservation_list_with_codes
from reservations.services import reservation_cancel, reservation_upsert

FILTERS = [
    ("current", "Current and upcoming"),
    ("upcoming", "Upcoming"),
    ("in_stay", "In stay"),
    ("failing", "Failing"),
    ("all", "All"),
]


def code_summary(reservation: Reservation) -> tuple[str, str]:
    """One line on the stay's codes for the list, and a tone (ok, warn, bad, muted)."""
    if reservation.status != Reservation.Status.ACCEPTED:
        return reservation.get_status_display(), "muted"
    access_code = getattr(reservation, "access_code", None)
    lock_codes = [
        lc
        for lc in (access_code.lock_codes.all() if access_code else [])
        if lc.state != LockCode.State.REMOVED
    ]
    if not lock_codes:
        return "no lock matched", "muted"
    failed = [lc.lock.name for lc in lock_codes if lc.state == LockCode.State.FAILED]
    if failed:
        return "failed on " + ", ".join(failed), "bad"
    set_count = sum(lc.state == LockCode.State.SET for lc in lock_codes)
    if set_count == len(lock_codes):
        return f"set on {set_count} of {len(lock_codes)} locks", "ok"
    if any(lc.state == LockCode.State.SETTING for lc in lock_codes):
        return f"sending (set on {set_count} of {len(lock_codes)})", "warn"
    if any(lc.state == LockCode.State.WAITING_FOR_SPACE for lc in lock_codes):
        return "waiting for space", "warn"
    return f"scheduled (set on {set_count} of {len(lock_codes)})", "muted"


@host_required
def reservation_list_view(request: HttpRequest) -> HttpResponse:
    show = request.GET.get("show", "current")
    if show not in dict(FILTERS):
        show = "current"
    reservations = list(reservation_list_with_codes(host=request.host, show=show))
    for reservation in reservations:
        reservation.code_summary, reservation.code_tone = code_summary(reservation)
    context = {"reservations": reservations, "filters": FILTERS, "show": show}
    return render(request, "reservations/list.html", context)


@host_required
def reservation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    reservation = get_or_404(reservation_get, host=request.host, pk=pk)
    access = reservation_access(host=request.host, reservation=reservation)
    return render(
        request, "reservations/detail.html", {"reservation": reservation, "access": access}
    )


@host_required
def reservation_new(request: HttpRequest) -> HttpResponse:
    """Enter a stay by hand (source "manual"); its code follows at once (SPEC S1)."""
    properties = list(property_list(host=request.host))
    form = ReservationForm(request.POST or None, properties=properties)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            reservation, _ = reservation_upsert(
                host=request.host,
                external_id=f"manual-{secrets.token_hex(6)}",
                property=data["property_obj"],
                guest_name=data["guest_name"],
                guest_phone=data["guest_phone"],
                guest_email=data["guest_email"],
                reservation_code=data["reservation_code"],
                check_in=data["check_in"],
                check_out=data["check_out"],
                source=Reservation.Source.MANUAL,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"The stay of {reservation.guest_name} was added.")
            return redirect("conversation", pk=reservation.pk)
    return render(request, "reservations/form.html", {"form": form, "properties": properties})


# --- inbox ---------------------------------------------------------------------------------


@host_required
def inbox(request: HttpRequest) -> HttpResponse:
    reservations = list(reservation_list_with_codes(host=request.host, show="current"))
    for reservation in reservations:
        reservation.code_summary, reservation.code_tone = code_summary(reservation)
    return render(request, "reservations/inbox.html", {"reservations": reservations})


@host_required
def conversation(request: HttpRequest, pk: int) -> HttpResponse:
    reservation = get_or_404(reservation_get, host=request.host, pk=pk)
    context = {
        "reservation": reservation,
        "access": reservation_access(host=request.host, reservation=reservation),
        "conversation_messages": conversation_messages(host=request.host, reservation=reservation),
    }
    return render(request, "reservations/conversation.html", context)


def _panel(request: HttpRequest, reservation: Reservation, *, notice: str = "", ok: bool = True):
    context = {
        "reservation": reservation,
        "access": reservation_access(host=request.host, reservation=reservation),
        "notice": notice,
        "notice_ok": ok,
    }
    return render(request, "reservations/_access_panel.html", context)


@host_required
def access_panel(request: HttpRequest, pk: int) -> HttpResponse:
    """The Property Access panel alone, for htmx to refresh in place."""
    return _panel(request, get_or_404(reservation_get, host=request.host, pk=pk))


def _after_action(request: HttpRequest, reservation: Reservation, text: str, ok: bool):
    if request.htmx:
        return _panel(request, reservation, notice=text, ok=ok)
    (messages.success if ok else messages.error)(request, text)
    return redirect("conversation", pk=reservation.pk)


@host_required
@require_POST
def lock_code_retry(request: HttpRequest, pk: int) -> HttpResponse:
    """Retry now (SPEC V2): the code is due at once; a worker sends it and the panel shows
    the progress. The request never waits on the vendor."""
    lock_code = get_or_404(lock_code_get, host=request.host, pk=pk)
    reservation = lock_code.access_code.reservation
    try:
        lock_code = lock_code_retry_now(lock_code=lock_code, user=request.user)
    except EngineError as error:
        return _after_action(request, reservation, str(error), False)
    text = f"Trying again on {lock_code.lock.name} now; this panel shows the progress."
    return _after_action(request, reservation, text, True)


@host_required
@require_POST
def conversation_lock_resync(request: HttpRequest, pk: int, lock_pk: int) -> HttpResponse:
    """Resync a lock from the panel (SPEC V2, Y1)."""
    reservation = get_or_404(reservation_get, host=request.host, pk=pk)
    lock = get_or_404(lock_get, host=request.host, pk=lock_pk)
    lock_resync(lock=lock, user=request.user)
    text = f"Resyncing {lock.name}: our codes are being pushed to it again."
    return _after_action(request, reservation, text, True)


@host_required
def reservation_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm, then cancel: unsent codes are dropped, codes on locks removed (SPEC C3)."""
    reservation = get_or_404(reservation_get, host=request.host, pk=pk)
    if request.method == "POST":
        reservation_cancel(reservation=reservation)
        messages.success(request, f"The stay of {reservation.guest_name} was cancelled.")
        return redirect("reservation_detail", pk=reservation.pk)
    access = reservation_access(host=request.host, reservation=reservation)
    on_locks = [lc for lc in access["lock_codes"] if lc.vendor_code_id and lc.state != "removed"]
    return render(
        request,
        "reservations/cancel_confirm.html",
        {"reservation": reservation, "on_locks": on_locks},
    )
