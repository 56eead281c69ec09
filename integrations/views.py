"""Dashboard pages for lock connections and locks. Reads through selectors taking the host."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accesscodes.selectors import lock_our_codes
from accesscodes.services import lock_resync
from integrations.base import CodeStatus, Feature, VendorError
from integrations.connections import (
    ConnectionNotSaved,
    connection_create,
    connection_disconnect,
    connection_reconnect,
    connection_webhook_secret_set,
    connection_webhook_url,
    locks_import,
)
from integrations.forms import CodeSlotsForm, WebhookSecretForm, credentials_form_class
from integrations.health import clock_notices
from integrations.models import LockConnection
from integrations.registry import ADAPTERS, adapter_for
from integrations.selectors import (
    connection_get,
    connection_list,
    lock_get,
    lock_list,
    match_list,
)
from integrations.services import lock_code_slots_set
from locksync.dashboard import get_or_404, host_required

LOW_BATTERY = 20  # percent; below it the host is told to replace the batteries (SPEC L2)


def lock_notices(*, lock, offline_count: int) -> list[dict]:
    """What the host should do about a lock, in the FAQ's words (SPEC L2, L3)."""
    notices = []
    if lock.connection.state == LockConnection.State.DISCONNECTED:
        notices.append(
            {
                "title": f"Your {lock.connection.get_vendor_display()} account is disconnected",
                "advice": [
                    "Codes cannot be set or removed on this lock until you reconnect the "
                    "account; reconnecting resyncs every lock.",
                ],
                "reconnect": lock.connection,
            }
        )
    if not lock.online:
        advice = []
        if lock.battery_level is not None and lock.battery_level < LOW_BATTERY:
            advice.append("Replace the battery: it is low.")
        else:
            advice.append("Replace the battery if it is low.")
        if offline_count > 1:
            advice.append(
                "Several of your locks are offline: check the hub and improve the wifi "
                "connection there."
            )
        else:
            advice.append("Only this lock is affected: move the hub closer to the lock.")
        notices.append({"title": f"{lock.name} is offline", "advice": advice})
    elif lock.battery_level is not None and lock.battery_level < LOW_BATTERY:
        notices.append(
            {
                "title": f"{lock.name}'s battery is low ({lock.battery_level}%)",
                "advice": ["Replace the battery soon so codes keep reaching the lock."],
            }
        )
    return notices + clock_notices(lock=lock)


@host_required
def lock_list_view(request: HttpRequest) -> HttpResponse:
    locks = list(lock_list(host=request.host, credentials=False).filter(is_present=True))
    properties_by_lock: dict[int, list] = {}
    for match in match_list(host=request.host).order_by("property__name"):
        properties_by_lock.setdefault(match.lock_id, []).append(match.property)
    for lock in locks:
        lock.matched_properties = properties_by_lock.get(lock.pk, [])
    offline = sum(1 for lock in locks if not lock.online)
    return render(request, "integrations/lock_list.html", {"locks": locks, "offline": offline})


@host_required
def lock_detail(request: HttpRequest, pk: int) -> HttpResponse:
    lock = get_or_404(lock_get, host=request.host, pk=pk)
    matches = list(match_list(host=request.host).filter(lock=lock).order_by("property__name"))
    offline_count = (
        lock_list(host=request.host)
        .filter(connection=lock.connection, online=False, is_present=True)
        .count()
    )
    context = {
        "lock": lock,
        "matches": matches,
        # The lock's times read in its (first) property's zone, named (SPEC V5).
        "zone": matches[0].property.time_zone if matches else "UTC",
        "notices": lock_notices(lock=lock, offline_count=offline_count),
        "slots_form": _slots_form(lock),
        **_live_codes(request.host, lock),
    }
    return render(request, "integrations/lock_detail.html", context)


STATUS_LABELS = {
    CodeStatus.SET: "on the lock",
    CodeStatus.SETTING: "being set",
    # Seam holds a time-bound code until its programming time, shortly before the stay.
    CodeStatus.UNSET: "scheduled at the vendor",
    CodeStatus.REMOVING: "being removed",
}


def remote_status_label(remote) -> str:
    """A vendor's code status in the host's words (the panel and the API say the same)."""
    if remote.error:
        return "failed: " + remote.error.value.replace("_", " ")
    return STATUS_LABELS.get(remote.status, str(remote.status))


def _slots_form(lock, data=None) -> CodeSlotsForm | None:
    """The slot-range form, on locks whose codes live in numbered slots."""
    adapter = ADAPTERS.get(lock.connection.vendor)
    if adapter is None or Feature.CODE_SLOTS not in adapter.features:
        return None
    initial = {"first": lock.code_slot_first, "last": lock.code_slot_last}
    return CodeSlotsForm(data, initial=initial)


@host_required
@require_POST
def lock_code_slots_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Change the slots locksync may use on a Z-Wave lock."""
    lock = get_or_404(lock_get, host=request.host, pk=pk)
    form = _slots_form(lock, request.POST)
    if form is None:
        messages.error(request, "This lock's codes do not live in numbered slots.")
        return redirect("lock_detail", pk=lock.pk)
    if form.is_valid():
        try:
            lock_code_slots_set(
                lock=lock, first=form.cleaned_data["first"], last=form.cleaned_data["last"]
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request, f"locksync now uses slots {lock.code_slot_first}–{lock.code_slot_last}."
            )
            return redirect("lock_detail", pk=lock.pk)
    matches = list(match_list(host=request.host).filter(lock=lock).order_by("property__name"))
    context = {
        "lock": lock,
        "matches": matches,
        "zone": matches[0].property.time_zone if matches else "UTC",
        "notices": [],
        "slots_form": form,
        "codes": None,
        "codes_error": "Fix the slot range first.",
    }
    return render(request, "integrations/lock_detail.html", context, status=400)


def _live_codes(host, lock) -> dict:
    """Read the lock's codes from the vendor now; ours are those whose id we hold."""
    try:
        remote_codes = adapter_for(lock.connection).list_codes(lock.remote_id)
    except NotImplementedError:
        return {"codes": None, "codes_error": "This lock app does not let us list its codes."}
    except VendorError as error:
        return {
            "codes": None,
            "codes_error": f"We could not read the codes from the lock ({error.message}).",
        }
    listed = [remote.remote_id for remote in remote_codes if remote.remote_id]
    ours = lock_our_codes(host=host, lock=lock, vendor_code_ids=listed)
    codes = [
        {
            "remote": remote,
            "ours": remote.remote_id in ours,
            "for": ours.get(remote.remote_id),
            "status": remote_status_label(remote),
        }
        for remote in remote_codes
    ]
    codes.sort(key=lambda code: (not code["ours"], code["remote"].name))
    return {"codes": codes, "codes_error": ""}


@host_required
@require_POST
def lock_resync_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Re-push every code of ours that belongs on the lock (SPEC Y1)."""
    lock = get_or_404(lock_get, host=request.host, pk=pk)
    # Marks our codes due and queues a pass on commit: the request never waits on the vendor.
    lock_resync(lock=lock, user=request.user)
    text, ok = f"Resyncing {lock.name}: our codes are being pushed to it again.", True
    if request.htmx:
        return render(request, "integrations/_resync_result.html", {"text": text, "ok": ok})
    (messages.success if ok else messages.error)(request, text)
    return redirect("lock_detail", pk=lock.pk)


@host_required
def connection_list_view(request: HttpRequest) -> HttpResponse:
    connections = list(connection_list(host=request.host, credentials=False))
    counts: dict[int, int] = {}
    for lock in lock_list(host=request.host, credentials=False).filter(is_present=True):
        counts[lock.connection_id] = counts.get(lock.connection_id, 0) + 1
    for connection in connections:
        connection.lock_count = counts.get(connection.pk, 0)
    return render(
        request,
        "integrations/connection_list.html",
        {"connections": connections, "can_connect": True},
    )


# --- connecting lock apps -----------------------------------------------------------------


@host_required
def connection_new(request: HttpRequest) -> HttpResponse:
    """Pick a lock app, then fill in the credentials it asks for."""
    adapter = ADAPTERS.get(request.POST.get("vendor") or request.GET.get("vendor", ""))
    if adapter is None:
        vendors = [(key, cls.label) for key, cls in ADAPTERS.items()]
        return render(request, "integrations/connection_vendors.html", {"vendors": vendors})
    form = credentials_form_class(adapter, with_name=True)(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        name = data.pop("name", "")
        try:
            connection = connection_create(
                host=request.host, vendor=adapter.key, credentials=data, name=name
            )
        except ConnectionNotSaved as error:
            form.add_error(None, error.message)
        else:
            count = connection.locks.count()
            messages.success(
                request,
                f"{connection} is connected: {count} lock{'s' if count != 1 else ''} found. "
                "Match them to your properties.",
            )
            return redirect("connection_detail", pk=connection.pk)
    # An adapter is a class: the template would call it, so its key and label go in as text.
    context = {"form": form, "vendor_key": adapter.key, "vendor_label": adapter.label}
    return render(request, "integrations/connection_form.html", context)


def webhook_context(connection, secret_form=None) -> dict:
    """What the connection page says about webhooks (polling stays the safety net)."""
    setup = getattr(ADAPTERS.get(connection.vendor), "webhook_setup", "")
    url = connection_webhook_url(connection)
    manual = setup == "api" and not connection.webhook_id
    return {
        "webhook_setup": setup,
        "webhook_url": url,
        "webhook_manual": manual,
        "webhook_secret_saved": bool((connection.credentials or {}).get("webhook_secret")),
        "secret_form": (secret_form or WebhookSecretForm(vendor=connection.vendor))
        if manual
        else None,
    }


@host_required
def connection_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The account's page; a POST saves the webhook secret the host pasted."""
    connection = get_or_404(connection_get, host=request.host, pk=pk)
    secret_form = None
    if request.method == "POST":
        secret_form = WebhookSecretForm(request.POST, vendor=connection.vendor)
        if secret_form.is_valid():
            connection_webhook_secret_set(
                connection=connection, secret=secret_form.cleaned_data["webhook_secret"]
            )
            messages.success(request, "The webhook secret is saved: events are now verified.")
            return redirect("connection_detail", pk=connection.pk)
    locks = list(lock_list(host=request.host).filter(connection=connection, is_present=True))
    adapter = ADAPTERS.get(connection.vendor)
    context = {
        "connection": connection,
        "locks": locks,
        "form": credentials_form_class(adapter, with_name=False)() if adapter else None,
        **webhook_context(connection, secret_form),
    }
    status = 400 if secret_form is not None else 200
    return render(request, "integrations/connection_detail.html", context, status=status)


@host_required
@require_POST
def connection_reconnect_view(request: HttpRequest, pk: int) -> HttpResponse:
    """New credentials for an account; its locks are resynced (SPEC L3)."""
    connection = get_or_404(connection_get, host=request.host, pk=pk)
    adapter = ADAPTERS[connection.vendor]
    form = credentials_form_class(adapter, with_name=False)(request.POST)
    if form.is_valid():
        try:
            connection_reconnect(connection=connection, credentials=form.cleaned_data)
        except ConnectionNotSaved as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, f"{connection} is connected again; its locks are resynced.")
            return redirect("connection_detail", pk=connection.pk)
    locks = list(lock_list(host=request.host).filter(connection=connection, is_present=True))
    context = {"connection": connection, "locks": locks, "form": form}
    context.update(webhook_context(connection))
    return render(request, "integrations/connection_detail.html", context, status=400)


@host_required
def connection_disconnect_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm, then forget the credentials; the locks stay, their codes wait for a reconnect."""
    connection = get_or_404(connection_get, host=request.host, pk=pk)
    if request.method == "POST":
        connection_disconnect(connection=connection)
        messages.success(request, f"{connection} is disconnected.")
        return redirect("connection_detail", pk=connection.pk)
    locks = list(lock_list(host=request.host).filter(connection=connection, is_present=True))
    return render(
        request,
        "integrations/connection_disconnect.html",
        {"connection": connection, "locks": locks},
    )


@host_required
@require_POST
def connection_refresh(request: HttpRequest, pk: int) -> HttpResponse:
    """Read the account's locks again (a lock added in the vendor's app shows up)."""
    connection = get_or_404(connection_get, host=request.host, pk=pk)
    try:
        locks = locks_import(connection=connection)
    except VendorError as error:
        messages.error(request, f"We could not read the locks ({error.message}).")
    else:
        messages.success(request, f"{len(locks)} lock{'s' if len(locks) != 1 else ''} found.")
    return redirect("connection_detail", pk=connection.pk)
