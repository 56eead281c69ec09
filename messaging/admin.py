"""Admin for support staff: the alerts hosts were sent."""

from django.contrib import admin

from messaging.models import HostAlert


@admin.register(HostAlert)
class HostAlertAdmin(admin.ModelAdmin):
    list_display = ["subject", "host", "kind", "created_at", "emailed_at", "resolved_at"]
    list_select_related = ["host"]
    list_filter = ["kind", ("resolved_at", admin.EmptyFieldListFilter)]
    search_fields = ["subject", "host__name"]
    autocomplete_fields = ["host"]
    date_hierarchy = "created_at"
