"""Admin for support staff: hosts, their users, properties and smart lock settings."""

from django.contrib import admin

from properties.models import Host, HostMember, Property, SmartLockSettings


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
