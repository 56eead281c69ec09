"""Admin for support staff: hosts, their users, properties, smart lock settings, API keys."""

from django.contrib import admin

from properties.models import ApiToken, Host, HostMember, Property, SmartLockSettings
from properties.services import api_token_create, api_token_revoke


@admin.register(Host)
class HostAdmin(admin.ModelAdmin):
    list_display = ["name", "alert_email", "created_at"]
    search_fields = ["name", "alert_email", "members__user__username"]


@admin.register(HostMember)
class HostMemberAdmin(admin.ModelAdmin):
    list_display = ["user", "host", "created_at"]
    list_select_related = ["user", "host"]
    search_fields = ["user__username", "user__email", "host__name"]
    autocomplete_fields = ["user", "host"]


@admin.register(Property)
class PropertyAdmin(admin.ModelAdmin):
    list_display = ["name", "host", "time_zone", "checkin_time", "checkout_time"]
    list_select_related = ["host"]
    list_filter = ["time_zone"]
    search_fields = ["name", "address", "host__name"]
    autocomplete_fields = ["host"]


@admin.register(SmartLockSettings)
class SmartLockSettingsAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "host",
        "property",
        "code_source",
        "code_length",
        "backup_codes_enabled",
    ]
    list_select_related = ["host", "property"]
    list_filter = ["code_source", "code_length", "backup_codes_enabled"]
    search_fields = ["host__name", "property__name"]
    autocomplete_fields = ["host", "property"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """API keys: made here or with `create_api_token`; the key is shown once, then only its
    prefix. Revoking keeps the row, so the key's history stays visible."""

    list_display = ["name", "prefix", "host", "user", "created_at", "last_used_at", "revoked_at"]
    list_select_related = ["host", "user"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix", "host__name", "user__username"]
    actions = ["revoke"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["user", "name"]
        return ["name", "prefix", "host", "user", "created_at", "last_used_at", "revoked_at"]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.get_fields(request, obj)

    def get_autocomplete_fields(self, request):
        return ["user"]

    def save_model(self, request, obj: ApiToken, form, change: bool) -> None:
        if change:
            return
        token, key = api_token_create(user=obj.user, name=obj.name)
        obj.pk = token.pk
        obj.refresh_from_db()
        self.message_user(
            request, f"API key for {token.host} (copy it now, it is not shown again): {key}"
        )

    @admin.action(description="Revoke the selected API keys")
    def revoke(self, request, queryset) -> None:
        for token in queryset:
            api_token_revoke(token=token)
        self.message_user(request, f"Revoked {queryset.count()} key(s).")
