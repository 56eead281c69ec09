"""Admin for support staff: lock connections, locks, matches and the simulator's devices."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html_join

from accesscodes.admin import MASK, PinMaskedAdmin
from accesscodes.models import LockCode
from integrations.models import (
    Lock,
    LockConnection,
    Match,
    SimulatedAccount,
    SimulatedCode,
    SimulatedDevice,
)
from integrations.services import match_create, match_delete


@admin.register(LockConnection)
class LockConnectionAdmin(admin.ModelAdmin):
    list_display = ["__str__", "host", "vendor", "state", "last_error", "last_synced_at"]
    list_select_related = ["host"]
    list_filter = ["vendor", "state"]
    search_fields = ["name", "host__name", "last_error"]
    autocomplete_fields = ["host"]
    # Vendor credentials are never shown, not even to staff: only which keys are stored.
    exclude = ["credentials"]
    readonly_fields = ["stored_credentials"]

    @admin.display(description="Credentials")
    def stored_credentials(self, obj: LockConnection) -> str:
        if not obj.credentials:
            return "none stored"
        return format_html_join(", ", "{}: {}", ((key, MASK) for key in sorted(obj.credentials)))


@admin.register(Lock)
class LockAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "connection",
        "host",
        "vendor",
        "model",
        "online",
        "battery_level",
        "codes_used",
        "is_present",
    ]
    list_select_related = ["connection__host"]
    list_filter = ["online", "connection__vendor", "connection__state", "is_present"]
    search_fields = ["name", "remote_id", "model", "connection__name", "connection__host__name"]
    autocomplete_fields = ["connection"]
    actions = ["resync"]
    readonly_fields = ["recent_history"]

    @admin.action(description="Resync the selected locks")
    def resync(self, request: HttpRequest, queryset) -> None:
        from accesscodes.services import lock_resync

        for lock in queryset.select_related("connection__host"):
            lock_resync(lock=lock, user=request.user)
        self.message_user(
            request, f"Resync queued for {queryset.count()} lock(s); see each lock's history."
        )

    @admin.display(description="Recent history")
    def recent_history(self, obj: Lock) -> str:
        events = obj.events.order_by("-created_at", "-id")[:20]
        return (
            format_html_join(
                "\n",
                "<div>{} · {} · {}</div>",
                ((f"{e.created_at:%Y-%m-%d %H:%M}", e.kind, e.reason) for e in events),
            )
            or "—"
        )

    @admin.display(ordering="connection__host__name")
    def host(self, obj: Lock) -> str:
        return str(obj.connection.host)

    @admin.display(ordering="connection__vendor")
    def vendor(self, obj: Lock) -> str:
        return obj.connection.get_vendor_display()

    @admin.display(description="Codes / capacity")
    def codes_used(self, obj: Lock) -> str:
        return f"{obj.code_count} / {obj.capacity}"


class MatchForm(forms.ModelForm):
    class Meta:
        model = Match
        fields = ["lock", "property"]

    def clean(self):
        cleaned = super().clean()
        lock, property = cleaned.get("lock"), cleaned.get("property")
        if lock and property and lock.connection.host_id != property.host_id:
            raise forms.ValidationError("The lock and the property belong to different hosts.")
        return cleaned


@admin.register(Match)
class MatchAdmin(admin.ModelAdmin):
    """Matching and unmatching go through the services: codes follow at once (SPEC M3, M4)."""

    form = MatchForm

    list_display = ["__str__", "lock", "property", "created_at"]
    list_select_related = ["lock", "property"]
    list_filter = ["lock__connection__vendor"]
    search_fields = ["lock__name", "property__name", "property__host__name"]
    autocomplete_fields = ["lock", "property"]

    def get_readonly_fields(self, request: HttpRequest, obj: Match | None = None):
        # A match is changed by deleting it and matching again, so each side's codes follow.
        return ["lock", "property"] if obj else []

    def save_model(self, request, obj: Match, form, change: bool) -> None:
        if not change:
            obj.pk = match_create(lock=obj.lock, property=obj.property).pk
            obj.refresh_from_db()

    def delete_model(self, request: HttpRequest, obj: Match) -> None:
        match_delete(match=obj)

    def delete_queryset(self, request: HttpRequest, queryset) -> None:
        for match in queryset.select_related("lock__connection", "property"):
            match_delete(match=match)


@admin.register(SimulatedAccount)
class SimulatedAccountAdmin(admin.ModelAdmin):
    list_display = ["api_key", "revoked", "created_at"]
    list_filter = ["revoked"]
    search_fields = ["api_key"]


@admin.register(SimulatedDevice)
class SimulatedDeviceAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "device_id",
        "account",
        "online",
        "battery_level",
        "capacity",
        "confirm_delay_seconds",
        "fault_count",
        "fault_mode",
        "fault_reason",
    ]
    list_select_related = ["account"]
    list_filter = ["online", "time_bound_codes", "fault_mode", "fault_reason"]
    search_fields = ["name", "device_id", "account__api_key"]
    autocomplete_fields = ["account"]


@admin.register(SimulatedCode)
class SimulatedCodeAdmin(PinMaskedAdmin):
    list_display = [
        "name",
        "device",
        "pin_masked",
        "created_by_hand",
        "never_applies",
        "applies_at",
    ]
    list_select_related = ["device"]
    list_filter = ["created_by_hand", "never_applies"]
    search_fields = ["name", "code_id", "device__name", "device__device_id"]
    autocomplete_fields = ["device"]

    def pin_event_fields(self, obj: SimulatedCode) -> dict[str, Any] | None:
        # The simulator is the vendor's side; the reveal is logged on the host whose lock is
        # this device (and on our lock code, when the code is one of ours).
        lock = (
            Lock.objects.filter(remote_id=obj.device.device_id, connection__vendor="simulator")
            .select_related("connection")
            .order_by("id")
            .first()
        )
        if lock is None:
            return None
        lock_code = LockCode.objects.filter(lock=lock, vendor_code_id=obj.code_id).first()
        return {"host_id": lock.connection.host_id, "lock": lock, "lock_code": lock_code}
