"""Admin for support staff: codes and their history, with PINs masked (SPEC §3).

A PIN is never rendered in a list or change page. Users holding `accesscodes.view_pin` get a
"Reveal PIN" page instead: a CSRF-protected POST that shows one PIN and records who saw it as a
CodeEvent, so every reveal is logged.

Codes, their history, leases and healthcheck runs are written by the engine's services only
(a PIN or window edited in a form would never reach the lock or the guest, SPEC P5, G7), so the
admin shows them read-only; support acts on them through the engine's actions.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from accesscodes.models import (
    AccessCode,
    BackupCode,
    CodeEvent,
    HealthcheckRun,
    LockCode,
    LockLease,
    LockListing,
)
from accesscodes.services import code_event_record

MASK = "••••"
VIEW_PIN_PERMISSION = "accesscodes.view_pin"


def can_view_pins(user) -> bool:
    return user.has_perm(VIEW_PIN_PERMISSION)


class PinMaskedAdmin(admin.ModelAdmin):
    """Mask the model's `pin` everywhere and offer a logged reveal to those allowed to see it."""

    change_form_template = "admin/pin_change_form.html"

    def pin_event_fields(self, obj: models.Model) -> dict[str, Any] | None:
        """Return the CodeEvent fields (host, codes, lock) a reveal of obj is logged with."""
        raise NotImplementedError

    # -- never show or edit the PIN in clear --

    @admin.display(description="PIN")
    def pin_masked(self, obj: models.Model) -> str:
        return MASK

    def get_exclude(self, request: HttpRequest, obj: models.Model | None = None):
        exclude = list(super().get_exclude(request, obj) or [])
        # On an existing row the PIN is only ever shown masked (readonly) and changed by the
        # engine; on a new row it is typed into a password input (formfield_for_dbfield).
        return [*exclude, "pin"] if obj is not None else exclude

    def get_readonly_fields(self, request: HttpRequest, obj: models.Model | None = None):
        readonly = list(super().get_readonly_fields(request, obj))
        return [*readonly, "pin_masked"] if obj is not None else readonly

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "pin":
            kwargs["widget"] = forms.PasswordInput(render_value=False)
            return forms.CharField(
                label="PIN", widget=kwargs["widget"], max_length=12, required=True
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_list_display(self, request: HttpRequest):
        allowed = can_view_pins(request.user)

        @admin.display(description="PIN")
        def pin_column(obj: models.Model) -> str:
            if not allowed:
                return MASK
            return format_html('{} <a href="{}">Reveal</a>', MASK, self.reveal_url(obj))

        return [pin_column if item == "pin_masked" else item for item in self.list_display]

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "can_reveal_pin": can_view_pins(request.user)}
        if object_id is not None:
            extra_context["reveal_pin_url"] = reverse(
                f"admin:{self.opts.app_label}_{self.opts.model_name}_reveal_pin",
                args=[object_id],
            )
        return super().changeform_view(request, object_id, form_url, extra_context)

    # -- the reveal --

    def reveal_url(self, obj: models.Model) -> str:
        return reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_reveal_pin", args=[obj.pk]
        )

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}_reveal_pin"
        return [
            path(
                "<path:object_id>/reveal-pin/",
                self.admin_site.admin_view(self.reveal_pin_view),
                name=name,
            ),
            *super().get_urls(),
        ]

    def reveal_pin_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """GET asks for confirmation; POST shows the PIN and logs the reveal as a CodeEvent."""
        if not can_view_pins(request.user) or not self.has_view_permission(request):
            raise PermissionDenied
        obj = get_object_or_404(self.get_queryset(request), pk=object_id)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "object": obj,
            "title": f"Reveal PIN of {obj}",
            "change_url": reverse(
                f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[obj.pk]
            ),
            "pin": None,
        }
        if request.method == "POST":
            event_fields = self.pin_event_fields(obj)
            if event_fields is None:
                messages.error(
                    request,
                    "This code belongs to no host's lock, so its reveal could not be logged; "
                    "the PIN stays hidden.",
                )
            else:
                code_event_record(
                    **event_fields,
                    kind="pin_revealed",
                    actor=CodeEvent.Actor.SUPPORT,
                    user=request.user,
                    reason=f"PIN of {self.opts.verbose_name} #{obj.pk} revealed in the admin",
                )
                context["pin"] = obj.pin
        return TemplateResponse(request, "admin/reveal_pin.html", context)


class EngineRecordAdmin(admin.ModelAdmin):
    """Read-only: rows the engine's services write and nobody edits by hand."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


def _local(value, property) -> str:
    """An instant in the property's zone, zone named (SPEC V5): never bare UTC in the admin."""
    from accesscodes.presentation import local_time

    return local_time(value, property) if value else "—"


@admin.register(AccessCode)
class AccessCodeAdmin(EngineRecordAdmin, PinMaskedAdmin):
    list_display = ["reservation", "pin_masked", "pin_source", "name", "starts", "ends"]
    list_select_related = ["reservation__property"]
    list_filter = ["pin_source", ("cancelled_at", admin.EmptyFieldListFilter)]
    search_fields = [
        "name",
        "reservation__guest_name",
        "reservation__reservation_code",
        "reservation__external_id",
        "reservation__property__name",
        "reservation__host__name",
    ]
    autocomplete_fields = ["reservation"]
    date_hierarchy = "starts_at"

    def pin_event_fields(self, obj: AccessCode) -> dict[str, Any]:
        return {"host_id": obj.reservation.host_id, "access_code": obj}

    @admin.display(description="Window starts", ordering="starts_at")
    def starts(self, obj: AccessCode) -> str:
        return _local(obj.starts_at, obj.reservation.property)

    @admin.display(description="Window ends", ordering="ends_at")
    def ends(self, obj: AccessCode) -> str:
        return _local(obj.ends_at, obj.reservation.property)


@admin.register(LockCode)
class LockCodeAdmin(EngineRecordAdmin, PinMaskedAdmin):
    list_display = [
        "__str__",
        "lock",
        "pin_masked",
        "state",
        "confirmation",
        "attempts",
        "last_error_sentence",
        "next_attempt",
        "deleted_after",
    ]
    list_select_related = ["access_code__reservation__property", "lock"]
    list_filter = [
        "state",
        "last_error",
        "confirmation",
        "in_sync",
        "created_by_us",
        "lock__connection__vendor",
    ]
    search_fields = [
        "name_on_lock",
        "vendor_code_id",
        "lock__name",
        "access_code__reservation__guest_name",
        "access_code__reservation__reservation_code",
        "access_code__reservation__external_id",
        "access_code__reservation__property__name",
        "access_code__reservation__host__name",
    ]
    autocomplete_fields = ["access_code", "lock"]
    actions = ["retry_now"]

    def pin_event_fields(self, obj: LockCode) -> dict[str, Any]:
        return {"host_id": obj.access_code.reservation.host_id, "lock_code": obj}

    readonly_fields = ["failure_history"]

    @admin.display(description="Failure history")
    def failure_history(self, obj: LockCode) -> str:
        """Every failed attempt, newest first: a retried code's last error may be empty."""
        from django.utils.html import format_html_join

        from accesscodes.presentation import reason_sentence

        property = obj.access_code.reservation.property
        failures = obj.events.filter(kind__in=["failed", "rate_limited", "gave_up"])[:50]
        rows = [
            (_local(event.created_at, property), reason_sentence(event.reason))
            for event in failures
        ]
        if not rows:
            return "No failed attempts."
        return format_html_join("", "<p>{}: {}</p>", rows)

    @admin.display(description="Last error", ordering="last_error")
    def last_error_sentence(self, obj: LockCode) -> str:
        from accesscodes.presentation import reason_sentence

        return reason_sentence(obj.last_error) or "—"

    @admin.display(description="Next attempt", ordering="next_attempt_at")
    def next_attempt(self, obj: LockCode) -> str:
        return _local(obj.next_attempt_at, obj.access_code.reservation.property)

    @admin.display(description="Delete after", ordering="delete_after")
    def deleted_after(self, obj: LockCode) -> str:
        return _local(obj.delete_after, obj.access_code.reservation.property)

    @admin.action(description="Retry the selected codes now")
    def retry_now(self, request: HttpRequest, queryset) -> None:
        from accesscodes.services import EngineError, lock_code_retry_now

        done, refused = 0, []
        for lock_code in queryset.select_related("lock__connection", "access_code__reservation"):
            try:
                lock_code_retry_now(lock_code=lock_code, user=request.user)
                done += 1
            except EngineError as error:
                refused.append(f"{lock_code}: {error}")
        if done:
            self.message_user(
                request, f"Queued {done} code(s) to be tried again now; see their history."
            )
        for message in refused:
            self.message_user(request, message, level=messages.WARNING)


@admin.register(BackupCode)
class BackupCodeAdmin(EngineRecordAdmin, PinMaskedAdmin):
    list_display = [
        "name",
        "lock",
        "pin_masked",
        "state",
        "reservation",
        "retire_after",
        "last_error",
        "next_attempt_at",
    ]
    list_select_related = ["lock", "reservation"]
    list_filter = ["state", "last_error", "lock__connection__vendor"]
    search_fields = [
        "name",
        "vendor_code_id",
        "lock__name",
        "reservation__guest_name",
        "reservation__reservation_code",
        "lock__connection__host__name",
    ]
    autocomplete_fields = ["lock", "reservation"]

    def pin_event_fields(self, obj: BackupCode) -> dict[str, Any]:
        return {"host_id": obj.lock.connection.host_id, "backup_code": obj}


@admin.register(CodeEvent)
class CodeEventAdmin(EngineRecordAdmin):
    """History is append-only: support can read it, nobody can add, change or delete it."""

    list_display = ["created_at", "kind", "actor", "user", "host", "lock", "reason"]
    list_select_related = ["user", "host", "lock"]
    list_filter = ["kind", "actor"]
    search_fields = [
        "kind",
        "reason",
        "host__name",
        "lock__name",
        "access_code__reservation__guest_name",
        "access_code__reservation__reservation_code",
    ]
    raw_id_fields = ["access_code", "lock_code", "backup_code", "lock", "user", "host"]
    date_hierarchy = "created_at"


@admin.register(LockLease)
class LockLeaseAdmin(admin.ModelAdmin):
    """Which worker is talking to a lock (SPEC S5). Leases expire on their own; support may
    delete a stuck one, but never hands one out."""

    list_display = ["lock", "holder", "expires_at"]
    list_select_related = ["lock"]
    search_fields = ["lock__name", "holder"]
    readonly_fields = ["lock", "holder", "expires_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: LockLease | None = None) -> bool:
        return False


@admin.register(LockListing)
class LockListingAdmin(EngineRecordAdmin):
    """What each lock listed at its last read (SPEC P7, N2, H5). The entries hold PINs, so
    the admin shows only how many there were and when."""

    list_display = ["lock", "read_at", "code_count"]
    list_select_related = ["lock"]
    search_fields = ["lock__name"]
    fields = ["lock", "read_at", "code_count"]
    readonly_fields = fields

    @admin.display(description="Codes listed")
    def code_count(self, obj: LockListing) -> int:
        import json

        return len(json.loads(obj.entries or "[]"))


@admin.register(HealthcheckRun)
class HealthcheckRunAdmin(EngineRecordAdmin):
    """The daily healthcheck's record (SPEC H1), written by the job."""

    list_display = [
        "run_date",
        "finished_at",
        "codes_checked",
        "codes_failing",
        "backup_codes_assigned",
    ]
    date_hierarchy = "run_date"
