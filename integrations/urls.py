"""Vendor webhook URLs, included by locksync/urls.py under webhooks/."""

from django.urls import path

from integrations import webhooks

app_name = "webhooks"

urlpatterns = [
    path("nuki/<int:connection_id>/", webhooks.nuki_webhook, name="nuki"),
    path("seam/<int:connection_id>/", webhooks.seam_webhook, name="seam"),
    path("ttlock/", webhooks.ttlock_webhook, name="ttlock"),
]
