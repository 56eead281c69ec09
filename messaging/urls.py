"""Twilio webhooks (SPEC G9, G10)."""

from django.urls import path

from messaging import webhooks

urlpatterns = [
    path("status/", webhooks.twilio_status, name="twilio_status"),
    path("inbound/", webhooks.twilio_inbound, name="twilio_inbound"),
]
